"""Scoring one candidate on the backtest's cut-offs, under the search's deadline.

For each cut-off (oldest first) the candidate is fitted on the rows before it and forecasts the
rows after it; the selection metric of that fold is reported to Optuna, so a pruner can stop a
weak candidate after one or two cut-offs. A trial is only scored on all its folds, never on fewer,
so one that cannot finish by the deadline is stopped as soon as that is known: before its first
fold when the same model already showed its cost per fold (TPE may propose it again), and after
each fold when the folds left, at the mean time of those done, would end past the deadline. A fit
still running at the deadline is interrupted (:mod:`automlops.search.deadline`).

A statistical model fits one small model per series, so on many series its first fold can be
priced before it is paid for: the model is fitted on one series (which also compiles its numba
code), then timed on a second, and that time × the number of series is its cost per fold
(:meth:`Backtester._price`). On 67 daily series AutoARIMA takes ~136 s per cut-off and AutoETS
~9 s: at a 60 s budget AutoETS used to run three of its five folds (29 s) before it was stopped,
and AutoARIMA ran until the deadline; now each is priced in about a second and left out when its
five folds cannot end in time, and the time goes to models that can.

What the ensemble step needs later – every fold's forecasts and interval bounds – travels as the
trial's *payload* (compressed arrays in the study), aligned with the fixed order of the backtest
rows, so any worker can average the best models' forecasts without refitting them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automlops.core.metrics import MetricSpec
from automlops.core.registry import Registry
from automlops.errors import ModelError
from automlops.forecasting.backtest import (
    Fold,
    cross_fitted_bands,
    fold_scores,
    naive_scale,
    position_from_end,
    score_table,
    split_fold,
)
from automlops.forecasting.intervals import combine_forecasts
from automlops.forecasting.models import FORECAST_MODELS, Context
from automlops.search.deadline import DeadlineExceeded, interrupt_at
from automlops.search.engine import Candidate, Evaluation
from automlops.search.trials import pack_arrays, unpack_arrays

__all__ = ["Backtester", "FoldData", "TimeBudgetExceeded"]

BOUNDS = ("lo80", "hi80", "lo95", "hi95")
PRICE_MIN_SERIES = 8  # with fewer series a fold costs at most a few one-series fits: it is not priced first


class TimeBudgetExceeded(optuna.TrialPruned):
    """The trial was stopped (or not continued) because the search's deadline came."""


@dataclass(frozen=True)
class FoldData:
    fold: Fold
    train: pd.DataFrame
    actual: pd.DataFrame  # the rows to forecast, with exogenous values (known in advance)


class Backtester:
    """Expanding-window backtest of candidates on the rows before the test window."""

    def __init__(self, rest: pd.DataFrame, folds: Sequence[Fold], ctx: Context, season: int,
                 metric: MetricSpec, metrics: Registry[MetricSpec]) -> None:
        self.ctx, self.metric, self.metrics = ctx, metric, metrics
        pfe = position_from_end(rest)
        self.folds: list[FoldData] = []
        parts = []
        for i, fold in enumerate(folds):
            train, actual = split_fold(rest, pfe, fold)
            self.folds.append(FoldData(fold, train, actual))
            scales = {uid: naive_scale(g.to_numpy(), season) for uid, g in train.groupby("unique_id", sort=False)["y"]}
            part = actual[["unique_id", "ds", "y"]].assign(fold=i, step=actual.groupby("unique_id").cumcount() + 1)
            parts.append(part.assign(scale=part["unique_id"].map(scales)))
        self.index = pd.concat(parts, ignore_index=True)  # the fixed order of every payload's arrays
        self._cache: dict[str, Evaluation] = {}
        self._fold_seconds: dict[str, float] = {}  # each model's latest mean seconds per fold (fit + forecast)
        self.stand_ins: dict[str, set[tuple[int, str]]] = {}  # model -> (cut-off, series) where Naive stood in

    @property
    def n_steps(self) -> int:
        return len(self.folds)

    def _one_fold(self, candidate: Candidate, step: int, deadline: float | None) -> tuple[pd.DataFrame, float, float]:
        spec, data = FORECAST_MODELS.get(candidate.model), self.folds[step]
        t0 = time.perf_counter()
        try:
            with interrupt_at(deadline):
                fitted = spec.fit(data.train, candidate.params, self.ctx)
                t1 = time.perf_counter()
                out = fitted.predict(data.fold.horizon, data.actual if spec.uses_exogenous else None)
        except DeadlineExceeded:
            raise TimeBudgetExceeded(f"stopped at the time budget's deadline after {time.perf_counter() - t0:.1f} s"
                                     ) from None
        for uid in getattr(fitted, "stand_ins", ()):  # series the model could not be fitted on (models.stats_forecast)
            self.stand_ins.setdefault(candidate.model, set()).add((step, uid))
        merged = data.actual[["unique_id", "ds"]].merge(out, on=["unique_id", "ds"], how="left")
        if merged["yhat"].isna().any() or not np.isfinite(merged["yhat"].to_numpy(dtype=float)).all():
            raise ModelError(f"{candidate.model} gave no finite forecast for some backtest steps")
        return merged, t1 - t0, time.perf_counter() - t1

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        """Backtest ``candidate`` fold by fold, reporting the running mean to ``trial``."""
        key = json.dumps([candidate.model, dict(candidate.params)], sort_keys=True, default=str)
        if key in self._cache:  # a repeated configuration (small discrete spaces): same answer, no refit
            return self._cache[key]
        frames: list[pd.DataFrame] = []
        fit_t: list[float] = []
        pred_t: list[float] = []
        scores: list[float] = []
        self._price(candidate, self.folds[0], deadline)
        for step in range(self.n_steps):
            self._check_time_left(candidate.model, step, deadline)
            merged, fit_s, pred_s = self._one_fold(candidate, step, deadline)
            frames.append(merged)
            fit_t.append(fit_s)
            pred_t.append(pred_s)
            self._fold_seconds[candidate.model] = float(np.mean(fit_t) + np.mean(pred_t))
            if trial is not None:  # the new cut-off's score joins the running mean (one fold scored, not all)
                done = self._frame(frames)
                scores.append(fold_scores(done[done["fold"] == step], self.metric)[0])
                trial.report(float(np.mean(scores)), step + 1)
                if step + 1 < self.n_steps and trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after cut-off {step + 1}/{self.n_steps}")
        frame = self._frame(frames)
        if "yhat_lo_80" not in frames[0].columns:
            frame = cross_fitted_bands(frame)
        scores = fold_scores(frame, self.metric)  # again, on the whole frame: the same values when reported
        result = Evaluation(float(np.mean(scores)), float(np.std(scores)), scores, float(np.mean(fit_t)),
                            float(np.mean(pred_t)), self.encode(frame))
        self._cache[key] = result
        return result

    def _price(self, candidate: Candidate, data: FoldData, deadline: float | None) -> None:
        """Estimate a per-series model's seconds per fold from one series (see the module docstring)."""
        spec = FORECAST_MODELS.get(candidate.model)
        sizes = data.train.groupby("unique_id", sort=False).size().sort_values(kind="stable")
        if (deadline is None or spec.family != "statistical" or candidate.model in self._fold_seconds
                or len(sizes) < PRICE_MIN_SERIES):
            return
        warm_up, timed = sizes.index[0], sizes.index[len(sizes) // 2]
        try:
            with interrupt_at(deadline):
                spec.fit(data.train[data.train["unique_id"] == warm_up], candidate.params, self.ctx)
                t0 = time.perf_counter()
                spec.fit(data.train[data.train["unique_id"] == timed], candidate.params, self.ctx).predict(
                    data.fold.horizon, None)
                self._fold_seconds[candidate.model] = (time.perf_counter() - t0) * len(sizes)
        except DeadlineExceeded:
            raise TimeBudgetExceeded("stopped at the time budget's deadline while pricing the model on one series"
                                     ) from None

    def _check_time_left(self, model: str, step: int, deadline: float | None) -> None:
        """Stop a trial whose remaining folds, at its model's known cost per fold, would end past ``deadline``."""
        per_fold = self._fold_seconds.get(model)
        if deadline is None or per_fold is None:
            return
        left = self.n_steps - step
        needed = per_fold * left
        if time.monotonic() + needed > deadline:
            raise TimeBudgetExceeded(f"stopped: {left} backtest cut-off(s) left at ~{per_fold:.1f} s each would end "
                                     f"past the time budget ({max(deadline - time.monotonic(), 0.0):.1f} s left)")

    def _frame(self, frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
        """The backtest rows done so far with the forecasts (and bounds, if the model gives them)."""
        base = self.index.iloc[: sum(len(f) for f in frames)].copy()
        stacked = pd.concat(frames, ignore_index=True)
        base["yhat"] = stacked["yhat"].to_numpy(dtype=float)
        renames = {"yhat_lo_80": "lo80", "yhat_hi_80": "hi80", "yhat_lo_95": "lo95", "yhat_hi_95": "hi95"}
        for src, dst in renames.items():
            if src in stacked.columns:
                base[dst] = stacked[src].to_numpy(dtype=float)
        return base

    @staticmethod
    def encode(frame: pd.DataFrame) -> str:
        arrays = {"yhat": frame["yhat"].to_numpy(float)}
        arrays |= {b: frame[b].to_numpy(float) for b in BOUNDS if b in frame.columns}
        return pack_arrays(arrays)

    def decode(self, payload: str) -> pd.DataFrame:
        """A backtest frame (index columns + ``yhat`` and bounds) from a trial's payload."""
        arrays = unpack_arrays(payload)
        frame = self.index.copy()
        for name, values in arrays.items():
            frame[name] = values
        return frame

    def combine(self, frames: Sequence[pd.DataFrame], how: str, weights: Sequence[float] = ()) -> pd.DataFrame:
        """An ensemble's backtest: the members' forecasts combined (see :func:`combine_forecasts`), conformal
        bounds."""
        stack = np.column_stack([f["yhat"].to_numpy(float) for f in frames])
        frame = self.index.copy()
        frame["yhat"] = combine_forecasts(stack, how, weights)
        return cross_fitted_bands(frame)

    def record(self, label: str, frame: pd.DataFrame) -> dict[str, Any]:
        """One row of the backtest table (JSON-able)."""
        scores = score_table(frame, self.metrics)
        return {"model": label, **{k: (None if not np.isfinite(v) else round(float(v), 6)) for k, v in scores.items()},
                "cutoffs": len(self.folds)}

    def stand_in_notes(self, models: Sequence[str]) -> list[str]:
        """One sentence per model of ``models`` that Naive stood in for on some series at some cut-off."""
        notes = []
        for model in models:
            pairs = self.stand_ins.get(model)
            if not pairs:
                continue
            folds = sorted({f for f, _ in pairs})
            shortest = min(int((self.folds[f].train["unique_id"] == uid).sum()) for f, uid in pairs)
            n_series = len({uid for _, uid in pairs})
            total = self.folds[0].train["unique_id"].nunique()
            notes.append(f"{FORECAST_MODELS.get(model).label} could not be fitted on {n_series} of {total} series at "
                         f"{len(folds)} of {self.n_steps} backtest cut-off(s) (the shortest history there: {shortest} "
                         "points); Naive's forecast stood in for those series there, so part of its backtest "
                         "score is Naive's")
        return notes

    def fold_values(self, frame: pd.DataFrame) -> list[float]:
        return fold_scores(frame, self.metric)

    def residual_errors(self, frame: pd.DataFrame) -> np.ndarray:
        """Normalised absolute errors of a backtest frame (for conformal intervals of the final model)."""
        from automlops.forecasting.intervals import normalised_errors

        return normalised_errors(frame["y"], frame["yhat"], frame["scale"], frame["step"])
