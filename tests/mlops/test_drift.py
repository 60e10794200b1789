"""Drift detection with the real Evidently: planted shifts are found, an unshifted sample is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automlops.errors import DataError
from automlops.mlops.drift import detect_drift


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """4,000 rows of scikit-learn's make_classification plus a categorical column."""
    from sklearn.datasets import make_classification

    x, _ = make_classification(n_samples=4000, n_features=8, n_informative=4, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["colour"] = np.random.default_rng(0).choice(["red", "green", "blue"], size=len(frame), p=[.5, .3, .2])
    return frame


def test_two_planted_shifts_are_flagged_and_nothing_else(table: pd.DataFrame, tmp_path: Path) -> None:
    reference, current = table.iloc[:2000], table.iloc[2000:].copy()
    current["x1"] += current["x1"].std()  # a one-standard-deviation shift of the mean
    current["colour"] = np.where(np.arange(len(current)) % 2 == 0, "blue", current["colour"])  # blue is now 60 %
    html = tmp_path / "reports" / "drift.html"
    report = detect_drift(reference, current, html_path=html)
    assert report.drifted_columns == ["x1", "colour"]
    methods = {c.column: c.method for c in report.columns}
    assert "Wasserstein" in methods["x0"] and "Jensen-Shannon" in methods["colour"]  # > 1000 reference rows
    assert report.share_drifted == pytest.approx(2 / 9) and report.drifted is False  # under the 0.5 share
    assert (report.n_reference, report.n_current) == (2000, 2000)
    x1 = next(c for c in report.columns if c.column == "x1")
    assert x1.statistic >= x1.threshold == 0.1
    assert html.is_file() and html.stat().st_size > 100_000 and report.report_path == str(html)
    assert [p.name for p in html.parent.iterdir()] == ["drift.html"]  # no temp file left behind


def test_real_data_without_a_shift_is_not_drifted_and_a_shift_is() -> None:
    """Wine (178 rows, K-S and chi-square): two halves agree; shifting 2 columns flags those 2."""
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True).frame.drop(columns="target").sample(frac=1.0, random_state=1)
    reference, current = data.iloc[:89], data.iloc[89:].copy()
    calm = detect_drift(reference, current)
    assert calm.drifted is False and calm.share_drifted < 0.2
    assert all("K-S" in c.method or "chi-square" in c.method or "Z-test" in c.method for c in calm.columns)
    current["alcohol"] += 1.5
    current["proline"] *= 1.8
    shifted = detect_drift(reference, current, drift_share=0.1)
    assert {"alcohol", "proline"} <= set(shifted.drifted_columns)
    assert set(shifted.drifted_columns) - {"alcohol", "proline"} == set(calm.drifted_columns) - {"alcohol", "proline"}
    assert shifted.drifted is (shifted.share_drifted >= 0.1) is True


def test_missing_columns_are_named(table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"current data has no columns 'x3', 'colour'"):
        detect_drift(table, table.drop(columns=["x3", "colour"]))
    with pytest.raises(DataError, match="no rows"):
        detect_drift(table, table.iloc[:0])
    with pytest.raises(DataError, match="drift_share"):
        detect_drift(table, table, drift_share=0)


def test_types_come_from_the_reference_and_empty_columns_are_skipped() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.normal(size=300), "code": rng.integers(0, 9, 300), "empty": np.nan,
                              "when": pd.date_range("2024-01-01", periods=300, freq="D")})
    current = pd.DataFrame({"a": rng.normal(size=200).astype(str),  # numbers sent as text by a client
                            "code": rng.integers(0, 9, 200), "empty": np.nan,
                            "when": pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d")})
    current.loc[0, "a"] = "oops"  # unreadable: becomes a missing value, not a crash
    report = detect_drift(reference, current)
    assert report.skipped == ("empty",) and "no values in the reference and current data" in report.notes[0]
    assert [c.column for c in report.columns] == ["a", "code", "when"]
    assert not next(c for c in report.columns if c.column == "a").drifted
    with pytest.raises(DataError, match="no column can be tested"):
        detect_drift(reference[["empty"]], current[["empty"]])


@pytest.fixture(scope="module")
def fair() -> pd.DataFrame:
    """statsmodels' Fair survey (6,366 rows: past Evidently's 1,000-row switch to distances), with a column of
    36 categories (both spouses' occupations)."""
    import statsmodels.api as sm

    data = sm.datasets.fair.load_pandas().data
    return data.assign(jobs=data["occupation"].astype(int).astype(str) + "/"
                       + data["occupation_husb"].astype(int).astype(str))


def test_small_unchanged_windows_are_not_called_drifted(fair: pd.DataFrame) -> None:
    """100 rows drawn from the reference itself: with Evidently's fixed 0.1 thresholds 9 of 20 such windows
    were "drifted" (4.3 of 10 columns each); each threshold is now raised to that column's noise floor at this
    window size, so a column is flagged about 5 % of the time, and no window is."""
    alarms = []
    for seed in range(10):
        report = detect_drift(fair, fair.sample(100, random_state=seed))
        assert not report.drifted
        alarms.append(len(report.drifted_columns))
        raised = [c for c in report.columns if c.threshold > 0.1]
        assert {"age", "jobs"} <= {c.column for c in raised}  # ragged at 100 rows: floors over 0.1
        assert {c.method for c in raised} <= {"Jensen-Shannon distance", "Wasserstein distance (normed)"}
        assert any(c.statistic >= 0.1 and not c.drifted for c in report.columns)  # past 0.1, within chance
        assert any("'jobs': 100 live rows over" in note and "by chance alone" in note for note in report.notes)
    assert np.mean(alarms) <= 1.0


def test_a_real_shift_in_a_small_window_is_still_flagged(fair: pd.DataFrame) -> None:
    shifted = fair.assign(age=fair["age"] + 8, yrs_married=fair["yrs_married"] + 5).sample(100, random_state=0)
    assert {"age", "yrs_married"} <= set(detect_drift(fair, shifted).drifted_columns)


def test_the_noise_floor_shrinks_with_the_window(fair: pd.DataFrame) -> None:
    from automlops.mlops.drift_noise import noise_floors

    numeric = [c for c in fair.columns if c != "jobs"]
    small = {f.column: f.threshold for f in noise_floors(fair, fair.head(100), numeric, ["jobs"])}
    large = {f.column: f.threshold for f in noise_floors(fair, fair.head(3000), numeric, ["jobs"])}
    assert small["age"] > 0.15 and "age" not in large  # under 0.1 at 3,000 rows: Evidently's threshold stands
    assert all(large.get(c, 0.1) < t for c, t in small.items())
