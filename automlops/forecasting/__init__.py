"""Time-series forecasting: statistical models and machine learning on lags, backtested, with intervals.

``ForecastingEngine`` plugs into :class:`~automlops.search.driver.SearchDriver`; ``predict_table`` and
``forecast_table`` answer with a saved forecaster; ``figures`` draws a fit from its meta. The heavy
libraries (statsforecast, mlforecast, plotly) load only when one of these is first used.
"""

from __future__ import annotations

from automlops.core.lazy import lazy_exports

__all__ = ["ForecastingEngine", "figures", "forecast_table", "predict_table"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ForecastingEngine": "engine", "predict_table": "predict", "forecast_table": "predict", "figures": "plots",
}, globals())
