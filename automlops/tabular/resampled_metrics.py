"""The run's metric on many bootstrap resamples at once, as weighted sums (no loop over resamples).

A bootstrap resample of ``n`` rows draws each row ``c_i`` times (``c`` follows a multinomial
distribution), so a metric on the resample is the metric on all rows *weighted* by ``c``. For the
metrics of :mod:`automlops.core.metrics` these weighted versions are sums, so ``B`` resamples are one
matrix product with the ``B × n`` count matrix instead of ``B`` calls to scikit-learn (which cost
~10 ms each on a few thousand rows, for log-loss: seconds for a leaderboard):

* accuracy, log-loss, MAE, RMSE, MAPE: a weighted mean of a per-row loss (RMSE: its square root);
* R²: ``1 - Σ c (y - ŷ)² / Σ c (y - ȳ_c)²``, with the resample's own mean ``ȳ_c``;
* balanced accuracy, F1, macro F1: from weighted confusion counts, per class;
* ROC-AUC: the Mann–Whitney form, ``P(score of a positive > score of a negative)`` (ties count
  half), with weighted counts of negatives below each distinct score; one-vs-rest macro average
  for several classes.

With all counts equal to 1 each function gives exactly the metric of
:func:`automlops.core.metrics.score` (a test checks it); ``None`` for a metric it does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["resampled_scores"]

Batch = Callable[[np.ndarray], np.ndarray]
_EPS = float(np.finfo(np.float64).eps)


def _weighted_mean(per_row: np.ndarray) -> Batch:
    return lambda counts: (counts @ per_row) / counts.sum(axis=1)


def _r2(y: np.ndarray, pred: np.ndarray) -> Batch:
    def batch(counts: np.ndarray) -> np.ndarray:
        total = counts.sum(axis=1)
        mean = (counts @ y) / total
        spread = counts @ (y * y) - total * mean * mean
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - (counts @ ((y - pred) ** 2)) / spread

    return batch


def _per_class_counts(counts: np.ndarray, truth: np.ndarray, pred: np.ndarray, k: object
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted true positives, false positives and false negatives of class ``k``."""
    is_true, is_pred = (truth == k).astype(float), (pred == k).astype(float)
    tp = counts @ (is_true * is_pred)
    return tp, counts @ ((1 - is_true) * is_pred), counts @ (is_true * (1 - is_pred))


def _f1_of(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1.0), 0.0)


def _f1_macro(truth: np.ndarray, pred: np.ndarray) -> Batch:
    labels = np.unique(np.concatenate([truth, pred]))

    def batch(counts: np.ndarray) -> np.ndarray:
        parts = [_per_class_counts(counts, truth, pred, k) for k in labels]
        present = np.stack([(tp + fp + fn) > 0 for tp, fp, fn in parts])  # sklearn: labels seen in the sample
        f1 = np.stack([_f1_of(*p) for p in parts])
        return (f1 * present).sum(axis=0) / present.sum(axis=0)

    return batch


def _balanced_accuracy(truth: np.ndarray, pred: np.ndarray) -> Batch:
    labels = np.unique(truth)

    def batch(counts: np.ndarray) -> np.ndarray:
        recalls, present = [], []
        for k in labels:
            tp, _, fn = _per_class_counts(counts, truth, pred, k)
            support = tp + fn
            present.append(support > 0)
            recalls.append(np.where(support > 0, tp / np.where(support > 0, support, 1.0), 0.0))
        mask = np.stack(present)
        return (np.stack(recalls) * mask).sum(axis=0) / mask.sum(axis=0)

    return batch


def _auc(positive: np.ndarray, scores: np.ndarray) -> Batch:
    """Weighted Mann–Whitney AUC of ``scores`` for the boolean ``positive`` rows."""
    order = np.argsort(scores, kind="stable")
    _, starts = np.unique(scores[order], return_index=True)  # groups of tied scores, ascending
    pos = positive[order].astype(float)

    def batch(counts: np.ndarray) -> np.ndarray:
        sorted_counts = counts[:, order]
        pos_g = np.add.reduceat(sorted_counts * pos, starts, axis=1)
        neg_g = np.add.reduceat(sorted_counts * (1 - pos), starts, axis=1)
        below = np.cumsum(neg_g, axis=1) - neg_g
        with np.errstate(divide="ignore", invalid="ignore"):
            return (pos_g * (below + 0.5 * neg_g)).sum(axis=1) / (pos_g.sum(axis=1) * neg_g.sum(axis=1))

    return batch


def _roc_auc(truth: np.ndarray, proba: np.ndarray, classes: Sequence[object]) -> Batch:
    if len(classes) == 2:
        return _auc(truth == classes[1], proba[:, 1])
    per_class = [_auc(truth == k, proba[:, i]) for i, k in enumerate(classes)]
    return lambda counts: np.mean([f(counts) for f in per_class], axis=0)


def resampled_scores(metric: str, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
                     classes: Sequence[object]) -> Batch | None:
    """``batch(counts)`` → the metric on each resample (one row of ``counts`` per resample), or None."""
    y, pred = np.asarray(y), np.asarray(pred)
    if metric == "accuracy":
        return _weighted_mean((y == pred).astype(float))
    if metric == "log_loss" and proba is not None:
        index = np.searchsorted(np.asarray(classes), y)
        return _weighted_mean(-np.log(np.clip(proba, 1e-15, 1.0)[np.arange(len(y)), index]))
    if metric == "roc_auc" and proba is not None:
        return _roc_auc(y, proba, classes)
    if metric == "balanced_accuracy":
        return _balanced_accuracy(y, pred)
    if metric == "f1" and len(classes) == 2:
        return lambda counts: _f1_of(*_per_class_counts(counts, y, pred, classes[1]))
    if metric in ("f1", "f1_macro"):
        return _f1_macro(y, pred)
    if metric in ("rmse", "mae", "mape", "r2"):
        y, pred = y.astype(float), pred.astype(float)
        if metric == "rmse":
            mse = _weighted_mean((y - pred) ** 2)
            return lambda counts: np.sqrt(mse(counts))
        if metric == "mae":
            return _weighted_mean(np.abs(y - pred))
        if metric == "mape":
            return _weighted_mean(np.abs(y - pred) / np.maximum(np.abs(y), _EPS))
        return _r2(y, pred)
    return None
