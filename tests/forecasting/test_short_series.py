"""A panel with one short series: the statistical models fit every series they can, Naive stands in for the rest.

Real data: statsmodels' Grunfeld investment panel (annual, 1935-1954), with one firm's history cut to its
last few years, as for a company listed later than the others. AutoETS refuses a series of 6 points or
fewer ("tiny datasets"); before, that one series failed every AutoETS trial of the whole panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.forecasting.models import FORECAST_MODELS, Context
from automlops.search.trial_notes import warned

from .conftest import fit_engine

SHORT = "IBM"


def grunfeld(short_years: int) -> pd.DataFrame:
    """Four firms' yearly investment; IBM's history cut to its last ``short_years`` years."""
    import statsmodels.api as sm

    d = sm.datasets.grunfeld.load_pandas().data
    d["year"] = pd.to_datetime(d["year"].astype(int).astype(str))
    late = d[(d["firm"] == SHORT) & (d["year"].dt.year > 1954 - short_years)]
    long = d[d["firm"].isin(["General Motors", "US Steel", "Chrysler"])]
    return pd.concat([long, late])[["firm", "year", "invest"]].reset_index(drop=True)


def test_ets_fits_the_long_series_and_naive_the_one_too_short() -> None:
    frame = grunfeld(5).rename(columns={"firm": "unique_id", "year": "ds", "invest": "y"})
    fitted = FORECAST_MODELS.get("auto_ets").fit(frame, {"seasonal": False, "damped": "auto"},
                                                 Context("YS-JAN", 1, 5, (), 0, 4))
    assert fitted.stand_ins == (SHORT,)
    out = fitted.predict(2, None).set_index("unique_id")
    last = frame[frame["unique_id"] == SHORT]["y"].iloc[-1]
    assert np.allclose(out.loc[SHORT, "yhat"], last)  # Naive: the last value, with its own intervals
    assert out.loc[SHORT, "yhat_lo_95"].lt(last).all() and out.loc[SHORT, "yhat_hi_95"].gt(last).all()
    assert not np.isclose(out.loc["Chrysler", "yhat"].iloc[0], frame[frame["unique_id"] == "Chrysler"]["y"].iloc[-1])


def test_the_search_keeps_ets_and_says_where_naive_stood_in() -> None:
    result = fit_engine(grunfeld(9), n_trials=4, models=["auto_ets", "naive"], target="invest", time_column="year",
                        series_id="firm", horizon=3)
    ets = result.trials[result.trials["model"] == "auto_ets"]
    assert len(ets) and (ets["state"] == "COMPLETE").all()
    notes = [d.message for d in result.decisions if d.message.startswith("AutoETS could not be fitted")]
    assert notes == ["AutoETS could not be fitted on 1 of 4 series at 1 of 1 backtest cut-off(s) (the shortest "
                     "history there: 3 points); Naive's forecast stood in for those series there, so part of its "
                     "backtest score is Naive's"]


@pytest.mark.parametrize("years, warns", [(6, True), (9, False)])
def test_a_shipped_model_that_forecasts_a_series_with_naive_warns(years: int, warns: bool) -> None:
    # six years: too few for ETS even in the final refit on all the data; nine: only the backtest's cut-offs were
    result = fit_engine(grunfeld(years), n_trials=1, models=["auto_ets"], target="invest", time_column="year",
                        series_id="firm", horizon=3)
    shipped = [m for m in warned([d.message for d in result.decisions]) if "forecasts with Naive" in m]
    expected = [f"the shipped model forecasts with Naive on 1 series where AutoETS could not be fitted ({SHORT}): "
                "their history is too short for it or it failed there"]
    assert shipped == (expected if warns else [])
