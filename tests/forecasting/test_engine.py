"""The forecasting engine end to end through the SearchDriver, on AirPassengers and on macro series."""

from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pandas as pd
import pytest

from automlops.core.fit import FitResult
from automlops.errors import ConfigError, DataError
from automlops.forecasting import figures, forecast_table, predict_table
from tests.forecasting.conftest import fit_engine

COLUMNS = ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def _ordered(frame: pd.DataFrame) -> bool:
    cols = ["yhat_lo_95", "yhat_lo_80", "yhat", "yhat_hi_80", "yhat_hi_95"]
    values = frame[cols].to_numpy()
    return bool(np.all(np.diff(values, axis=1) >= -1e-9)) and bool(np.isfinite(values).all())


def test_fit_result_on_air_passengers(air_fit: FitResult) -> None:
    r = air_fit
    assert r.engine == "forecasting" and r.problem.task.value == "timeseries" and r.problem.metric == "mase"
    assert r.problem.horizon == 12 and r.problem.time_column == "month"
    # the test window is the last h rows of the series, never seen by the search
    assert r.test_rows.tolist() == list(range(132, 144))
    assert set(r.test_metrics) == {"mase", "rmse", "mae", "smape", "coverage_80", "coverage_95"}
    assert r.test_score == r.test_metrics["mase"] and 0 < r.test_score < 1.2  # beats "same month last year"
    assert r.validation.kind == "backtest" and r.validation.n_splits == 3
    assert r.artifact.kind == "forecasting" and r.artifact.tested_obj is not None
    assert r.input_columns == ("month",) and r.feature_schema["freq"] == "ME"
    assert any(d.topic == "frequency" and "ME" in d.message for d in r.decisions)


def test_meta_is_json_and_complete(air_fit: FitResult) -> None:
    meta = json.loads(json.dumps(air_fit.artifact.meta))
    for key in ("time_column", "target", "series_id", "horizon", "freq", "freq_reason", "exogenous", "n_series",
                "series_ids", "last_timestamps", "backtest", "history", "forecast", "input_columns"):
        assert key in meta, key
    assert meta["n_series"] == 1 and meta["series_ids"] == ["passengers"] and meta["exogenous"] == []
    assert meta["last_timestamps"] == {"passengers": "1960-12-31T00:00:00"}
    rows = {row["model"] for row in meta["backtest"]}
    assert {"naive", "seasonal_naive", "auto_ets", "auto_theta", "ridge"} <= rows
    for row in meta["backtest"]:
        assert row["cutoffs"] == 3 and row["mase"] > 0 and 0 <= row["coverage_80"] <= 1
    assert len(meta["forecast"]) == 12 and meta["forecast"][0]["ds"].startswith("1961-01-31")
    assert 48 <= len(meta["history"]) <= 200
    assert set(air_fit.artifact.files) == {"forecast.html", "backtest.html", "backtest.csv"}
    assert pd.read_csv(io.StringIO(air_fit.artifact.files["backtest.csv"]))["mase"].notna().all()
    figs = figures(meta)
    assert set(figs) >= {"forecast", "backtest"} and len(figs["forecast"].data) >= 4


def test_forecast_intervals_and_pickle_round_trip(air_fit: FitResult) -> None:
    model = air_fit.artifact.obj
    fc = model.forecast()
    assert list(fc.columns) == COLUMNS and len(fc) == 12 and _ordered(fc)
    assert fc["ds"].iloc[0] == pd.Timestamp("1961-01-31") and fc["ds"].iloc[-1] == pd.Timestamp("1961-12-31")
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    again = joblib.load(buffer).forecast()
    pd.testing.assert_frame_equal(fc, again)
    assert _ordered(model.forecast(30)) and len(model.forecast(30)) == 30


def test_predict_and_forecast_tables(air_fit: FitResult) -> None:
    model, meta = air_fit.artifact.obj, dict(air_fit.artifact.meta)
    asked = pd.DataFrame({"month": ["1961-03-31", "1961-01-31", "1962-06-30"]})
    out = predict_table(model, meta, asked)
    assert list(out.columns) == COLUMNS and len(out) == 3
    assert out["ds"].dt.strftime("%Y-%m-%d").tolist() == ["1961-03-31", "1961-01-31", "1962-06-30"]
    full = model.forecast(18).set_index("ds")
    assert out["yhat"].tolist() == pytest.approx(full.loc[pd.to_datetime(asked["month"]), "yhat"].tolist())
    assert len(forecast_table(model, meta, 5)) == 5 and len(forecast_table(model, meta)) == 12
    with pytest.raises(DataError, match="not after the last training timestamp"):
        predict_table(model, meta, pd.DataFrame({"month": ["1960-12-31"]}))
    with pytest.raises(DataError, match="not dates"):
        predict_table(model, meta, pd.DataFrame({"month": ["soon"]}))
    with pytest.raises(DataError, match="missing column"):
        predict_table(model, meta, pd.DataFrame({"when": ["1961-01-31"]}))
    with pytest.raises(DataError, match="not on the model's 'ME' steps"):
        predict_table(model, meta, pd.DataFrame({"month": ["1961-01-15"]}))
    for bad in (0, -3, 121):
        with pytest.raises(ConfigError, match="horizon"):
            forecast_table(model, meta, bad)


def test_many_series_in_one_long_table(macro_long: pd.DataFrame) -> None:
    r = fit_engine(macro_long, n_trials=5, target="value", time_column="quarter", series_id="series", horizon=4)
    meta = r.artifact.meta
    assert meta["n_series"] == 3 and sorted(meta["series_ids"]) == ["cpi", "realgdp", "unemp"]
    assert meta["freq"].startswith("QS") and "regular step" in meta["freq_reason"]
    assert r.n_test_rows == 12 and r.input_columns == ("quarter", "series")
    # the test rows are the last 4 quarters of each series, as positions in the long input table
    tail = macro_long.groupby("series").tail(4).index.sort_values().tolist()
    assert r.test_rows.tolist() == tail
    fc = r.artifact.obj.forecast()
    assert len(fc) == 12 and set(fc["unique_id"]) == {"cpi", "realgdp", "unemp"} and _ordered(fc)
    asked = pd.DataFrame({"quarter": ["2009-10-01", "2010-01-01"], "series": ["unemp", "cpi"]})
    out = predict_table(r.artifact.obj, dict(meta), asked)
    assert out["unique_id"].tolist() == ["unemp", "cpi"] and len(out) == 2
    with pytest.raises(DataError, match="unknown series id"):
        predict_table(r.artifact.obj, dict(meta), pd.DataFrame({"quarter": ["2009-10-01"], "series": ["gold"]}))


def test_exogenous_columns_feed_the_lag_models(macro_long: pd.DataFrame) -> None:
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    frame = pd.DataFrame({"quarter": pd.date_range("1959-01-01", periods=len(d), freq="QS"),
                          "realcons": d["realcons"], "realgdp": d["realgdp"]})
    r = fit_engine(frame, n_trials=2, target="realcons", time_column="quarter", horizon=4, models=["ridge"])
    meta, model = dict(r.artifact.meta), r.artifact.obj
    assert meta["exogenous"] == ["realgdp"] and meta["uses_exogenous"] and meta["forecast"] == []
    assert r.input_columns == ("quarter", "realgdp")
    with pytest.raises(DataError, match="realgdp"):
        predict_table(model, meta, pd.DataFrame({"quarter": ["2009-10-01"]}))
    with pytest.raises(DataError, match="realgdp"):
        forecast_table(model, meta, 2)
    future = pd.DataFrame({"quarter": ["2009-10-01", "2010-01-01"], "realgdp": [13000.0, 13100.0]})
    out = predict_table(model, meta, future)
    assert len(out) == 2 and _ordered(out)
    assert len(forecast_table(model, meta, 2, future)) == 2


def test_tracked_run_logs_the_plots(air: pd.DataFrame, settings, empty_db) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from automlops.forecasting import ForecastingEngine
    from automlops.mlops.tracking import Tracker
    from automlops.search.driver import DriverConfig, SearchDriver

    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    tracker = Tracker(settings=settings)
    engine = ForecastingEngine("passengers", "month", horizon=12, preset="fast", models=["naive", "auto_theta"])
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=2), tracker=tracker).fit(air)
    assert result.run_id is not None and not result.tracking_errors
    run = tracker.client.get_run(result.run_id)
    assert run.data.tags["automlops.engine"] == "forecasting" and "test_mase" in run.data.metrics
    logged = {a.path for a in tracker.client.list_artifacts(result.run_id)}
    assert {"forecast.html", "backtest.html", "backtest.csv"} <= logged
