"""Long series: the statistical models learn from the recent history only, the lag models from all of it.

Measured before the cap: on three hourly weather stations (8,700 points each) one AutoETS trial took
the whole of a 120 s budget, and no machine-learning model was ever tried.
"""

from __future__ import annotations

import pandas as pd
import pytest

import automlops.forecasting.models as models
from automlops.forecasting.models import FORECAST_MODELS, Context, recent_history

from .conftest import fit_engine


@pytest.fixture(scope="module")
def co2() -> pd.DataFrame:
    """Weekly CO2 at Mauna Loa, 1958–2001 (2,284 weeks, holes filled), as a long frame of one series."""
    import statsmodels.api as sm

    y = sm.datasets.co2.load_pandas().data["co2"].interpolate()
    return pd.DataFrame({"unique_id": "co2", "ds": y.index, "y": y.to_numpy()})


def test_recent_history_keeps_the_latest_points_of_each_series_in_time_order(co2: pd.DataFrame) -> None:
    short = co2.tail(300).assign(unique_id="short")
    mixed = pd.concat([co2, short]).sample(frac=1.0, random_state=0)  # shuffled rows
    kept = recent_history(mixed, limit=1000)
    sizes = kept.groupby("unique_id").size()
    assert sizes["co2"] == 1000 and sizes["short"] == 300
    latest = kept[kept.unique_id == "co2"]
    assert latest["ds"].is_monotonic_increasing
    assert latest["ds"].iloc[0] == co2["ds"].iloc[-1000] and latest["ds"].iloc[-1] == co2["ds"].iloc[-1]
    assert recent_history(co2) is co2  # shorter than the cap: untouched


def test_a_statistical_model_is_fitted_on_the_recent_history_and_forecasts_from_the_end(
        co2: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "STATS_MAX_HISTORY", 1000)
    fitted = FORECAST_MODELS.get("auto_theta").fit(co2, {"seasonal": True}, Context("W-SAT", 52, len(co2), ()))
    assert fitted.sf.ga.data.shape[0] == 1000  # type: ignore[attr-defined]
    forecast = fitted.predict(4, None)
    assert forecast["ds"].iloc[0] == co2["ds"].iloc[-1] + pd.Timedelta(weeks=1)
    assert forecast["yhat"].between(360, 380).all()  # CO2 around 2002: ~370 ppm


def test_the_engine_says_when_the_statistical_models_see_part_of_the_history(
        co2: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "STATS_MAX_HISTORY", 1000)
    frame = co2.drop(columns="unique_id").rename(columns={"ds": "week", "y": "ppm"})
    result = fit_engine(frame, n_trials=2, target="ppm", time_column="week", models=["seasonal_naive", "auto_theta"])
    assert any("last 1,000 points of each series (the longest has 2,284)" in d.message for d in result.decisions)


def test_the_warm_start_tries_the_global_lag_model_before_the_per_series_ones(co2: pd.DataFrame) -> None:
    """LightGBM fits every series in one regression; Theta and ETS fit one model per series and grow with
    the history, so on long series LightGBM's defaults run first (at 30 s on three hourly stations it was
    the trial cut off by the deadline)."""
    import optuna

    from automlops.forecasting.engine import ForecastingEngine

    from .conftest import quiet_log

    engine = ForecastingEngine("ppm", "week", horizon=52)
    engine.prepare(co2.drop(columns="unique_id").rename(columns={"ds": "week", "y": "ppm"}), quiet_log())
    order = engine.warm_start(optuna.create_study())
    assert order.index("lightgbm") < order.index("auto_theta") < order.index("auto_ets")
    assert order[:3] == ["naive", "seasonal_naive", "ridge"]  # the baselines and the cheapest lag model first
