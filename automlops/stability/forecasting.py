"""Stability of a saved forecaster: would its error look the same from another forecast origin?

A forecaster's reported test score is its error (MASE by default) on the last ``h`` points of
every series, forecast from everything before them. One window is one draw: a calm year or a
shock can make a model look better or worse than it is. Shuffled splits would let a model learn
from the future, so the *splits* here are **forecast origins** (cut-offs) of an expanding window:

* cut-off ``j`` hides the last ``h + j·step`` points of every series, fits on everything before
  them (only the past), and forecasts the next ``h`` points, scored like the test window (MASE
  scaled by the seasonal naive error of that cut-off's training part, averaged over series);
* cut-off 0 is the test window itself; the others step back ``step = h`` points (fewer when the
  history is short), never leaving less history than the engine's own backtest rule asks of a fit
  (two seasons, and at least half of the series before the test window).

The configuration is rebuilt through the forecasting engine's own ``prepare`` (same cleaning,
frequency, season, horizon and lag limits) and the saved recipe: one model, or the mean/median of
several (members named ``model__param`` in sweeps). Only the machine-learning models on lags that
sample rows (LightGBM, XGBoost) have a seed; the statistical models and the ridge regression are
deterministic. Sensitivity sweeps each model's search space (lag sets, differencing, learning
rate, seasonal or not...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import DataError, ModelError
from automlops.stability.adapter_kit import (
    RecordingSuggest,
    lake_frame,
    model_ref,
    require_columns,
    sweeps_from,
    to_distributions,
)
from automlops.stability.types import Resample, Sweep

__all__ = ["ForecastSubject", "saved_subject"]

RANDOM_MODELS = frozenset({"lightgbm", "xgboost"})


class ForecastSubject:
    """A forecasting recipe on its series, refitted at several forecast origins (see the module docstring)."""

    kind = "forecasting"
    direction = "minimize"

    def __init__(self, long: pd.DataFrame, members: Sequence[tuple[str, Mapping[str, Any]]], *, combine: str,
                 weights: Sequence[float], h: int, ctx: Any, season: int, metric: str = "mase", seed: int = 0,
                 min_train: int | None = None, fit_seconds: float | None = None) -> None:
        self.long = long.reset_index(drop=True)
        self.members = [(str(m), dict(p)) for m, p in members]
        self.combine, self.weights, self.h, self.ctx = combine, tuple(weights), int(h), ctx
        self.season, self.metric, self.seed, self.fit_seconds = int(season), metric, int(seed), fit_seconds
        self.min_train = int(min_train if min_train is not None else ctx.min_length)
        names = [m for m, _ in self.members]
        self.label = names[0] if len(names) == 1 else f"{combine}({', '.join(names)})"
        self.search_model = names[0]
        self.params = dict(self.members[0][1]) if self._single else {
            f"{m}__{k}": v for m, p in self.members for k, v in p.items()}

    @property
    def _single(self) -> bool:
        return len(self.members) == 1

    # ------------------------------------------------------------------ splits
    def _pfe(self) -> np.ndarray:
        from automlops.forecasting.backtest import position_from_end

        return position_from_end(self.long)

    def _cut(self, offset: int, pfe: np.ndarray, label: str) -> Resample:
        train = np.flatnonzero(pfe > offset)
        test = np.flatnonzero((pfe <= offset) & (pfe > offset - self.h))
        return Resample(train, test, label)

    def _offsets(self, k: int) -> tuple[list[int], int]:
        shortest = int(self.long.groupby("unique_id", sort=False).size().min())
        latest = shortest - self.min_train  # the largest offset that still leaves min_train points to fit on
        if latest - self.h < k - 1:
            fit = max(1, latest - self.h + 1)
            raise DataError(f"only {fit} forecast origin(s) fit in the history: each needs {self.h} point(s) to "
                            f"forecast and at least {self.min_train} before it to fit on, and the shortest series "
                            f"has {shortest}; ask for at most {fit} splits")
        step = max(1, min(self.h, (latest - self.h) // max(1, k - 1)))
        return [self.h + j * step for j in range(k)], step

    def resampling(self, k: int, seed: int) -> tuple[str, list[Resample]]:
        offsets, step = self._offsets(k)
        pfe = self._pfe()
        ends = self.long["ds"]
        cuts = [self._cut(o, pfe, "") for o in offsets]
        cuts = [Resample(c.train, c.test, f"origin {pd.Timestamp(ends.iloc[c.train].max()).date()}") for c in cuts]
        return (f"{k} expanding-window forecast origins {step} step(s) apart, the latest being the test window: each "
                f"refit learns only from the points before its origin and forecasts the next {self.h} (seeds do not "
                "change the origins: time order fixes them)", cuts)

    def reference_split(self) -> Resample:
        """The test window: the last ``h`` points of every series, forecast from all before them."""
        return self._cut(self.h, self._pfe(), "the test window")

    def has_randomness(self) -> bool:
        return any(m in RANDOM_MODELS for m, _ in self.members)

    # ------------------------------------------------------------------ sensitivity
    def _spaces(self) -> list[dict[str, Any]]:
        from automlops.forecasting.models import FORECAST_MODELS

        out = []
        for model, params in self.members:
            recorder = RecordingSuggest(params)
            FORECAST_MODELS.get(model).space(recorder, self.ctx)  # type: ignore[arg-type]
            out.append(recorder.spaces)
        return out

    def sweeps(self, points: int) -> list[Sweep]:
        return [s for spaces, (model, params) in zip(self._spaces(), self.members, strict=True)
                for s in sweeps_from(spaces, params, points, prefix="" if self._single else f"{model}__")]

    def search_distributions(self) -> dict[str, Any]:
        return to_distributions(self._spaces()[0])

    # ------------------------------------------------------------------ one refit
    def _with(self, params: Mapping[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for model, own in self.members:
            prefix = "" if self._single else f"{model}__"
            changed = {k[len(prefix):]: v for k, v in (params or {}).items() if k.startswith(prefix)
                       and (prefix or "__" not in k)}
            out.append((model, {**own, **changed}))
        return out

    def _forecast(self, train: pd.DataFrame, actual: pd.DataFrame, params: Mapping[str, Any] | None,
                  seed: int) -> np.ndarray:
        from automlops.forecasting.intervals import combine_forecasts
        from automlops.forecasting.models import FORECAST_MODELS

        ctx = dataclasses.replace(self.ctx, seed=seed)
        columns = []
        for model, p in self._with(params):
            spec = FORECAST_MODELS.get(model)
            out = spec.fit(train, p, ctx).predict(self.h, actual if spec.uses_exogenous else None)
            merged = actual[["unique_id", "ds"]].merge(out, on=["unique_id", "ds"], how="left")
            yhat = merged["yhat"].to_numpy(dtype=float)
            if not np.all(np.isfinite(yhat)):
                raise ModelError(f"{model} gave no finite forecast for some steps after this origin")
            columns.append(yhat)
        return combine_forecasts(np.column_stack(columns), self.combine, self.weights)

    def fit_score(self, resample: Resample, *, seed: int, params: Mapping[str, Any] | None = None,
                  deadline: float | None = None) -> float:
        """Fit on the points before the origin, forecast the next ``h``, score them like the test window."""
        from automlops.forecasting.backtest import FORECAST_METRICS, fold_scores, naive_scale
        from automlops.search.deadline import interrupt_at

        train, actual = self.long.iloc[resample.train], self.long.iloc[resample.test]
        with interrupt_at(deadline):
            yhat = self._forecast(train, actual, params, seed)
        scales = {uid: naive_scale(g.to_numpy(), self.season) for uid, g in train.groupby("unique_id", sort=False)["y"]}
        frame = actual[["unique_id", "ds", "y"]].assign(fold=0, yhat=yhat, scale=actual["unique_id"].map(scales))
        return float(fold_scores(frame, FORECAST_METRICS.get(self.metric))[0])


def _recipe(meta: Mapping[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], str, list[float]]:
    """The saved members, how their forecasts are combined, and their weights."""
    from automlops.forecasting.models import FORECAST_MODELS

    params = dict(meta.get("best_params") or {})
    if isinstance(params.get("members"), list):
        members = [(str(m["model"]), {k: v for k, v in m.items() if k != "model"}) for m in params["members"]]
        combine, weights = str(params.get("combine", "mean")), [float(w) for w in params.get("weights") or []]
    else:
        members, combine, weights = [(str(meta.get("best_model")), params)], "single", []
    unknown = [m for m, _ in members if m not in FORECAST_MODELS]
    if unknown:
        raise ModelError(f"{model_ref(meta)} uses forecasting model(s) {', '.join(unknown)}, which this version of "
                         "the studio does not have")
    return members, combine, weights


def saved_subject(loaded: Any) -> ForecastSubject:
    """The stability subject of a saved forecaster (:class:`~automlops.mlops.store.LoadedModel`)."""
    from automlops.forecasting.engine import ForecastingEngine
    from automlops.search.engine import DecisionLog

    meta = loaded.meta
    members, combine, weights = _recipe(meta)
    frame = lake_frame(meta)
    target, time_column, series_id = meta.get("target"), meta.get("time_column"), meta.get("series_id")
    if not target or not time_column:
        raise ModelError(f"{model_ref(meta)} does not record its target and time column; it cannot be refitted")
    require_columns(frame, [str(target), str(time_column), *([series_id] if series_id else []),
                            *(meta.get("exogenous") or [])], meta)
    engine = ForecastingEngine(str(target), str(time_column), series_id=series_id, horizon=meta.get("horizon"),
                               freq=meta.get("freq"), metric=meta.get("metric"), preset=str(meta.get("preset") or
                               "medium"), seed=int(meta.get("seed") or 0))
    engine.prepare(frame, DecisionLog(lambda event: None, lambda: 0.0, lambda: None))
    timing = sum(float(r.get("fit_seconds") or 0.0) for r in meta.get("leaderboard") or []
                 if r.get("model") in {m for m, _ in members} and np.isfinite(float(r.get("fit_seconds") or 0.0)))
    # the engine's own rule for how much history a backtest fit needs: two seasons, and half the series
    min_train = max(2 * engine.season if engine.season > 1 else 3, (int(engine.data.lengths.min()) - engine.h) // 2)
    return ForecastSubject(engine.data.long, members, combine=combine, weights=weights, h=engine.h, ctx=engine.ctx,
                           season=engine.data.season, metric=engine.metric, seed=int(meta.get("seed") or 0),
                           min_train=min_train, fit_seconds=timing or None)
