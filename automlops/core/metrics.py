"""Metrics: how a model is scored, and in which direction "better" points.

Each metric is registered once with its direction (maximize accuracy, minimize RMSE) and
whether it needs class probabilities (ROC-AUC and log-loss judge *confidence*, not only the
predicted label). The search, the leaderboard and the final test all score through here.

A metric reads what it needs from one small :class:`MetricContext`: the true and predicted
values, probabilities and classes for supervised tasks, but also the features (silhouette
needs them), the history of a series (MASE scales by it) or masks and boxes (IoU, mAP), so
every engine's metrics fit the same :class:`MetricSpec` shape in their own registry.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm

from automlops.core.problem import TaskType
from automlops.core.registry import Registry
from automlops.errors import ConfigError

__all__ = ["METRICS", "MetricContext", "MetricSpec", "get_metric", "metrics_for", "score", "score_all"]


@dataclass(frozen=True)
class MetricContext:
    """Everything a metric may look at; each metric reads only the fields it needs."""

    y_true: np.ndarray | None = None
    pred: np.ndarray | None = None
    proba: np.ndarray | None = None
    classes: Sequence[object] = ()
    X: Any = None  # features (clustering scores such as silhouette)
    history: np.ndarray | None = None  # past values of a series (MASE)
    extra: Mapping[str, Any] = field(default_factory=dict)  # masks, boxes, ... for other engines


ScoreFn = Callable[[MetricContext], float]


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    direction: str  # "maximize" or "minimize"
    tasks: tuple[TaskType, ...]
    needs_proba: bool
    fn: ScoreFn
    explanation: str
    # A proper scoring rule on the probabilities themselves (log-loss), not only on their order (ROC-AUC)
    # or on labels: a confident wrong answer costs without bound, so models must not claim certainty.
    scores_confidence: bool = False

    @property
    def greater_is_better(self) -> bool:
        return self.direction == "maximize"


METRICS: Registry[MetricSpec] = Registry("metric")
_CLS = (TaskType.CLASSIFICATION,)
_REG = (TaskType.REGRESSION, TaskType.TIMESERIES)


def _add(name: str, label: str, direction: str, tasks: tuple[TaskType, ...], needs_proba: bool,
         explanation: str, *, scores_confidence: bool = False) -> Callable[[ScoreFn], ScoreFn]:
    def decorator(fn: ScoreFn) -> ScoreFn:
        METRICS.add(name, MetricSpec(name, label, direction, tasks, needs_proba, fn, explanation, scores_confidence))
        return fn

    return decorator


@_add("accuracy", "Accuracy", "maximize", _CLS, False, "share of rows whose class is predicted right")
def _accuracy(c: MetricContext) -> float:
    return float(skm.accuracy_score(c.y_true, c.pred))


@_add("balanced_accuracy", "Balanced accuracy", "maximize", _CLS, False,
      "accuracy averaged over classes, so a rare class counts as much as a common one")
def _balanced_accuracy(c: MetricContext) -> float:
    return float(skm.balanced_accuracy_score(c.y_true, c.pred))


@_add("f1", "F1", "maximize", _CLS, False,
      "harmonic mean of precision and recall (binary; macro-averaged for several classes)")
def _f1(c: MetricContext) -> float:
    if len(c.classes) == 2:
        return float(skm.f1_score(c.y_true, c.pred, pos_label=c.classes[1]))
    return float(skm.f1_score(c.y_true, c.pred, average="macro"))


@_add("f1_macro", "F1 (macro)", "maximize", _CLS, False, "F1 computed per class, then averaged")
def _f1_macro(c: MetricContext) -> float:
    return float(skm.f1_score(c.y_true, c.pred, average="macro"))


@_add("roc_auc", "ROC-AUC", "maximize", _CLS, True,
      "chance that a random positive is ranked above a random negative (one-vs-rest if multiclass)")
def _roc_auc(c: MetricContext) -> float:
    assert c.proba is not None
    y_true, proba = np.asarray(c.y_true), np.asarray(c.proba, dtype=float)
    if len(c.classes) == 2:
        fast = _auc_by_ranks(y_true == c.classes[1], proba[:, 1])
        return fast if fast is not None else float(skm.roc_auc_score(y_true == c.classes[1], proba[:, 1]))
    if np.allclose(proba.sum(axis=1), 1.0) and np.isin(y_true, np.asarray(c.classes, dtype=object)).all():
        per_class = [_auc_by_ranks(y_true == k, proba[:, i]) for i, k in enumerate(c.classes)]
        defined = [a for a in per_class if a is not None]
        # one-vs-rest, macro average: sklearn's number. A class absent from these rows has no AUC and is
        # left out of the average (sklearn answers NaN: 98 destinations, a few not in the test rows)
        if defined and all(a is not None or not (y_true == k).any() for a, k in zip(per_class, c.classes, strict=True)):
            return float(np.mean(defined))
    return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(c.classes)))


def _auc_by_ranks(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC-AUC as the Mann-Whitney statistic: the share of (positive, negative) pairs that the scores
    order right, ties counting half, read off the ranks of the scores in one sort.

    The same number as ``sklearn.metrics.roc_auc_score`` at a fraction of its cost (no input
    validation, no curve): ensemble selection scores hundreds of candidate blends. ``None`` where
    scikit-learn must answer instead (one class only, or non-finite scores: it raises a clear error).
    """
    is_positive = np.asarray(is_positive, dtype=bool)
    n_pos = int(is_positive.sum())
    n_neg = len(is_positive) - n_pos
    if n_pos == 0 or n_neg == 0 or not np.isfinite(scores).all():
        return None
    ranks = rankdata(scores)  # tied scores share their average rank
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@_add("log_loss", "Log-loss", "minimize", _CLS, True,
      "how surprised the model is by the true class; punishes confident mistakes", scores_confidence=True)
def _log_loss(c: MetricContext) -> float:
    assert c.proba is not None
    # XGBoost answers float32 probabilities: rows sum to 1 within ~1e-7, and scikit-learn warns (on the
    # user's terminal, for every blend ensemble selection scores) below 1.5e-8. Rows are renormalised.
    proba = np.clip(np.asarray(c.proba, dtype=float), 1e-15, 1.0)
    return float(skm.log_loss(c.y_true, proba / proba.sum(axis=1, keepdims=True), labels=list(c.classes)))


@_add("rmse", "RMSE", "minimize", _REG, False, "root mean squared error, in the target's unit")
def _rmse(c: MetricContext) -> float:
    return float(np.sqrt(skm.mean_squared_error(c.y_true, c.pred)))


@_add("mae", "MAE", "minimize", _REG, False, "mean absolute error, in the target's unit")
def _mae(c: MetricContext) -> float:
    return float(skm.mean_absolute_error(c.y_true, c.pred))


@_add("r2", "R²", "maximize", _REG, False, "share of the target's variance explained (1 is perfect)")
def _r2(c: MetricContext) -> float:
    return float(skm.r2_score(c.y_true, c.pred))


@_add("mape", "MAPE", "minimize", _REG, False, "mean absolute error as a fraction of the true value")
def _mape(c: MetricContext) -> float:
    """Undefined (a ValueError: reports leave it out) where a true value is 0. scikit-learn divides by
    ~2e-16 there instead: flights' delays, 0 in a twentieth of the rows, reported a MAPE of 2.4e15."""
    if (np.asarray(c.y_true, dtype=float) == 0).any():
        raise ValueError("MAPE is undefined when a true value is 0")
    return float(skm.mean_absolute_percentage_error(c.y_true, c.pred))


def get_metric(name: str, task: TaskType | None = None) -> MetricSpec:
    """Look a metric up and check that it fits the task."""
    spec = METRICS.get(name)
    if task is not None and task not in spec.tasks:
        fits = ", ".join(m.name for m in metrics_for(task)) or "none"
        raise ConfigError(f"metric '{name}' does not apply to {task.value}; choose one of: {fits}")
    return spec


def metrics_for(task: TaskType) -> list[MetricSpec]:
    return [spec for _, spec in METRICS.items() if task in spec.tasks]


def score(metric: MetricSpec, y: np.ndarray, pred: np.ndarray | None, proba: np.ndarray | None,
          classes: Sequence[object] = ()) -> float:
    """Score predictions with one metric (``pred`` for labels/values, ``proba`` for probabilities)."""
    return metric.fn(MetricContext(np.asarray(y), pred, proba, classes))


def score_all(task: TaskType, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
              classes: Sequence[object] = ()) -> dict[str, float]:
    """Every metric of the task that can be computed from what was given."""
    out: dict[str, float] = {}
    for spec in metrics_for(task):
        if spec.needs_proba and proba is None:
            continue
        try:
            with warnings.catch_warnings():  # a report, not a failure: scikit-learn's notes stay out of the output
                warnings.simplefilter("ignore")
                out[spec.name] = score(spec, y, pred, proba, classes)
        except ValueError:  # e.g. MAPE with zeros is fine, AUC with one class present is not
            continue
    return out
