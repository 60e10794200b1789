"""A never-negative target is forecast with bands that stay at or above 0 (statsmodels' yearly sunspots).

Sunspot counts swing between ~0 and ~190 around an 11-year cycle: a model's symmetric 95 % band
around a forecast near a minimum reaches far below zero, a count no year can have.
"""

from __future__ import annotations

import pandas as pd

from automlops.forecasting.forecaster import FORECAST_COLUMNS
from tests.forecasting.conftest import fit_engine


def _sunspots() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.sunspots.load_pandas().data
    return pd.DataFrame({"year": pd.to_datetime(d["YEAR"].astype(int).astype(str)), "spots": d["SUNACTIVITY"]})


def test_a_never_negative_target_gets_bands_floored_at_zero() -> None:
    frame = _sunspots()
    assert (frame["spots"] >= 0).all() and (frame["spots"] == 0).any()
    result = fit_engine(frame, n_trials=4, time_column="year", target="spots", horizon=11,
                        models=["naive", "auto_ets", "auto_theta"])
    forecaster = result.artifact.obj
    forecast = forecaster.forecast(11)
    assert (forecast[FORECAST_COLUMNS[2:]] >= 0).all().all(), forecast.describe()
    assert (forecast["yhat_lo_95"] == 0).any()  # the band did reach below zero, and was clipped there
    assert forecaster.describe()["floor"] == 0.0
    assert any(d.topic == "forecast" and "clipped at 0" in d.message for d in result.decisions)


def test_a_target_that_goes_negative_keeps_its_bands(macro_long: pd.DataFrame) -> None:
    centred = macro_long.assign(value=macro_long["value"] - macro_long.groupby("series")["value"].transform("mean"))
    assert (centred["value"] < 0).any()
    result = fit_engine(centred, n_trials=2, time_column="quarter", target="value", series_id="series", horizon=4,
                        models=["naive", "auto_theta"])
    assert result.artifact.obj.describe()["floor"] is None
    assert not any("clipped at 0" in d.message for d in result.decisions)
