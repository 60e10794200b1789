"""Shared series for the forecasting tests: real data shipped by statsforecast and statsmodels."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from automlops.core.fit import FitResult
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.search.engine import DecisionLog


def fit_engine(frame: pd.DataFrame, n_trials: int = 6, preset: str = "fast", **kwargs: Any) -> FitResult:
    """The forecasting engine through the search driver with a tiny number of trials."""
    from automlops.forecasting import ForecastingEngine

    engine = ForecastingEngine(**kwargs, preset=preset)
    return SearchDriver(engine, DriverConfig(preset=preset, n_trials=n_trials)).fit(frame)


def quiet_log() -> DecisionLog:
    return DecisionLog(lambda event: None, lambda: 0.0, lambda: None)


@pytest.fixture(scope="session")
def air() -> pd.DataFrame:
    """AirPassengers: monthly, 1949–1960, strongly seasonal with a trend (month-end timestamps)."""
    from statsforecast.utils import AirPassengersDF

    return AirPassengersDF.drop(columns="unique_id").rename(columns={"ds": "month", "y": "passengers"})


@pytest.fixture(scope="session")
def macro_long() -> pd.DataFrame:
    """Three quarterly macro series (real GDP, CPI, unemployment) in one long table."""
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    quarter = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q")
    wide = pd.DataFrame({"quarter": quarter.to_timestamp(), "realgdp": d["realgdp"], "cpi": d["cpi"],
                         "unemp": d["unemp"]})
    return wide.melt(id_vars="quarter", var_name="series", value_name="value")


@pytest.fixture(scope="session")
def air_fit(air: pd.DataFrame) -> FitResult:
    return fit_engine(air, n_trials=7, target="passengers", time_column="month", horizon=12)
