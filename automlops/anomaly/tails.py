"""ECOD and COPOD scored against the training rows only, so a row's score never depends on its batch.

ECOD and COPOD score a row by how deep it lies in the tails of each column's *empirical cumulative
distribution function* (ECDF): ``F(x)`` is the share of rows whose value is at most ``x``, and a
row far in a tail gets a large ``-log F(x)`` (or ``-log(1 - F)`` for the other tail), summed over
the columns. PyOD's ``decision_function`` rebuilds those ECDFs from the training rows **plus the rows
being scored**: the same row then scores differently alone, inside a large table, or next to many
extreme rows – a saved model would flag a row or not depending on what it was sent with.

:class:`TrainingTails` keeps the fitted detector's training scores (PyOD's ``decision_scores_``, so
the search, the calibration and the threshold are unchanged) and scores *new* rows against the
training ECDFs alone: ``F(x) = #{training values <= x} / n``, floored at ``1/n`` so a value beyond
the training range counts as extreme as the most extreme training value (an ECDF cannot tell
further apart). A training row scored again gets exactly its fit-time score, since its own value
is among the counted ones. The skewness that picks which tail counts is the training rows' too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TrainingTails", "freeze_tails"]

TAIL_DETECTORS = ("ECOD", "COPOD")  # PyOD classes whose decision_function re-fits on the scored batch


class TrainingTails:
    """A fitted ECOD/COPOD whose ``decision_function`` compares new rows with the training rows only."""

    def __init__(self, kind: str, X_train: np.ndarray, decision_scores: np.ndarray) -> None:
        from scipy.stats import skew

        if kind not in TAIL_DETECTORS:
            raise ValueError(f"TrainingTails scores ECOD or COPOD, not {kind}")
        X = np.asarray(X_train, dtype=float)
        self.kind = kind
        self.sorted_ = np.sort(X, axis=0)
        self.skew_sign_ = np.sign(np.nan_to_num(skew(X, axis=0)))  # PyOD: a constant column has skew 0
        self.decision_scores_ = np.asarray(decision_scores, dtype=float)

    def _tails(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``-log`` of the left and right training ECDFs at each value of ``X``."""
        n = len(self.sorted_)
        below = np.empty(X.shape, dtype=np.int64)
        above = np.empty(X.shape, dtype=np.int64)
        for j in range(X.shape[1]):
            column = self.sorted_[:, j]
            below[:, j] = np.searchsorted(column, X[:, j], side="right")
            above[:, j] = n - np.searchsorted(column, X[:, j], side="left")
        levels = np.linspace(1.0 / n, 1.0, n)  # PyOD's ECDF values, bit for bit: levels[k - 1] = k / n
        below_at = levels[np.maximum(below, 1).astype(int) - 1]
        above_at = levels[np.maximum(above, 1).astype(int) - 1]
        return -1 * np.log(below_at), -1 * np.log(above_at)

    def decision_function(self, X: Any) -> np.ndarray:
        """Outlier score of each row of ``X`` (higher = more anomalous), as PyOD computes it on training rows."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        left, right = self._tails(X)
        s = self.skew_sign_
        skewed = left * -1 * np.sign(s - 1) + right * np.sign(s + 1)
        if self.kind == "ECOD":
            outlying = np.maximum(np.maximum(left, right), skewed)
        else:  # COPOD
            outlying = np.maximum(skewed, (left + right) / 2)
        return np.asarray(outlying.sum(axis=1), dtype=float).ravel()

    def __repr__(self) -> str:
        return f"TrainingTails({self.kind}, {len(self.sorted_)} training rows)"


def freeze_tails(detector: Any, X_fit: np.ndarray) -> Any:
    """``detector`` itself, or, for a fitted ECOD/COPOD, a :class:`TrainingTails` scoring against ``X_fit``."""
    kind = type(detector).__name__
    if kind not in TAIL_DETECTORS:
        return detector
    return TrainingTails(kind, X_fit, detector.decision_scores_)
