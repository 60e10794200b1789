"""The candidate forecasters: statistical models (statsforecast) and machine learning on lags (mlforecast).

Two families answer "what comes next?" differently:

* **Statistical models** fit one small model per series. *ETS* (error–trend–season exponential
  smoothing) weighs recent points more; *ARIMA* models the series' autocorrelation after
  differencing; *Theta* extrapolates a damped trend line plus smoothing; *Seasonal naive* repeats the
  last season and *Naive* the last value – the baselines any model must beat. The ``Auto*``
  versions pick their own structure by information criteria (AICc), so their search space is tiny
  (seasonal or not, damped or not).
* **Machine learning on lag features** turns forecasting into regression: each row's features are
  the series' own past values (*lags* ``y[t-1]``, ``y[t-12]``...), rolling means of them and
  calendar fields (month, day of week), and a regressor (LightGBM, XGBoost or a ridge line) learns
  ``y[t]`` from them, across all series at once. Forecasts are made *recursively*: step 1 is
  predicted, appended, and becomes a lag for step 2. A *target transform* such as differencing
  (``y[t] - y[t-1]``, or ``y[t] - y[t-12]``) lets trees – which cannot extrapolate – follow a trend.
  Optuna searches the lag set, the rolling window, the differencing and the regressor's
  hyperparameters (the features: :mod:`automlops.forecasting.lag_features`).

**Long series.** A statistical model is fitted on the last :data:`STATS_MAX_HISTORY` points of each
series at most. Their fitting time grows with the history (AutoETS on 8,700 hourly points with a
daily season: ~5 s per series and cut-off, so one AutoETS trial on three weather stations took the
whole of a 120 s budget and no other model was ever tried), while what they learn does not: ETS and
Theta weigh recent points most, and ARIMA's orders are read from recent autocorrelation. The lag
models learn from all the history (their cost is one regression over all rows).

**Long seasons.** ETS and ARIMA carry one state (or one seasonal lag polynomial) per step of the
season, so their cost explodes with it: statsforecast's AutoARIMA took 235 s for one fit of a
48-step season (672 half-hourly points) and did not finish in 5 minutes on weekly CO₂ (52 steps),
and AutoETS with a 52-week season forecast weekly CO₂ *worse* than the seasonal naive (MASE 1.29 vs
1.14). R's ``ets`` refuses seasons above 24 steps for this reason. ARIMA's cost also grows with the
history: with the 24-step daily season of hourly data, one fit on 2,500 JFK temperatures took
141–152 s (so at any budget of a few minutes it finished no trial). Above the season each model
affords (:data:`STL_ABOVE`: 24 steps for ETS, 12 for ARIMA – weekly data, hourly and finer data with
their daily cycle) the two models therefore leave the
season to STL: statsforecast's ``MSTL`` splits the series into a seasonal part (a smooth, slowly
changing profile, forecast by repeating it) and the rest, which the non-seasonal AutoETS or
AutoARIMA forecasts – Hyndman's ``stlf``, and what statsforecast recommends for high-frequency data.
On weekly CO₂ that took 0.1–0.7 s and scored MASE 0.27 (ETS) and 0.29 (ARIMA); on the hourly JFK
temperatures STL + ARIMA took 1.2–1.4 s a fit. Theta keeps its own
classical decomposition, which costs little at any season length.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from automlops.core.registry import Registry
from automlops.errors import DataError
from automlops.forecasting.lag_features import (
    date_features,
    feature_defaults,
    feature_space,
    lag_sets,
    rolling_window,
    target_transforms,
)
from automlops.search.suggest import Suggest

__all__ = ["FORECAST_MODELS", "STATS_MAX_HISTORY", "STL_ABOVE", "Context", "FittedModel", "ForecastModel",
           "recent_history", "stats_forecast", "stats_history", "stats_season"]

LEVELS = (80, 95)
STATS_MAX_HISTORY = 2_500  # points per series a statistical model is fitted on (the latest); 2,500 keeps every
# bundled benchmark series whole (co2, the longest, has 2,284) and ~3 years of daily or ~15 weeks of hourly data
# (at least three seasons are kept, whatever the season: a day of minutes is 1,440 points)
STL_ABOVE = {"auto_ets": 24, "auto_arima": 12}  # longer seasons are taken out by STL (see "Long seasons" above)


@dataclass(frozen=True)
class Context:
    """What a model needs to know about the data it will be fitted on (fixed for one fit)."""

    freq: str
    season: int  # steps in one season; 1 when seasonal models are off (too little history)
    min_length: int  # the shortest series at the earliest backtest cut-off
    exogenous: tuple[str, ...]
    seed: int = 0
    n_series: int = 1

    @property
    def max_lag(self) -> int:
        """Lags and differences together must leave rows to learn from in the shortest series."""
        return max(1, self.min_length // 3)


class FittedModel(Protocol):
    """A fitted forecaster: ``predict`` returns ``unique_id, ds, yhat`` (+ interval columns if it has them)."""

    def predict(self, h: int, future: pd.DataFrame | None) -> pd.DataFrame: ...


@dataclass(frozen=True)
class ForecastModel:
    """One candidate: how to fit it, its default settings and its search space."""

    name: str
    label: str
    family: str  # "statistical" | "machine learning"
    seasonal: bool  # needs two full seasons of history
    uses_exogenous: bool
    defaults: Callable[[Context], dict[str, Any]]
    space: Callable[[Suggest, Context], dict[str, Any]]
    fit: Callable[[pd.DataFrame, Mapping[str, Any], Context], FittedModel]
    # The unfitted model ``fit`` wraps: a statsforecast model from ``(params, season length)``, or the regressor
    # an MLForecast pipeline learns lags with from ``(params, seed)``. The script export writes it out.
    build: Callable[[Mapping[str, Any], int], Any]


FORECAST_MODELS: Registry[ForecastModel] = Registry("forecasting model")


# ---------------------------------------------------------------------------------------------- statistical
class StatsFitted:
    """A fitted statsforecast model; predicts with its own 80 % and 95 % intervals.

    ``stand_ins``: the series the model could not be fitted on, where Naive stood in (see
    :func:`stats_forecast`)."""

    def __init__(self, sf: Any, alias: str, stand_ins: tuple[str, ...] = ()) -> None:
        self.sf, self.alias, self.stand_ins = sf, alias, stand_ins

    def predict(self, h: int, future: pd.DataFrame | None) -> pd.DataFrame:
        cols = {self.alias: "yhat"}
        for level in LEVELS:
            cols |= {f"{self.alias}-lo-{level}": f"yhat_lo_{level}", f"{self.alias}-hi-{level}": f"yhat_hi_{level}"}
        out = self.sf.predict(h=h, level=list(LEVELS)).rename(columns=cols)
        return out[["unique_id", "ds", *[c for c in cols.values() if c in out.columns]]].reset_index(drop=True)


def recent_history(long: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """The last ``limit`` (default :data:`STATS_MAX_HISTORY`) points of each series of a long frame
    (``unique_id``, ``ds``, ...), in time order."""
    limit = STATS_MAX_HISTORY if limit is None else limit
    if len(long) <= limit or int(long.groupby("unique_id", sort=False).size().max()) <= limit:
        return long
    return long.sort_values(["unique_id", "ds"], kind="stable").groupby("unique_id", sort=False).tail(limit)


def stats_forecast(model: Any, freq: str) -> Any:
    """The ``StatsForecast`` that fits ``model`` on every series, with Naive standing in where it cannot.

    A statistical model is fitted series by series, and some cannot be fitted on a short one: AutoETS
    refuses 6 points or fewer ("tiny datasets": it needs more points than its parameters + 4), AutoTheta
    3 or fewer. Without a stand-in, one such series fails the whole fit, so on a panel of short annual
    series every AutoETS trial failed at the earliest backtest cut-off (iowa: 172 of 191 trials) and ETS
    was missing from the comb. statsforecast's ``fallback_model`` fits Naive on that series instead
    (the limit of exponential smoothing as it follows the last value); :class:`StatsFitted` lists those
    series, and the decisions say how many there were.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    fallback = None if isinstance(model, Naive) else Naive()
    return StatsForecast(models=[model], freq=freq, n_jobs=1, fallback_model=fallback)


def _stand_ins(sf: Any) -> tuple[str, ...]:
    """The series on which ``sf``'s fallback model was fitted instead of its own."""
    if sf.fallback_model is None:
        return ()
    fitted = [type(row[0]) is type(sf.fallback_model) for row in sf.fitted_]
    return tuple(str(uid) for uid, fell_back in zip(sf.uids, fitted, strict=True) if fell_back)


def _stats_fit(build: Callable[[Mapping[str, Any], int], Any]) -> Callable[..., FittedModel]:
    def fit(train: pd.DataFrame, params: Mapping[str, Any], ctx: Context) -> FittedModel:
        season = stats_season(params, ctx)
        model = build(params, season)
        sf = stats_forecast(model, ctx.freq)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sf.fit(df=recent_history(train[["unique_id", "ds", "y"]], stats_history(season)))
        return StatsFitted(sf, str(model.alias), _stand_ins(sf))

    return fit


def _seasonal_flag(s: Suggest, ctx: Context) -> dict[str, Any]:
    return {"seasonal": bool(s.cat("seasonal", [True, False]))} if ctx.season > 1 else {"seasonal": False}


def stats_season(params: Mapping[str, Any], ctx: Context) -> int:
    """The season a statistical candidate is built with: the data's, unless the search switched it off."""
    return ctx.season if params.get("seasonal", True) else 1


def stats_history(season: int) -> int:
    """How many of the latest points a statistical model with this season is fitted on."""
    return max(STATS_MAX_HISTORY, 3 * season)


def _with_stl(model: Any, m: int, alias: str) -> Any:
    """``model`` (non-seasonal) on the series with its ``m``-step season taken out by STL, which
    forecasts the season by repeating its latest profile (statsforecast's ``MSTL``)."""
    from statsforecast.models import MSTL

    return MSTL(season_length=m, trend_forecaster=model, alias=alias)


def _auto_ets(p: Mapping[str, Any], m: int) -> Any:
    from statsforecast.models import AutoETS

    damped = {"auto": None, "damped": True, "undamped": False}[str(p.get("damped", "auto"))]
    if m > STL_ABOVE["auto_ets"]:
        return _with_stl(AutoETS(model="ZZN", damped=damped), m, "STL-AutoETS")
    return AutoETS(season_length=m, damped=damped)


def _auto_arima(p: Mapping[str, Any], m: int) -> Any:
    from statsforecast.models import AutoARIMA

    if m > STL_ABOVE["auto_arima"]:
        return _with_stl(AutoARIMA(), m, "STL-AutoARIMA")
    return AutoARIMA(season_length=m)


def _auto_theta(p: Mapping[str, Any], m: int) -> Any:
    from statsforecast.models import AutoTheta

    return AutoTheta(season_length=m, decomposition_type=p.get("decomposition", "multiplicative"))


def _seasonal_naive(p: Mapping[str, Any], m: int) -> Any:
    from statsforecast.models import SeasonalNaive

    return SeasonalNaive(season_length=m)


def _naive(p: Mapping[str, Any], m: int) -> Any:
    from statsforecast.models import Naive

    return Naive()


def _seasonal_default(ctx: Context) -> dict[str, Any]:
    return {"seasonal": ctx.season > 1}


FORECAST_MODELS.add("auto_ets", ForecastModel(
    "auto_ets", "AutoETS", "statistical", False, False, lambda c: {**_seasonal_default(c), "damped": "auto"},
    lambda s, c: {**_seasonal_flag(s, c), "damped": s.cat("damped", ["auto", "damped", "undamped"])}, _stats_fit(_auto_ets), _auto_ets))
FORECAST_MODELS.add("auto_arima", ForecastModel(
    "auto_arima", "AutoARIMA", "statistical", False, False, _seasonal_default, _seasonal_flag,
    _stats_fit(_auto_arima), _auto_arima))
FORECAST_MODELS.add("auto_theta", ForecastModel(
    "auto_theta", "AutoTheta", "statistical", False, False,
    lambda c: {**_seasonal_default(c), "decomposition": "multiplicative"},
    lambda s, c: {**_seasonal_flag(s, c), "decomposition": s.cat("decomposition", ["multiplicative", "additive"])},
    _stats_fit(_auto_theta), _auto_theta))
FORECAST_MODELS.add("seasonal_naive", ForecastModel(
    "seasonal_naive", "SeasonalNaive", "statistical", True, False, lambda c: {}, lambda s, c: {},
    _stats_fit(_seasonal_naive), _seasonal_naive))
FORECAST_MODELS.add("naive", ForecastModel(
    "naive", "Naive", "statistical", False, False, lambda c: {}, lambda s, c: {}, _stats_fit(_naive), _naive))


# ---------------------------------------------------------------------------------------------- machine learning
class MLFitted:
    """A fitted mlforecast pipeline (recursive forecasts; intervals come from the backtest: conformal)."""

    def __init__(self, fc: Any, exogenous: tuple[str, ...]) -> None:
        self.fc, self.exogenous = fc, exogenous

    def predict(self, h: int, future: pd.DataFrame | None, ids: list[str] | None = None) -> pd.DataFrame:
        """``h`` steps of every series (of ``ids`` only if given: their future values are then enough)."""
        if self.exogenous and future is None:
            raise DataError(f"this model uses exogenous column(s) {', '.join(self.exogenous)}: give their future "
                            "values for every forecast step")
        x_df = None if not self.exogenous or future is None else future[["unique_id", "ds", *self.exogenous]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.fc.predict(h=h, X_df=x_df, ids=ids)
        return out.rename(columns={"m": "yhat"})[["unique_id", "ds", "yhat"]].reset_index(drop=True)


def _ml_fit(build: Callable[[Mapping[str, Any], int], Any]) -> Callable[..., FittedModel]:
    def fit(train: pd.DataFrame, params: Mapping[str, Any], ctx: Context) -> FittedModel:
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean

        window = rolling_window(params, ctx)
        transforms = target_transforms(params, ctx)
        fc = MLForecast(models={"m": build(params, ctx.seed)}, freq=ctx.freq,
                        lags=lag_sets(ctx)[str(params.get("lags", "short"))],
                        lag_transforms={1: [RollingMean(window_size=window)]} if window else None,
                        date_features=date_features(params, ctx),
                        target_transforms=transforms or None, num_threads=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc.fit(train[["unique_id", "ds", "y", *ctx.exogenous]], static_features=[])
        return MLFitted(fc, ctx.exogenous)

    return fit


def _lightgbm(p: Mapping[str, Any], seed: int) -> Any:
    import lightgbm as lgb

    return lgb.LGBMRegressor(n_estimators=int(p.get("n_estimators", 200)), learning_rate=float(p.get(
        "learning_rate", 0.05)), num_leaves=int(p.get("num_leaves", 15)), min_child_samples=int(p.get(
            "min_child_samples", 5)), subsample=0.9, subsample_freq=1, random_state=seed, n_jobs=1, verbosity=-1)


def _xgboost(p: Mapping[str, Any], seed: int) -> Any:
    import xgboost as xgb

    return xgb.XGBRegressor(n_estimators=int(p.get("n_estimators", 200)), learning_rate=float(p.get(
        "learning_rate", 0.05)), max_depth=int(p.get("max_depth", 4)), min_child_weight=float(p.get(
            "min_child_weight", 1.0)), subsample=0.9, random_state=seed, n_jobs=1, tree_method="hist")


def _ridge(p: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=float(p.get("alpha", 1.0)))


def _boost_space(s: Suggest, c: Context) -> dict[str, Any]:
    return {**feature_space(s, c), "n_estimators": s.int("n_estimators", 50, 500, log=True),
            "learning_rate": s.float("learning_rate", 0.01, 0.3, log=True)}


FORECAST_MODELS.add("lightgbm", ForecastModel(
    "lightgbm", "LightGBM on lags", "machine learning", False, True,
    lambda c: {**feature_defaults(c), "n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15,
               "min_child_samples": 5},
    lambda s, c: {**_boost_space(s, c), "num_leaves": s.int("num_leaves", 4, 64, log=True),
                  "min_child_samples": s.int("min_child_samples", 2, 30, log=True)}, _ml_fit(_lightgbm), _lightgbm))
FORECAST_MODELS.add("xgboost", ForecastModel(
    "xgboost", "XGBoost on lags", "machine learning", False, True,
    lambda c: {**feature_defaults(c), "n_estimators": 200, "learning_rate": 0.05, "max_depth": 4,
               "min_child_weight": 1.0},
    lambda s, c: {**_boost_space(s, c), "max_depth": s.int("max_depth", 2, 8),
                  "min_child_weight": s.float("min_child_weight", 0.5, 20.0, log=True)}, _ml_fit(_xgboost), _xgboost))
FORECAST_MODELS.add("ridge", ForecastModel(
    "ridge", "Ridge (linear) on lags", "machine learning", False, True,
    lambda c: {**feature_defaults(c), "alpha": 1.0},
    lambda s, c: {**feature_space(s, c), "alpha": s.float("alpha", 1e-3, 1e3, log=True)}, _ml_fit(_ridge), _ridge))
