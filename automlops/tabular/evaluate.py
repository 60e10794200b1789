"""Scoring one candidate: build its pipeline, fit it fold by fold, report as we go.

Each fold's score is reported to Optuna as an *intermediate value* (the running mean), which
is what lets Hyperband stop a weak trial after one or two folds. With a single holdout split
there are no folds to report, so under Hyperband the trial instead learns on 25 %, then 50 %,
then 100 % of its training rows: a *learning curve* whose early points are cheap.

Every fit runs with one OpenMP thread. LightGBM/XGBoost and scikit-learn each ship their own
OpenMP runtime; once both are loaded, their spinning worker threads fight over the cores and a
0.1 s HistGradientBoosting fit can take 6 s. On the small tables the studio targets, one thread
per fit is both faster and predictable (the time budget relies on it).

A fold that is still fitting at the search's deadline is interrupted
(:mod:`automlops.search.deadline`) and the trial is dropped: one slow trial must not break the
time budget of the whole command. Boosting is told to wrap up a little earlier
(:func:`~automlops.search.deadline.finish_by`): it keeps the trees it has, so a slow boosting trial
still finishes with a fair score. Each fold gets an equal share of the time left, so the last fold
is not the one starved.

The evaluator also keeps each model's *out-of-fold predictions* (what the model predicted for
rows it had not seen). Ensembles are judged on those for free: averaging members' out-of-fold
probabilities is exactly what soft voting would have produced, with no refitting. They travel as
the evaluation's *payload*: numeric arrays packed as text (labels as class indices), so they can
be stored in the study and read back by whichever worker builds the ensemble.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.pipeline import Pipeline

from automlops.core.metrics import MetricSpec, score
from automlops.core.problem import Problem, TaskType
from automlops.search.deadline import DeadlineExceeded, finish_by, interrupt_at
from automlops.search.engine import Candidate, Evaluation
from automlops.search.trials import pack_arrays, unpack_arrays
from automlops.tabular.boosting_clock import trees_per_round
from automlops.tabular.encodings import NATIVE_ENCODINGS, build_preprocessor, native_categorical_count
from automlops.tabular.forest_growth import fit_before_deadline
from automlops.tabular.preprocessing import FeaturePlan
from automlops.tabular.zoo import get_model

__all__ = ["Evaluator", "FoldFit", "KeptModels", "OutOfFold", "TimeBudgetExceeded", "boosted_trees", "boosters",
           "boosting_rounds", "build_pipeline", "decode_oof", "encode_oof", "one_openmp_thread",
           "predict_labels_and_proba", "predict_outputs", "trees_of", "trees_per_round"]

LEARNING_CURVE = (0.25, 0.5, 1.0)
_THREADPOOLS: Any = None


def one_openmp_thread() -> Any:
    """Context manager limiting OpenMP pools to one thread (see the module docstring)."""
    global _THREADPOOLS
    from threadpoolctl import ThreadpoolController

    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api="openmp")


def build_pipeline(candidate: Candidate, plan: FeaturePlan, problem: Problem, seed: int) -> Pipeline:
    """Preprocessing fitted for this model family, then the model itself."""
    spec = get_model(candidate.model)
    model = spec.build(dict(candidate.params), problem, seed)
    if spec.encoding in NATIVE_ENCODINGS and (n_codes := native_categorical_count(plan, spec.encoding)):
        model.set_params(**{spec.categorical_param: list(range(n_codes))})  # the leading columns are categories
    return Pipeline([
        ("prep", build_preprocessor(plan, scale=spec.scale, encoding=spec.encoding,
                                    native_missing=spec.native_missing)),
        ("model", model),
    ])


def predict_outputs(model: Any, X: pd.DataFrame, problem: Problem) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted labels/values and, for classifiers that have them, class probabilities."""
    return predict_labels_and_proba(model, X, classify=problem.task is TaskType.CLASSIFICATION)


def predict_labels_and_proba(model: Any, X: pd.DataFrame, *, classify: bool
                             ) -> tuple[np.ndarray, np.ndarray | None]:
    """One pass through the model: the label is the most probable class, so the two always agree."""
    if classify and hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(X))
        except AttributeError:  # e.g. hard voting exposes the method but cannot use it
            return np.asarray(model.predict(X)), None
        classes = np.asarray(model.classes_)
        return classes[proba.argmax(axis=1)], proba
    return np.asarray(model.predict(X)), None


@dataclass
class OutOfFold:
    """Predictions of one configuration for rows it did not learn from, and each row's fold."""

    rows: np.ndarray  # positions into the search data
    folds: np.ndarray
    pred: np.ndarray
    proba: np.ndarray | None


def encode_oof(oof: OutOfFold, problem: Problem) -> str:
    """Pack out-of-fold predictions as text; class labels become indices into ``problem.classes``."""
    pred = oof.pred
    if problem.task is TaskType.CLASSIFICATION:
        pred = np.searchsorted(np.asarray(problem.classes), pred)
    arrays = {"rows": oof.rows, "folds": oof.folds, "pred": pred}
    if oof.proba is not None:
        arrays["proba"] = oof.proba
    return pack_arrays(arrays)


def decode_oof(payload: str, problem: Problem) -> OutOfFold:
    """Inverse of :func:`encode_oof`."""
    arrays = unpack_arrays(payload)
    pred = arrays["pred"]
    if problem.task is TaskType.CLASSIFICATION:
        pred = np.asarray(problem.classes)[pred]
    return OutOfFold(arrays["rows"], arrays["folds"], pred, arrays.get("proba"))


class TimeBudgetExceeded(optuna.TrialPruned):
    """The trial was stopped (or not continued) because the search's deadline came."""


@dataclass
class FoldFit:
    """One candidate fitted on one fold ahead of its trial: what the trial needs from that fold."""

    pred: np.ndarray
    proba: np.ndarray | None
    fit_seconds: float
    predict_seconds: float
    rounds: int
    fitted: Pipeline


def _recipe_key(candidate: Candidate, fold: int) -> tuple[str, str, int]:
    return candidate.model, repr(sorted(dict(candidate.params).items())), fold


class Evaluator:
    """Cross-validates candidates on fixed splits, reporting to Optuna for pruning."""

    def __init__(self, X: pd.DataFrame, y: pd.Series, problem: Problem, plan: FeaturePlan, metric: MetricSpec,
                 splits: list[tuple[np.ndarray, np.ndarray]], *, seed: int, learning_curve: bool = False,
                 ready: dict[tuple[str, str, int], FoldFit] | None = None) -> None:
        self.X, self.y = X.reset_index(drop=True), y.reset_index(drop=True)
        self.problem, self.plan, self.metric = problem, plan, metric
        self.splits, self.seed = splits, seed
        self.learning_curve = learning_curve and len(splits) == 1
        self.classes = list(problem.classes)
        self.last_fitted: Pipeline | None = None  # the model fitted by the latest step
        self.last_rounds = 0  # the most boosting rounds a fold of the latest evaluation kept
        # fold fits made ahead (the validation's cost probe), each used once by its trial instead of a refit
        self.ready: dict[tuple[str, str, int], FoldFit] = dict(ready or {})

    def fit_fold_ahead(self, candidate: Candidate, fold: int, deadline: float | None) -> float:
        """Fit ``candidate`` on fold ``fold`` now and keep the result for its trial; return the seconds taken.

        Raises :class:`TimeBudgetExceeded` (nothing kept) if the fit is still running at ``deadline``.
        """
        train_idx, val_idx = self.splits[fold]
        self.last_rounds = 0
        pred, proba, fit_s, pred_s = self._fit_predict(candidate, train_idx, val_idx, deadline, keep=True)
        fitted, self.last_fitted = self.last_fitted, None
        assert fitted is not None
        self.ready[_recipe_key(candidate, fold)] = FoldFit(pred, proba, fit_s, pred_s, self.last_rounds, fitted)
        return fit_s + pred_s

    def take_fitted(self) -> Pipeline | None:
        """The model the latest evaluation fitted on its whole training split (one holdout split only).

        With k folds there are k models and none of them is *the* model, so nothing is returned.
        """
        fitted, self.last_fitted = self.last_fitted, None
        return fitted if len(self.splits) == 1 else None

    @property
    def n_steps(self) -> int:
        return len(LEARNING_CURVE) if self.learning_curve else len(self.splits)

    def _steps(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        if self.learning_curve:
            train, val = self.splits[0]
            rng = np.random.default_rng(self.seed)
            order = rng.permutation(train)
            return [(0, np.sort(order[: max(10, int(len(order) * f))]), val) for f in LEARNING_CURVE]
        return [(i, tr, va) for i, (tr, va) in enumerate(self.splits)]

    def _fit_predict(self, candidate: Candidate, train_idx: np.ndarray, val_idx: np.ndarray,
                     deadline: float | None = None, wrap_up: float | None = None, *, keep: bool = False,
                     fold: int = 0) -> tuple[np.ndarray, np.ndarray | None, float, float]:
        """Fit on ``train_idx`` rows, predict ``val_idx`` rows; also return fit and predict seconds.

        Interrupted (:class:`TimeBudgetExceeded`) if still running at ``deadline``; fits that can stop
        early and keep what they learnt (boosting) are asked to end by ``wrap_up``. A fit of this
        recipe on this fold made ahead (:meth:`fit_fold_ahead`) is used instead, once.
        """
        if not keep and (ahead := self.ready.pop(_recipe_key(candidate, fold), None)) is not None:
            self.last_rounds = max(self.last_rounds, ahead.rounds)
            if len(self.splits) == 1:
                self.last_fitted = ahead.fitted
            return ahead.pred, ahead.proba, ahead.fit_seconds, ahead.predict_seconds
        pipe = build_pipeline(candidate, self.plan, self.problem, self.seed)
        t0 = time.perf_counter()
        with warnings.catch_warnings(), one_openmp_thread():
            warnings.simplefilter("ignore")
            try:
                with interrupt_at(deadline), finish_by(wrap_up):
                    fit_before_deadline(pipe, self.X.iloc[train_idx], self.y.iloc[train_idx])
                    t1 = time.perf_counter()
                    pred, proba = predict_outputs(pipe, self.X.iloc[val_idx], self.problem)
                    self.last_rounds = max(self.last_rounds, boosting_rounds(pipe))
                    if keep or len(self.splits) == 1:  # with folds no single model is *the* model: hold none
                        self.last_fitted = pipe
            except DeadlineExceeded:
                raise TimeBudgetExceeded(f"stopped at the time budget's deadline after {time.perf_counter() - t0:.1f} s "
                                         "of fitting") from None
        return pred, proba, t1 - t0, time.perf_counter() - t1

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None = None,
                 deadline: float | None = None) -> Evaluation:
        """Score ``candidate`` step by step (folds, or learning-curve slices), reporting to ``trial``."""
        scores: list[float] = []
        self.last_rounds = 0
        fit_t: list[float] = []
        pred_t: list[float] = []
        parts: list[OutOfFold] = []
        for step, (fold, train_idx, val_idx) in enumerate(self._steps()):
            if deadline is not None and step > 0 and time.monotonic() + float(np.mean(fit_t)) > deadline:
                raise TimeBudgetExceeded("stopped: the next fold would not finish within the time budget")
            wrap_up = None if deadline is None else time.monotonic() + (deadline - time.monotonic()) / (
                self.n_steps - step)  # an equal share of the time left for each step still to run
            pred, proba, fit_s, pred_s = self._fit_predict(candidate, train_idx, val_idx, deadline, wrap_up,
                                                           fold=-1 if self.learning_curve else fold)
            value = score(self.metric, self.y.iloc[val_idx].to_numpy(), pred, proba, self.classes)
            fit_t.append(fit_s)
            pred_t.append(pred_s)
            scores = [value] if self.learning_curve else [*scores, value]
            if not self.learning_curve or step == self.n_steps - 1:
                parts.append(OutOfFold(val_idx, np.full(len(val_idx), fold), pred, proba))
            if trial is not None:
                trial.report(float(np.mean(scores)), step + 1)
                if step + 1 < self.n_steps and trial.should_prune():  # a finished trial is never thrown away
                    raise optuna.TrialPruned(f"pruned after step {step + 1}/{self.n_steps}")
        oof = OutOfFold(np.concatenate([p.rows for p in parts]), np.concatenate([p.folds for p in parts]),
                        np.concatenate([p.pred for p in parts]),
                        np.concatenate([p.proba for p in parts]) if parts[0].proba is not None else None)
        # the time of one fit on a whole training split: a learning curve's last step, else the mean fold
        timed = slice(-1, None) if self.learning_curve else slice(None)
        return Evaluation(float(np.mean(scores)), float(np.std(scores)), [float(s) for s in scores],
                          float(np.mean(fit_t[timed])), float(np.mean(pred_t[timed])), encode_oof(oof, self.problem))

    def score_oof(self, rows: np.ndarray, folds: np.ndarray, pred: np.ndarray,
                  proba: np.ndarray | None) -> tuple[float, float, list[float]]:
        """Score out-of-fold predictions per fold: mean, std and the fold scores."""
        y = self.y.to_numpy()[rows]
        per_fold = [score(self.metric, y[folds == f], pred[folds == f],
                          None if proba is None else proba[folds == f], self.classes)
                    for f in np.unique(folds)]
        return float(np.mean(per_fold)), float(np.std(per_fold)), [float(s) for s in per_fold]


def boosting_rounds(model: Any) -> int:
    """The rounds a boosting model kept: early stopping's, or HistGradientBoosting's (0 for any other model)."""
    if hasattr(model, "n_rounds_"):
        return int(model.n_rounds_)
    if hasattr(model, "n_trees_per_iteration_"):  # scikit-learn's HistGradientBoosting
        return int(model.n_iter_)
    if isinstance(model, Pipeline):
        return boosting_rounds(model.steps[-1][1])
    inner = getattr(model, "estimator_", None)
    return boosting_rounds(inner) if inner is not None else 0


def boosters(model: Any) -> Iterator[Any]:
    """The fitted boosting models inside ``model`` (one model, a pipeline or an ensemble's members)."""
    if hasattr(model, "n_rounds_") or hasattr(model, "n_trees_per_iteration_"):
        yield model
    elif isinstance(model, Pipeline):
        yield from boosters(model.steps[-1][1])
    elif isinstance(members := getattr(model, "estimators_", None), list):  # an ensemble (a forest's trees: none)
        for member in members:
            yield from boosters(member)
    elif (inner := getattr(model, "estimator_", None)) is not None:
        yield from boosters(inner)


def trees_of(booster: Any, n_classes: int) -> int:
    """Trees of one boosting model: rounds × trees a round adds (one per class above two classes)."""
    if hasattr(booster, "n_rounds_"):
        return int(booster.n_rounds_) * trees_per_round(n_classes)
    return int(booster.n_iter_) * int(booster.n_trees_per_iteration_)


def boosted_trees(model: Any, n_classes: int) -> int:
    """Trees of the boosting models inside ``model``. Saving the model and building a SHAP explainer
    for it cost about as many times a tree's share: thousands of trees take seconds."""
    return sum(trees_of(b, n_classes) for b in boosters(model))


class KeptModels:
    """The best holdout-validated model of each model so far, kept fitted so it need not be fitted again.

    With one holdout split, every trial's model has already been fitted on the training part of
    the split and scored on the rest. Scoring the test rows with *those* models, instead of fitting
    the recipe once more on all training rows first, saves a whole fit at the end of the search: on
    a 20k-row table a third of the post-search time (the final refit on every row still follows,
    so the shipped model loses nothing). A blend's test score needs each member's model, so the
    best of each model is held; :meth:`retain` lets go of the models the blend would not use, so
    memory grows by the few models the final choice may need.
    """

    def __init__(self, maximize: bool) -> None:
        self.maximize = maximize
        self._best: dict[str, tuple[float, Candidate, Pipeline, float]] = {}

    def offer(self, candidate: Candidate, value: float, fitted: Pipeline | None, fit_seconds: float) -> None:
        """Keep ``fitted`` if it is the best model of its kind so far."""
        if fitted is None or not np.isfinite(value):
            return
        held = self._best.get(candidate.model)
        if held is None or (value > held[0] if self.maximize else value < held[0]):
            self._best[candidate.model] = (value, Candidate(candidate.model, dict(candidate.params)), fitted,
                                           fit_seconds)

    def get(self, candidate: Candidate) -> tuple[Pipeline, float] | None:
        """The kept fitted model of exactly this recipe, and the seconds its fit took (else ``None``)."""
        held = self._best.get(candidate.model)
        if held is None or dict(held[1].params) != dict(candidate.params):
            return None
        return held[2], held[3]

    def retain(self, models: set[str]) -> None:
        """Let go of every kept model but those of ``models`` (the ones the final choice may use)."""
        for model in [m for m in self._best if m not in models]:
            del self._best[model]

    def clear(self) -> None:
        self._best = {}
