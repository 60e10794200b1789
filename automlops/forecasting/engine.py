"""``ForecastingEngine``: time-series forecasting as an engine of the search driver.

The five steps of every engine, for series:

1. **prepare** – clean the table into long-format series, infer the frequency and the season
   (12 for months, 4 for quarters, 7 for days...), choose the horizon ``h``, keep the **last h
   points of every series** aside as the untouched test window, and plan the expanding-window
   backtest on the rest. Seasonal models need two full seasons of history: with less, they are
   switched to their non-seasonal form (and Seasonal naive is dropped), and the log says so.
2. **suggest** – Optuna picks a model (statistical or machine learning on lags) and its settings.
3. **evaluate** – the candidate is backtested at every cut-off; the score is the mean MASE (or the
   chosen metric) over the cut-offs.
4. **choose** – by default the mean of AutoETS, AutoARIMA and AutoTheta (the M4 "comb"); the best
   single model or the mean/median of the best few models' forecasts replaces it only when it
   backtests clearly better: by 10 % on average, and by more than the standard error of its gain
   per cut-off (:mod:`automlops.forecasting.ensemble`).
5. **finalize** – fit the choice on everything but the test window, score the test window, then
   refit on all the data for the shipped :class:`~automlops.forecasting.forecaster.Forecaster`
   (:mod:`automlops.forecasting.finalize`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automlops.core.fit import ValidationSummary
from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.errors import ConfigError, DataError
from automlops.forecasting.backtest import FORECAST_METRICS, constant_series, plan_folds, position_from_end
from automlops.forecasting.data import (
    ROW,
    SeriesData,
    default_horizon,
    first_few,
    natural_seasons,
    prepare_series,
)
from automlops.forecasting.ensemble import choose_recipe, comb_members, comb_missing_note, finalize_seconds
from automlops.forecasting.evaluate import Backtester
from automlops.forecasting.finalize import finalize_recipe
from automlops.forecasting.models import FORECAST_MODELS, STL_ABOVE, Context, stats_history
from automlops.search.engine import (
    Candidate,
    Choice,
    DecisionLog,
    Evaluation,
    Finalized,
    SearchPlan,
    TrialOutcome,
)
from automlops.search.suggest import Suggest

__all__ = ["FORECAST_PRESETS", "ForecastPreset", "ForecastingEngine"]


@dataclass(frozen=True)
class ForecastPreset:
    """How hard to search: trials, backtest cut-offs, candidate models, ensemble size."""

    name: str
    n_trials: int | None
    time_budget: float | None
    n_windows: int
    models: tuple[str, ...]
    ensemble_size: int
    description: str


# The warm start's order: the baselines, then the cheapest model of each kind. LightGBM learns from every series
# in one regression while the statistical models fit one model per series, so on long or many series it costs
# less than AutoTheta (~1 s against ~1.5 s a cut-off on three hourly stations; 0.2 s against 1.5 s on 67 daily
# routes); on short series every default finishes anyway. Before Theta, it stopped being cut off at 30 s on the
# hourly stations (forecast_long_series.py: mean test MASE 0.887 -> 0.852 over six origins).
_CHEAP_FIRST = ("naive", "seasonal_naive", "ridge", "lightgbm", "auto_theta", "auto_ets", "xgboost", "auto_arima")
FORECAST_PRESETS: Registry[ForecastPreset] = Registry("forecasting preset")
FORECAST_PRESETS.add("fast", ForecastPreset(
    "fast", 12, None, 3, ("naive", "seasonal_naive", "auto_theta", "auto_ets", "ridge"), 3,
    "the quick statistical models and a ridge on lags, three backtest cut-offs"))
FORECAST_PRESETS.add("medium", ForecastPreset(
    "medium", 40, None, 5, _CHEAP_FIRST, 4, "every model (ETS, ARIMA, Theta, naive, LightGBM/XGBoost/ridge on "
    "lags), five cut-offs"))
FORECAST_PRESETS.add("best", ForecastPreset(
    "best", 150, None, 6, _CHEAP_FIRST, 5, "every model, more trials, six cut-offs"))


class ForecastingEngine:
    """Forecast one or many series with statistical and lag-feature models (see the module docstring)."""

    name = "forecasting"
    kind = "forecasting"
    models = FORECAST_MODELS
    presets = FORECAST_PRESETS
    metrics = FORECAST_METRICS

    def __init__(self, target: str, time_column: str, *, series_id: str | None = None, horizon: int | None = None,
                 freq: str | None = None, metric: str | None = None, preset: str = "medium",
                 models: Sequence[str] | None = None, seed: int = 0) -> None:
        self.target, self.time_column, self.series_id = target, time_column, series_id or None
        self.horizon, self.freq, self.metric = horizon, freq, metric or "mase"
        self.preset, self.seed = preset, seed
        self.requested = tuple(models) if models else None
        FORECAST_METRICS.get(self.metric)
        for name in self.requested or ():
            FORECAST_MODELS.get(name)
        if horizon is not None and (not isinstance(horizon, int | np.integer) or horizon < 1):
            raise ConfigError(f"the horizon must be a whole number of steps ≥ 1, not {horizon!r}")

    # ------------------------------------------------------------------ prepare
    def _horizon(self, shortest: int, season: int, log: DecisionLog) -> int:
        if self.horizon is not None:
            h = int(self.horizon)
            log("horizon", f"horizon {h} step(s), given by the user")
        else:
            h, why = default_horizon(season, shortest)
            log("horizon", why)
        if shortest < 2 * h:
            raise DataError(f"the shortest series has {shortest} points; a horizon of {h} needs at least 2·h = "
                            f"{2 * h} (h to test on, the rest to learn from): give more history or a smaller "
                            "--horizon")
        return h

    def _season(self, data: SeriesData, rest_shortest: int, h: int, log: DecisionLog) -> int:
        """The longest natural cycle with two full seasons before the backtest window (10-minute data: a
        day, else an hour); 1 (seasonal models off) when none has."""
        history = rest_shortest - h
        for m, cycle in natural_seasons(data.freq):
            if history < 2 * m:
                continue
            if m == data.season:
                log("models", f"season length {m} (one {cycle} of '{data.freq}' steps): seasonal models are on")
            else:
                log("models", f"the shortest series has {rest_shortest} points before the test window: fewer than two "
                              f"seasons of {data.season} steps plus a backtest window, so the seasonal models use the "
                              f"shorter {cycle} cycle ({m} steps)")
            return m
        if data.season > 1:
            log("models", f"the shortest series has {rest_shortest} points before the test window: fewer than two "
                          f"seasons ({2 * data.season} points) plus a backtest window, so seasonal models are off "
                          "(ETS, ARIMA and Theta run without a season; Seasonal naive is dropped)")
        return 1

    def _models(self, season: int, log: DecisionLog) -> tuple[str, ...]:
        preset = FORECAST_PRESETS.get(self.preset)
        names = self.requested or preset.models
        usable = tuple(n for n in names if season > 1 or not FORECAST_MODELS.get(n).seasonal)
        if not usable:
            raise DataError(f"no model fits this data: {', '.join(names)} need two full seasons of history; give "
                            "more data or choose non-seasonal models")
        how = "given by the user" if self.requested else f"of the '{preset.name}' preset"
        log("models", f"candidates {how}: {', '.join(usable)}")
        if stl := [FORECAST_MODELS.get(n).label for n in usable if season > STL_ABOVE.get(n, season)]:
            who = "they forecast" if len(stl) > 1 else "it forecasts"
            log("models", f"a {season}-step season is long for {' and '.join(stl)} (their cost grows with the season: "
                          f"AutoARIMA took 2.5 minutes per fit of 2,500 hourly points): {who} the series with its "
                          "season taken out by STL (statsforecast's MSTL), which repeats the season's latest profile")
        longest, kept = int(self.data.lengths.max()), stats_history(season)
        if longest > kept and any(FORECAST_MODELS.get(n).family == "statistical" for n in usable):
            log("models", f"the statistical models are fitted on the last {kept:,} points of each series "
                          f"(the longest has {longest:,}): their fitting time grows with the history while recent "
                          "points decide their forecast; the lag models learn from all of it")
        return usable

    def prepare(self, data: pd.DataFrame, log: DecisionLog) -> SearchPlan:
        """Clean the series, set the last ``h`` points aside, plan the backtest and the candidates."""
        self.data = prepare_series(data, self.target, self.time_column, self.series_id, self.freq, log)
        long = self.data.long
        shortest = int(self.data.lengths.min())
        self.h = self._horizon(shortest, self.data.season, log)
        pfe = position_from_end(long)
        self.rest, self.test = long[pfe > self.h].reset_index(drop=True), long[pfe <= self.h].reset_index(drop=True)
        self.season = self._season(self.data, shortest - self.h, self.h, log)
        self.model_names = self._models(self.season, log)
        preset = FORECAST_PRESETS.get(self.preset)
        rest_shortest = shortest - self.h
        min_train = max(2 * self.season if self.season > 1 else 3, rest_shortest // 2)
        folds = plan_folds(rest_shortest, self.h, preset.n_windows, min(min_train, rest_shortest - 1))
        self.ctx = Context(self.data.freq, self.season, rest_shortest - folds[0].offset, self.data.exogenous, self.seed,
                           int(long["unique_id"].nunique()))
        self.backtester = Backtester(self.rest, folds, self.ctx, self.data.season, FORECAST_METRICS.get(self.metric),
                                     FORECAST_METRICS)
        reason = (f"expanding-window backtest: {len(folds)} cut-off(s) {folds[0].horizon} step(s) apart, each "
                  f"forecasting {folds[0].horizon} step(s) from the past only; the last {self.h} point(s) of every "
                  "series are the untouched test window")
        log("validation", reason)
        spec = FORECAST_METRICS.get(self.metric)
        log("metric", f"{spec.name}: {spec.explanation}")
        self._note_constant_series(log)
        self.problem = Problem(TaskType.TIMESERIES, self.target, spec.name, spec.direction,
                               time_column=self.time_column, horizon=self.h,
                               reasons=(self.data.freq_reason, f"metric {spec.name}: {spec.explanation}"))
        test_rows = np.sort(self.test.loc[self.test[ROW] >= 0, ROW].to_numpy(dtype=int))
        return SearchPlan(problem=self.problem, validation=ValidationSummary("backtest", len(folds), reason),
                          test_rows=test_rows, n_steps=len(folds), models=self.model_names,
                          fingerprint=self._fingerprint(), input_columns=self.input_columns,
                          feature_schema=self.feature_schema())

    def _note_constant_series(self, log: DecisionLog) -> None:
        flat = constant_series(self.rest)
        if flat and self.metric == "mase":
            n = self.rest["unique_id"].nunique()
            names = first_few(flat, 5)
            log("metric", f"{len(flat)} of {n} series never change before the test window ({names}): the seasonal "
                          "naive makes no error there, so their MASE is undefined and they are left out of its "
                          "average (MAE and RMSE still count them; their intervals are flat)")

    @property
    def input_columns(self) -> tuple[str, ...]:
        return (self.time_column, *([self.series_id] if self.series_id else []), *self.data.inputs)

    def feature_schema(self) -> dict[str, Any]:
        """What predict expects: the time column, the series id, the exogenous numbers."""
        cols = [{"name": self.time_column, "kind": "datetime", "role": "time", "nullable": False}]
        if self.series_id:
            cols.append({"name": self.series_id, "kind": "categorical", "role": "series_id", "nullable": False})
        cols += [{"name": c, "kind": "numeric", "role": "exogenous", "nullable": False} for c in self.data.inputs]
        return {"features": cols, "dropped": {}, "freq": self.data.freq, "horizon": self.h, "target": self.target}

    def _fingerprint(self) -> str:
        digest = hashlib.sha256(pd.util.hash_pandas_object(self.data.long.drop(columns=ROW), index=False).to_numpy()
                                .tobytes())
        digest.update(f"{self.h}:{self.data.freq}:{self.season}:{self.backtester.n_steps}:{self.metric}".encode())
        return digest.hexdigest()[:16]

    # ------------------------------------------------------------------ search
    def suggest(self, trial: optuna.Trial) -> Candidate:
        name = str(trial.suggest_categorical("model", list(self.model_names)))
        return Candidate(name, FORECAST_MODELS.get(name).space(Suggest(trial, name), self.ctx))

    def warm_start(self, study: optuna.Study) -> list[str]:
        order = [n for n in _CHEAP_FIRST if n in self.model_names] + [n for n in self.model_names
                                                                     if n not in _CHEAP_FIRST]
        for name in order:
            defaults = FORECAST_MODELS.get(name).defaults(self.ctx)
            if self.ctx.season == 1:
                defaults.pop("seasonal", None)
            study.enqueue_trial({"model": name, **{f"{name}__{k}": v for k, v in defaults.items()}},
                                skip_if_exists=True)
        return order

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        return self.backtester.evaluate(candidate, trial, deadline)

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        size = FORECAST_PRESETS.get(self.preset).ensemble_size
        members = {o.model: o for o in [*ranked[:size], *comb_members(ranked)]}  # the statistical comb may ship
        return finalize_seconds(list(members.values()))

    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: Any) -> Choice:
        if (missing := comb_missing_note(self.model_names, ranked, budget.total)) is not None:
            log("ensemble", missing)
        for note in self.backtester.stand_in_notes(sorted({o.model for o in ranked})):
            log("models", note)
        left = math.inf if budget.deadline is None else budget.deadline - time.monotonic() - budget.fixed_tail
        return choose_recipe(ranked, self.backtester, FORECAST_PRESETS.get(self.preset).ensemble_size, log, left)

    def finalize(self, choice: Choice, log: DecisionLog, budget: Any) -> Finalized:
        return finalize_recipe(self, choice, log)

    def run_params(self) -> dict[str, Any]:
        return {"horizon": getattr(self, "h", self.horizon), "freq": getattr(getattr(self, "data", None), "freq", None),
                "season": getattr(self, "season", None), "series_id": self.series_id,
                "n_series": int(self.data.long["unique_id"].nunique()) if hasattr(self, "data") else None}
