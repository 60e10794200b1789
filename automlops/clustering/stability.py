"""Is a partition reproducible? Clustering **stability**, used to choose among the best candidates.

An internal score such as the silhouette says how separated a partition's groups are, not whether
the algorithm would find the same groups again on slightly different data. When several very
different partitions score almost the same (common on data without clear groups), the highest score
can be a fluke of one initialisation or one threshold. Stability measures that directly (Ben-Hur et
al. 2002; Lange et al. 2004; von Luxburg 2010): refit the candidate on random subsamples of 80 % of
the rows and compare each result with the candidate's own labels on those rows by the adjusted Rand
index (1 = the same partition, 0 = chance). Its mean over the subsamples is the stability.

The engine ranks the best few candidates by ``silhouette × stability``: the separation one can
expect to see again. A partition found every time keeps its score; one the algorithm reproduces
only half the time loses half of it. The reference column is never read. Under a time budget,
:func:`affordable` says how many of them can be checked in the time the search left for it, and
:func:`checkable` how many the search should leave time for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from sklearn.metrics import adjusted_rand_score

__all__ = ["N_SUBSAMPLES", "SUBSAMPLE_SHARE", "affordable", "checkable", "stability"]

N_SUBSAMPLES = 5
SUBSAMPLE_SHARE = 0.8
T = TypeVar("T")


def stability(fit_labels: Callable[[np.ndarray, int], np.ndarray], X: np.ndarray, labels: np.ndarray, *,
              seed: int = 0, n_subsamples: int = N_SUBSAMPLES) -> float:
    """Mean ARI between ``labels`` and refits on random subsamples (``fit_labels(X_sub, seed)``)."""
    rng = np.random.default_rng(seed)
    size = max(2, int(SUBSAMPLE_SHARE * len(X)))
    scores = []
    for b in range(n_subsamples):
        rows = np.sort(rng.choice(len(X), size, replace=False))
        try:
            again = fit_labels(X[rows], seed + b + 1)
        except ValueError:  # e.g. more clusters asked than rows left
            again = np.zeros(size, dtype=int)
        scores.append(adjusted_rand_score(labels[rows], again))
    return float(np.mean(scores))


def checkable(pool: Sequence[tuple[float, T]], seconds: Callable[[T], float], left: float) -> list[tuple[float, T]]:
    """The best candidates of ``pool`` (best first) whose checks and the final refit fit in ``left`` seconds.

    Each check costs ``N_SUBSAMPLES + 1`` fits (the subsamples and the candidate on all rows), at
    ``seconds(candidate)``, its own fit time; one that does not fit in what is left is passed over
    (when that is the best one, nothing is checked: the best score stays the choice, since comparing
    the others would drop it unseen). The final refit costs 1.5 fits of the slowest one kept.
    """
    kept: list[tuple[float, T]] = []
    spent = final = 0.0
    for value, candidate in pool:
        cost, refit = (N_SUBSAMPLES + 1) * seconds(candidate), max(final, 1.5 * seconds(candidate))
        if spent + cost + refit <= left:
            kept.append((value, candidate))
            spent, final = spent + cost, refit
        elif not kept:
            return []
    return kept


def affordable(pool: Sequence[tuple[float, T]], seconds: Callable[[T], float], budget: Any, *,
               reserve: float = 0.0) -> list[tuple[float, T]]:
    """The best candidates of ``pool`` whose stability check fits in the time left (see :func:`checkable`).

    The budget's fixed tail and margin, and ``reserve`` seconds of other work after the check
    (finalize's scorings), are kept out of the time left. The driver reserved that time when it
    stopped the search, so it is measured against the deadline, not against the search's own
    deadline, which has passed by now. Without a deadline, every candidate is checked.
    """
    deadline = getattr(budget, "deadline", None)
    if deadline is None:
        return list(pool)
    return checkable(pool, seconds, deadline - time.monotonic() - budget.fixed_tail - budget.margin() - reserve)
