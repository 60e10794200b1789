"""Many series: a per-series model is priced on one series before it is fitted on all of them.

Measured before pricing: on 67 daily series AutoARIMA (~136 s per cut-off) ran until the deadline of a
60 s budget and AutoETS (~9 s) ran three of its five cut-offs before being stopped, so a search ran 8
trials; with pricing, 35.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from automlops.forecasting.engine import ForecastingEngine
from automlops.forecasting.evaluate import PRICE_MIN_SERIES, TimeBudgetExceeded
from automlops.forecasting.models import FORECAST_MODELS
from automlops.search.engine import Candidate

from .conftest import quiet_log

MACRO_COLUMNS = ("realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "tbilrate", "unemp", "pop",
                 "infl", "realint")


@pytest.fixture(scope="module")
def macro_twelve() -> pd.DataFrame:
    """Twelve quarterly US macro series (statsmodels' macrodata, 1959–2009) in one long table."""
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    quarter = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q")
    wide = pd.DataFrame({"quarter": quarter.to_timestamp(), **{c: d[c] for c in MACRO_COLUMNS}})
    return wide.melt(id_vars="quarter", var_name="series", value_name="value")


def test_a_model_that_cannot_finish_in_time_is_priced_out_before_its_first_fold(macro_twelve: pd.DataFrame) -> None:
    assert len(MACRO_COLUMNS) >= PRICE_MIN_SERIES
    engine = ForecastingEngine("value", "quarter", series_id="series", horizon=8)
    engine.prepare(macro_twelve, quiet_log())
    arima = Candidate("auto_arima", FORECAST_MODELS.get("auto_arima").defaults(engine.ctx))
    one = engine.backtester.folds[0].train
    FORECAST_MODELS.get("auto_arima").fit(one[one["unique_id"] == "cpi"], arima.params, engine.ctx)  # compile once
    # AutoARIMA: ~0.4 s a series here, so 12 series x 5 cut-offs ~ 25 s; 8 s are left
    deadline = time.monotonic() + 8.0
    with pytest.raises(TimeBudgetExceeded, match=r"5 backtest cut-off\(s\) left at ~.* would end past the time"):
        engine.evaluate(arima, None, deadline)
    assert engine.backtester._fold_seconds["auto_arima"] > 0  # the estimate is kept: proposed again, no new probe
    with pytest.raises(TimeBudgetExceeded, match="would end past the time"):
        engine.evaluate(arima, None, time.monotonic() + 8.0)
    theta = Candidate("auto_theta", FORECAST_MODELS.get("auto_theta").defaults(engine.ctx))
    assert engine.evaluate(theta, None, time.monotonic() + 60.0).mean > 0  # a cheap one is priced and runs


@pytest.mark.parametrize("model", ["lightgbm", "ridge"])
def test_a_lag_model_standardises_each_series(macro_twelve: pd.DataFrame, model: str) -> None:
    """With ``scale="series"`` one series in other units (GDP in millions, not billions) changes nothing
    for the others; without it, the big series decides the shared model."""
    three = macro_twelve[macro_twelve["series"].isin(["realgdp", "cpi", "unemp"])]
    engine = ForecastingEngine("value", "quarter", series_id="series", horizon=8)
    engine.prepare(three, quiet_log())
    spec = FORECAST_MODELS.get(model)
    defaults = spec.defaults(engine.ctx)
    assert defaults["scale"] == "series" and defaults["diff"] == "seasonal"  # several series: the measured defaults
    rescaled = engine.rest.assign(y=engine.rest["y"].where(engine.rest["unique_id"] != "realgdp",
                                                           engine.rest["y"] * 1000))

    def cpi_forecast(train: pd.DataFrame, scale: str) -> pd.Series:
        out = spec.fit(train, {**defaults, "scale": scale}, engine.ctx).predict(8, None)
        return out.loc[out["unique_id"] == "cpi", "yhat"].reset_index(drop=True)

    pd.testing.assert_series_equal(cpi_forecast(engine.rest, "series"), cpi_forecast(rescaled, "series"), rtol=1e-6)
    moved = (cpi_forecast(engine.rest, "none") - cpi_forecast(rescaled, "none")).abs().max()
    assert moved > 1e-3


def test_one_series_keeps_its_defaults(macro_twelve: pd.DataFrame) -> None:
    engine = ForecastingEngine("value", "quarter", series_id="series", horizon=8)
    engine.prepare(macro_twelve[macro_twelve["series"] == "cpi"], quiet_log())
    defaults = FORECAST_MODELS.get("lightgbm").defaults(engine.ctx)
    assert "scale" not in defaults and defaults["diff"] == "both"


def test_an_exogenous_column_named_like_a_calendar_field_is_not_added_twice() -> None:
    """statsmodels' macrodata has its own ``quarter`` column; the lag models' calendar field of quarterly data
    is also called ``quarter``, and mlforecast refused the duplicate (every lag model failed)."""
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    stamps = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q")
    frame = pd.DataFrame({"date": stamps.to_timestamp(), "realgdp": d["realgdp"], "quarter": d["quarter"]})
    engine = ForecastingEngine("realgdp", "date", horizon=8)
    engine.prepare(frame, quiet_log())
    assert engine.ctx.exogenous == ("quarter",)
    ridge = FORECAST_MODELS.get("ridge")
    params = {**ridge.defaults(engine.ctx), "calendar": True}
    forecast = ridge.fit(engine.rest, params, engine.ctx).predict(8, engine.test)
    assert len(forecast) == 8 and forecast["yhat"].notna().all()
