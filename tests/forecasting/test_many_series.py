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
