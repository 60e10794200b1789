"""Quarter labels in the time column (``Q1 1959``, ``1959 Q1``, ``1959Q1``, ``1959-Q1``), probe s37.

``Q1 1959`` was refused as "not dates". Each form now reads as the quarter's first day, the choice is
recorded in the model's decisions, and future rows written with quarter labels (in any of the forms)
are read the same way. Real data: statsmodels' macrodata, US real GDP per quarter, 1959Q1–2009Q3,
trained and forecast through the real CLI.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from automlops.forecasting.times import parse_times
from tests.test_cli_tasks import _main_in_process


def _macro() -> pd.DataFrame:
    import statsmodels.api as sm

    return sm.datasets.macrodata.load_pandas().data


def _labels(form: str) -> pd.Series:
    d = _macro()
    year, quarter = d["year"].astype(int).astype(str), "Q" + d["quarter"].astype(int).astype(str)
    return {"Q1 1959": quarter + " " + year, "1959 Q1": year + " " + quarter, "1959Q1": year + quarter,
            "1959-Q1": year + "-" + quarter.str.lower()}[form]


@pytest.mark.parametrize("form", ["Q1 1959", "1959 Q1", "1959Q1", "1959-Q1"])
def test_quarter_labels_read_as_each_quarters_first_day(form: str) -> None:
    d = _macro()
    expected = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int),
                                          freq="Q").to_timestamp()
    times, note, order = parse_times(_labels(form), "quarter")
    assert list(times) == list(expected) and order is None
    assert note is not None and "quarter labels" in note and "is 1959-01-01" in note


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model 'gdp', trained from a CSV whose time column reads Q1 1959, Q2 1959, ..."""
    root = tmp_path_factory.mktemp("quarters")
    pd.DataFrame({"quarter": _labels("Q1 1959"), "realgdp": _macro()["realgdp"]}).to_csv(root / "gdp.csv",
                                                                                          index=False)
    code, _, err = _main_in_process(root, ["train", str(root / "gdp.csv"), "--task", "timeseries", "--time-column",
                                           "quarter", "--target", "realgdp", "--horizon", "4", "--models", "ridge",
                                           "--preset", "fast", "--n-trials", "2"])
    assert code == 0, err
    return root


def test_a_model_trained_on_quarter_labels_forecasts_quarters(home: Path) -> None:
    meta = json.loads(next((home / "models" / "gdp").glob("v*/meta.json")).read_text())
    assert meta["freq"].startswith("QS") and meta["last_timestamps"] == {"realgdp": "2009-07-01T00:00:00"}
    assert any("quarter labels" in str(d) and "'Q1 1959' is 1959-01-01" in str(d) for d in meta["decisions"])
    (home / "future.csv").write_text("quarter\nQ4 2009\n2010 Q1\n2010-q2\n")
    code, out, err = _main_in_process(home, ["predict", "--model", "gdp", str(home / "future.csv")])
    assert code == 0, err
    forecast = pd.read_csv(io.StringIO(out))
    assert list(forecast["ds"]) == ["2009-10-01", "2010-01-01", "2010-04-01"]
    assert forecast["yhat"].between(12_600, 13_600).all()  # GDP ended 2009Q3 at 12,990
