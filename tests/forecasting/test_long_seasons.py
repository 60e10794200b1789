"""Long seasons: weekly data (52 steps a year) and sub-hourly data with their daily cycle (144 steps of
10 minutes).

Before: a 10-minute series got a 6-step "hourly" season, and AutoETS / AutoARIMA were given seasons of
any length – AutoARIMA did not finish one fit in 5 minutes on weekly CO₂, and AutoETS with the 52-week
season forecast it worse than the seasonal naive. Now sub-hourly data repeat daily, and seasons longer
than a model affords (``STL_ABOVE``) are taken out by STL before ETS / ARIMA see the series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.forecasting.lag_features import LONG_SEASON, date_features, lag_sets
from automlops.forecasting.models import FORECAST_MODELS, Context

from .conftest import fit_engine, quiet_log


@pytest.fixture(scope="module")
def weekly_co2() -> pd.DataFrame:
    """Weekly CO2 at Mauna Loa, the last 8 years to 2001 (416 weeks, holes filled): one long frame."""
    import statsmodels.api as sm

    y = sm.datasets.co2.load_pandas().data["co2"].interpolate().tail(416)
    return pd.DataFrame({"unique_id": "co2", "ds": y.index, "y": y.to_numpy()})


def _profile(t: np.ndarray) -> np.ndarray:
    """The planted daily profile of a 10-minute sensor (warm afternoons): the known answer."""
    return 20 + 4 * np.sin(2 * np.pi * (t - 54) / 144) + 1.5 * np.sin(4 * np.pi * t / 144)


def _daily_cycle(days: float, seed: int = 0) -> pd.DataFrame:
    """The sensor's readings: the daily profile plus noise of sd 0.5."""
    n = int(days * 144)
    y = _profile(np.arange(n)) + np.random.default_rng(seed).normal(0, 0.5, n)
    return pd.DataFrame({"time": pd.date_range("2024-03-01", periods=n, freq="10min"), "temp": y})


@pytest.mark.parametrize("name", ["auto_ets", "auto_arima"])
def test_ets_and_arima_take_a_weekly_season_out_with_stl(weekly_co2: pd.DataFrame, name: str) -> None:
    train, test = weekly_co2.iloc[:-52], weekly_co2.iloc[-52:]
    fitted = FORECAST_MODELS.get(name).fit(train, {"seasonal": True}, Context("W-SAT", 52, len(train), ()))
    model = fitted.sf.models[0]  # type: ignore[attr-defined]
    assert type(model).__name__ == "MSTL" and model.season_length == [52]
    forecast = fitted.predict(52, None)
    error = np.abs(forecast["yhat"].to_numpy() - test["y"].to_numpy()).mean()
    snaive_error = np.abs(train["y"].to_numpy()[-52:] - test["y"].to_numpy()).mean()
    assert error < 0.5 * snaive_error, (error, snaive_error)  # the trend on top of the yearly cycle
    assert {"yhat_lo_80", "yhat_hi_95"} <= set(forecast.columns)
    inside = (forecast["yhat_lo_95"] <= test["y"].to_numpy()) & (test["y"].to_numpy() <= forecast["yhat_hi_95"])
    assert inside.mean() >= 0.5


def test_each_model_keeps_the_seasons_it_affords() -> None:
    # ETS up to a day of hours; ARIMA up to a year of months: one AutoARIMA fit with the 24-step season of
    # 2,500 hourly temperatures took 141-152 s, with STL 1.2-1.4 s
    assert type(FORECAST_MODELS.get("auto_ets").build({}, 24)).__name__ == "AutoETS"
    assert type(FORECAST_MODELS.get("auto_arima").build({}, 12)).__name__ == "AutoARIMA"
    assert type(FORECAST_MODELS.get("auto_arima").build({}, 24)).__name__ == "MSTL"


def test_a_long_season_lag_set_is_the_recent_steps_and_the_same_moment_a_season_ago() -> None:
    sets = lag_sets(Context("10min", 144, 2000, ()))
    assert sets["season"] == [*range(1, LONG_SEASON + 1), 143, 144, 145]
    assert sets["two_seasons"][-1] == 288
    assert lag_sets(Context("MS", 12, 200, ()))["season"] == list(range(1, 13))


def test_sub_hourly_lag_models_know_the_time_of_day_and_the_day_of_the_week() -> None:
    # departures per 30 minutes at the three New York airports (benchmarks/forecast_long_seasons.py): with the
    # day of the week, median test MAE over three origins 1.356 -> 1.341 (one origin 1.225 -> 0.830)
    assert date_features({"calendar": True}, Context("10min", 144, 2000, ())) == ["hour", "minute", "dayofweek"]
    assert date_features({"calendar": True}, Context("10min", 144, 2000, ("hour",))) == ["minute", "dayofweek"]


def test_ten_minute_data_get_their_daily_season_and_forecast_the_next_day() -> None:
    frame = _daily_cycle(days=8)
    result = fit_engine(frame, n_trials=4, target="temp", time_column="time",
                        models=["seasonal_naive", "auto_ets", "auto_theta"])
    messages = [d.message for d in result.decisions]
    assert any("season length 144 (one day of '10min' steps)" in m for m in messages)
    assert any("144-step season is long for AutoETS" in m for m in messages)
    assert any(m.startswith("horizon 144: one season") for m in messages)
    # a forecast that knows the daily profile errs by about the noise: MASE ≈ 0.5·0.8 / (0.5·0.8·√2) ≈ 0.71;
    # with the hourly season (6 steps) the same models scored 3.3 (seasonal naive) to 16.6 (AutoETS)
    assert result.test_score < 0.9, result.test_score
    future = result.artifact.obj.forecast(144)  # type: ignore[attr-defined]
    assert future["ds"].iloc[0] == frame["time"].iloc[-1] + pd.Timedelta(minutes=10)
    truth = _profile(np.arange(len(frame), len(frame) + 144))  # the next day of the planted profile
    assert np.abs(future["yhat"].to_numpy() - truth).mean() < 0.5


def test_ten_minute_data_shorter_than_two_days_fall_back_to_the_hourly_cycle() -> None:
    from automlops.forecasting import ForecastingEngine

    frame = _daily_cycle(days=1.5)
    engine = ForecastingEngine("temp", "time", preset="fast")
    log = quiet_log()
    engine.prepare(frame, log)
    assert engine.season == 6
    assert engine.data.season == 144  # the MASE scale keeps the daily cycle (lag 1 where too short)
