"""Ensembles: several models are often better than the best one alone.

* **Voting** – every member predicts and the votes are combined. *Hard* voting counts predicted
  labels (majority wins); *soft* voting averages class probabilities (confidence counts), which
  is usually better when the members' probabilities are sensible. For regression, predictions
  are averaged. Optional weights let a stronger member count more.
* **Weighted** (Caruana's *ensemble selection*, AutoGluon's default) – start from the best model
  and, round after round, add (with replacement) whichever model most improves the out-of-fold
  score of the average. A model picked 12 times out of 25 gets weight 12/25; weak or redundant
  models are never picked. It is a weighted soft vote whose weights were *learned* on the
  out-of-fold predictions, and it never scores below the best single model there.
* **Stacking** – a *meta-model* (e.g. logistic regression) learns how to combine the members'
  predictions. To avoid learning from predictions on rows the members memorised, the meta-model
  is trained on *out-of-fold* predictions.

Both are judged before they are fitted, from the members' out-of-fold predictions collected
during the search (see ``evaluate.py``): averaging them *is* soft voting; fitting the meta-model
on them by cross-validation *is* stacking. Only the winner is refitted on all training rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import StackingClassifier, StackingRegressor, VotingClassifier, VotingRegressor
from sklearn.model_selection import cross_val_predict

from automlops.core.metrics import MetricSpec, score
from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.errors import ConfigError
from automlops.tabular.evaluate import OutOfFold

__all__ = ["ENSEMBLE_CHOICES", "ENSEMBLE_KINDS", "META_MODELS", "SELECTION_ROUNDS", "EnsembleConfig",
           "build_ensemble", "ensemble_selection", "oof_ensemble_predictions", "resolve_ensemble"]

ENSEMBLE_KINDS = ("none", "voting", "weighted", "stacking")
ENSEMBLE_CHOICES = ("auto", *ENSEMBLE_KINDS)  # what a user may ask: "auto" is the preset's choice
STACKING_CV = 5  # inner folds that produce the meta-model's training data
SELECTION_ROUNDS = 25  # rounds of Caruana's ensemble selection (AutoGluon's default)
SELECTION_POOL = 6  # ensemble selection chooses among the best trial of this many model families


def _meta_logistic(problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, random_state=seed)


def _meta_ridge(problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=np.logspace(-3, 3, 13))


def _meta_forest(problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if problem.task is TaskType.CLASSIFICATION else RandomForestRegressor
    return cls(n_estimators=200, min_samples_leaf=5, random_state=seed, n_jobs=2)


META_MODELS: Registry[tuple[frozenset[TaskType], object]] = Registry("meta-model")
META_MODELS.add("logistic", (frozenset({TaskType.CLASSIFICATION}), _meta_logistic))
META_MODELS.add("ridge", (frozenset({TaskType.REGRESSION}), _meta_ridge))
META_MODELS.add("random_forest", (frozenset({TaskType.CLASSIFICATION, TaskType.REGRESSION}), _meta_forest))


@dataclass(frozen=True)
class EnsembleConfig:
    """What the user asked for: kind, voting style and weights, meta-model, members."""

    kind: str = "none"
    voting: str = "soft"  # soft | hard (classification only)
    weights: tuple[float, ...] | None = None
    meta_model: str | None = None
    members: tuple[str, ...] | None = None  # model names; None = the top-k of the search
    top_k: int = 3

    def validate(self, problem: Problem, needs_proba: bool) -> None:
        if self.kind not in ENSEMBLE_KINDS:
            raise ConfigError(f"unknown ensemble '{self.kind}'; choose one of: {', '.join(ENSEMBLE_KINDS)}")
        if self.voting not in ("soft", "hard"):
            raise ConfigError("voting must be 'soft' or 'hard'")
        if self.kind == "voting" and self.voting == "hard" and needs_proba:
            raise ConfigError("hard voting gives labels, not probabilities; use soft voting or a label metric "
                              "such as accuracy or f1")
        if self.weights is not None and self.members is not None and len(self.weights) != len(self.members):
            raise ConfigError(f"{len(self.weights)} weights given for {len(self.members)} ensemble members")
        if self.weights is not None and any(w < 0 for w in self.weights):
            raise ConfigError("ensemble weights must not be negative")
        if self.meta_model is not None:
            tasks, _ = META_MODELS.get(self.meta_model)
            if problem.task not in tasks:
                raise ConfigError(f"meta-model '{self.meta_model}' cannot do {problem.task.value}")

    def meta_name(self, problem: Problem) -> str:
        if self.meta_model:
            return self.meta_model
        return "logistic" if problem.task is TaskType.CLASSIFICATION else "ridge"


def resolve_ensemble(asked: str | EnsembleConfig, preset_kind: str, preset_top_k: int
                     ) -> tuple[EnsembleConfig, bool]:
    """The ensemble to try, and whether it is the preset's (kept only if it wins) or the user's.

    ``"auto"`` means the preset's choice; ``"none"`` means no ensemble at all, whatever the preset.
    """
    if isinstance(asked, EnsembleConfig):
        return asked, False
    if asked not in ENSEMBLE_CHOICES:
        raise ConfigError(f"unknown ensemble '{asked}'; choose one of: {', '.join(ENSEMBLE_CHOICES)}")
    if asked == "auto":
        return EnsembleConfig(kind=preset_kind, top_k=max(preset_top_k, 2)), True
    return EnsembleConfig(kind=asked, top_k=SELECTION_POOL if asked == "weighted" else 3), False


def _meta_estimator(config: EnsembleConfig, problem: Problem, seed: int) -> BaseEstimator:
    _, factory = META_MODELS.get(config.meta_name(problem))
    return factory(problem, seed)  # type: ignore[operator]


def build_ensemble(config: EnsembleConfig, members: Sequence[tuple[str, BaseEstimator]], problem: Problem,
                   seed: int, *, cv: int = STACKING_CV) -> BaseEstimator:
    """The scikit-learn Voting/Stacking estimator over (name, unfitted pipeline) members."""
    is_cls = problem.task is TaskType.CLASSIFICATION
    weights = list(config.weights) if config.weights is not None else None
    if config.kind in ("voting", "weighted"):  # weighted = a soft vote with learned weights
        if is_cls:
            return VotingClassifier(list(members), voting=config.voting, weights=weights)
        return VotingRegressor(list(members), weights=weights)
    if config.kind == "stacking":
        meta = _meta_estimator(config, problem, seed)
        if is_cls:
            return StackingClassifier(list(members), final_estimator=meta, cv=cv, stack_method="predict_proba")
        return StackingRegressor(list(members), final_estimator=meta, cv=cv)
    raise ConfigError(f"cannot build an ensemble of kind '{config.kind}'")


def _aligned(oofs: Sequence[OutOfFold]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Restrict every member's out-of-fold rows to the rows all of them predicted, in one order."""
    common = set(oofs[0].rows.tolist())
    for o in oofs[1:]:
        common &= set(o.rows.tolist())
    rows = np.array(sorted(common))
    orders = [np.searchsorted(o.rows, rows, sorter=np.argsort(o.rows)) for o in oofs]
    positions = [np.argsort(o.rows)[idx] for o, idx in zip(oofs, orders, strict=True)]
    folds = oofs[0].folds[positions[0]]
    return rows, folds, positions


def oof_ensemble_predictions(config: EnsembleConfig, oofs: Sequence[OutOfFold], problem: Problem, y: np.ndarray,
                             seed: int) -> OutOfFold:
    """What the ensemble would have predicted out of fold, computed from its members' predictions."""
    rows, folds, pos = _aligned(oofs)
    is_cls = problem.task is TaskType.CLASSIFICATION
    classes = np.asarray(problem.classes)
    weights = np.asarray(config.weights if config.weights is not None else [1.0] * len(oofs), dtype=float)
    if config.kind in ("voting", "weighted"):
        if is_cls and config.voting == "hard":
            votes = np.zeros((len(rows), len(classes)))
            for w, o, p in zip(weights, oofs, pos, strict=True):
                votes[np.arange(len(rows)), np.searchsorted(classes, o.pred[p])] += w
            return OutOfFold(rows, folds, classes[votes.argmax(axis=1)], None)
        if is_cls:
            proba = sum(w * o.proba[p] for w, o, p in zip(weights, oofs, pos, strict=True)) / weights.sum()  # type: ignore[index]
            return OutOfFold(rows, folds, classes[np.asarray(proba).argmax(axis=1)], np.asarray(proba))
        pred = sum(w * o.pred[p] for w, o, p in zip(weights, oofs, pos, strict=True)) / weights.sum()
        return OutOfFold(rows, folds, np.asarray(pred, dtype=float), None)
    # stacking: the meta-model learns from the members' out-of-fold outputs, scored out of fold too
    if is_cls:
        features = np.hstack([o.proba[p][:, 1:] if len(classes) == 2 else o.proba[p]  # type: ignore[index]
                              for o, p in zip(oofs, pos, strict=True)])
    else:
        features = np.column_stack([o.pred[p] for o, p in zip(oofs, pos, strict=True)])
    meta = _meta_estimator(config, problem, seed)
    splits: Any = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in np.unique(folds)]
    if len(splits) < 2:  # one holdout: use 5-fold inside the holdout rows
        splits = 5
    method = "predict_proba" if is_cls else "predict"
    out = cross_val_predict(meta, features, y[rows], cv=splits, method=method)
    if is_cls:
        return OutOfFold(rows, folds, classes[out.argmax(axis=1)], out)
    return OutOfFold(rows, folds, out, None)


def ensemble_selection(oofs: Sequence[OutOfFold], problem: Problem, y: np.ndarray, metric: MetricSpec,
                       rounds: int = SELECTION_ROUNDS) -> np.ndarray:
    """Caruana et al. (2004) ensemble selection: how many times each member is picked.

    ``y`` is the search data's target (all rows); the members' out-of-fold rows index it. Each round adds the member whose inclusion gives the best score (a member may be added again:
    that is how weights arise). The weights of the best round are returned, so the result is never
    worse out of fold than the best single member (round 1 picks exactly that member).
    """
    rows, _, pos = _aligned(oofs)
    is_cls = problem.task is TaskType.CLASSIFICATION
    classes, truth, maximize = np.asarray(problem.classes), y[rows], problem.direction == "maximize"
    outputs: list[np.ndarray] = [np.asarray(o.proba[p] if is_cls else o.pred[p], dtype=float)  # type: ignore[index,type-var]
                                 for o, p in zip(oofs, pos, strict=True)]

    def judge(mean: np.ndarray) -> float:
        if is_cls:
            return score(metric, truth, classes[mean.argmax(axis=1)], mean, list(classes))
        return score(metric, truth, mean, None, [])

    counts = np.zeros(len(oofs), dtype=int)
    total: np.ndarray = np.zeros(outputs[0].shape, dtype=float)
    best_counts, best_score = counts.copy(), None
    for n in range(1, rounds + 1):
        trial_scores = [judge((total + out) / n) for out in outputs]
        pick = int(np.argmax(trial_scores) if maximize else np.argmin(trial_scores))
        counts[pick] += 1
        total += outputs[pick]
        value = trial_scores[pick]
        if best_score is None or (value > best_score if maximize else value < best_score):
            best_counts, best_score = counts.copy(), value
    return best_counts
