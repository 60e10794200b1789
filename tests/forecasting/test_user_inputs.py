"""Future rows and odd inputs, read as training read them (probe s36).

Inputs named like the long format's own columns (``ds``, ``y``, ``unique_id``) stay inputs under
their names; all-empty columns are left out; day-first dates, UTC offsets, numeric series ids written
``1.0`` and forecasts for some series only are answered for exactly the rows asked; whole-number
times in yyyymm / yyyymmdd read as dates. Real data: statsmodels' macrodata, and two small daily
series whose answer is known (a level per store, plus 3 on promotion days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.errors import DataError
from automlops.forecasting import predict_table
from automlops.forecasting.data import parse_times, prepare_series
from automlops.forecasting.predict import to_long
from tests.forecasting.conftest import fit_engine

Notes = list[tuple[str, str]]


def _macro() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    quarter = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q")
    return pd.DataFrame({"quarter": quarter.to_timestamp(), "realgdp": d["realgdp"], "ds": d["unemp"],
                         "unique_id": 7.0, "y": d["realcons"]})


def stores(days: int = 84, start: str = "2013-01-01", written: str = "%d/%m/%Y") -> pd.DataFrame:
    """Two daily series (stores 1 and 2), dates written day-first, a promotion flag known in advance."""
    rng = np.random.default_rng(0)
    parts = []
    for store in (1, 2):
        t = np.arange(days)
        promo = rng.integers(0, 2, days)
        sales = 20 + 5 * store + 3 * promo + 2 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.1, days)
        dates = pd.date_range(start, periods=days, freq="D").strftime(written)
        parts.append(pd.DataFrame({"store": store, "date": dates, "sales": sales, "promo": promo}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def store_fit():  # type: ignore[no-untyped-def]
    r = fit_engine(stores(), n_trials=2, target="sales", time_column="date", series_id="store", horizon=7,
                   models=["ridge"])
    return r.artifact.obj, dict(r.artifact.meta)


@pytest.fixture(scope="module")
def iso_fit():  # type: ignore[no-untyped-def]
    """The same stores with ISO dates (2013-01-31)."""
    r = fit_engine(stores(written="%Y-%m-%d"), n_trials=2, target="sales", time_column="date", series_id="store",
                   horizon=7, models=["ridge"])
    return r.artifact.obj, dict(r.artifact.meta)


def test_inputs_named_ds_y_or_unique_id_stay_inputs_under_their_names() -> None:
    frame = _macro()
    notes: Notes = []
    data = prepare_series(frame, "realgdp", "quarter", None, None, lambda t, m: notes.append((t, m)))
    assert list(data.long["ds"]) == list(frame["quarter"]) and data.freq.startswith("QS")
    assert data.inputs == ("ds", "unique_id", "y") and set(data.long["unique_id"]) == {"realgdp"}
    assert np.allclose(data.long[data.exogenous[0]], frame["ds"])
    assert any("exog_ds" in m for _, m in notes)
    r = fit_engine(frame, n_trials=2, target="realgdp", time_column="quarter", horizon=4, models=["ridge"])
    meta, model = dict(r.artifact.meta), r.artifact.obj
    assert meta["exogenous"] == ["ds", "unique_id", "y"] and r.input_columns == ("quarter", "ds", "unique_id", "y")
    future = pd.DataFrame({"quarter": ["2009-10-01", "2010-01-01"], "ds": [9.5, 9.4], "unique_id": [7.0, 7.0],
                           "y": [9400.0, 9450.0]})
    out = predict_table(model, meta, future)
    assert len(out) == 2 and out["yhat"].between(12000, 14500).all()
    with pytest.raises(DataError, match="missing column.*: ds"):
        predict_table(model, meta, future.drop(columns="ds"))


def test_an_all_empty_column_is_left_out_with_a_note() -> None:
    frame = stores().assign(empty=np.nan)
    notes: Notes = []
    data = prepare_series(frame, "sales", "date", "store", None, lambda t, m: notes.append((t, m)))
    assert data.exogenous == ("promo",)
    assert any("'empty'" in m and "empty" in m for _, m in notes)


def test_day_first_dates_are_read_day_first_in_training_and_in_future_rows(store_fit) -> None:  # type: ignore[no-untyped-def]
    times, note, dayfirst = parse_times(pd.Series(["01/01/2013", "02/01/2013", "13/01/2013"]), "date")
    assert list(times) == list(pd.to_datetime(["2013-01-01", "2013-01-02", "2013-01-13"])) and dayfirst
    assert note is not None and "day-first" in note
    model, meta = store_fit
    assert meta["time_dayfirst"] is True and model.last == {"1": pd.Timestamp("2013-03-25"),
                                                           "2": pd.Timestamp("2013-03-25")}
    future = pd.DataFrame({"store": [1, 1, 2, 2], "date": ["26/03/2013", "27/03/2013"] * 2, "promo": [1, 0, 1, 0]})
    out = predict_table(model, meta, future)
    assert list(out["ds"]) == list(pd.to_datetime(["2013-03-26", "2013-03-27"] * 2))
    # a store's level (25 or 30), plus 3 on a promotion day, plus the weekly wave (0 then 1.56)
    assert out["yhat"].sub([28, 26.56, 33, 31.56]).abs().max() < 2


def test_dates_that_read_both_ways_are_the_models_next_steps(iso_fit) -> None:  # type: ignore[no-untyped-def]
    # training's dates did not tell the order (here ISO; or already parsed by the CSV reader): 01/04/2013
    # read month-first is 4 January, before the data's end (25 March); 06/04 ... month-first is June on
    model, meta = iso_fit
    assert meta["time_dayfirst"] is None
    for days in (["01/04/2013", "02/04/2013"], ["06/04/2013", "07/04/2013", "08/04/2013"]):
        long = to_long(model, meta, pd.DataFrame({"store": 1, "date": days, "promo": 0}))
        assert list(long["ds"]) == list(pd.to_datetime(days, format="%d/%m/%Y"))
    # rows that tell the order themselves are read that way
    long = to_long(model, meta, pd.DataFrame({"store": 1, "date": ["04/13/2013"], "promo": 0}))
    assert list(long["ds"]) == [pd.Timestamp("2013-04-13")]


def test_future_times_with_utc_offsets_are_converted_to_utc(iso_fit) -> None:  # type: ignore[no-untyped-def]
    model, meta = iso_fit
    aware = pd.to_datetime(pd.Series(["2013-03-25T19:00:00-05:00"]))  # what the CSV reader makes of it
    future = pd.DataFrame({"store": [1], "date": aware, "promo": [0]})
    assert list(predict_table(model, meta, future)["ds"]) == [pd.Timestamp("2013-03-26")]


def test_some_series_only_need_only_their_own_future_values(iso_fit) -> None:  # type: ignore[no-untyped-def]
    model, meta = iso_fit
    out = predict_table(model, meta, pd.DataFrame({"store": [2], "date": ["2013-03-26"], "promo": [1]}))
    assert out["unique_id"].tolist() == ["2"] and abs(out["yhat"].iloc[0] - 33) < 2


def test_numeric_series_ids_written_as_floats_are_the_same_series(iso_fit) -> None:  # type: ignore[no-untyped-def]
    model, meta = iso_fit
    out = predict_table(model, meta, pd.DataFrame({"store": [1.0, 2.0], "date": ["2013-03-26"] * 2,
                                                   "promo": [0, 0]}))
    assert out["unique_id"].tolist() == ["1", "2"]
    with pytest.raises(DataError, match="unknown series id.*'3.0'"):
        predict_table(model, meta, pd.DataFrame({"store": [3.0], "date": ["2013-03-26"], "promo": [0]}))


def test_whole_number_months_and_dates_are_read_as_dates() -> None:
    months = pd.Series(pd.date_range("2013-01-01", periods=30, freq="MS").strftime("%Y%m").astype(int))
    times, note, _ = parse_times(months, "month")
    assert times.iloc[1] == pd.Timestamp("2013-02-01") and note is not None and "yyyymm" in note
    days = pd.Series([20130101, 20130102, 20130103])
    assert parse_times(days, "day")[0].iloc[2] == pd.Timestamp("2013-01-03")
    with pytest.raises(DataError, match=r"\(20131345, \.\.\.\)"):
        parse_times(pd.Series([20131345, 20130102]), "day")


def test_month_starts_on_a_month_end_grid_suggest_ms() -> None:
    frame = pd.DataFrame({"ds": pd.date_range("2000-01-01", periods=36, freq="MS"), "y": np.arange(36.0)})
    with pytest.raises(DataError, match="use --freq MS"):
        prepare_series(frame, "y", "ds", None, "M", lambda t, m: None)
