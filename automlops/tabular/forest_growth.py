"""Forests that stop themselves before a deadline, by growing their trees a few at a time.

The time budget's watchdog (:mod:`automlops.search.deadline`) stops a fit by raising an exception
*inside* the thread that runs it. That is prompt for a fit whose loop runs in Python, but a random
forest builds its trees on joblib worker threads while the main thread waits on a lock: the
exception only lands when a batch of trees comes back (on the 2-core CI machine a 300-tree forest
on 40k rows ran 5 s past an 8 s budget), and it lands inside the threading machinery, where an
exception can leave a thread pool half started (py-spy found one run hung for good in such a
thread start).

So under a deadline a forest is grown in chunks with scikit-learn's ``warm_start``: fit a few
trees, time them, add the next chunk only if it will finish before the deadline, otherwise raise
:class:`~automlops.search.deadline.DeadlineExceeded` from plain Python, between two chunks, with no
thread running. Each chunk is a quarter of the time left, or all the trees left when they fit with
room to spare (few chunks: every chunk ends with a wait for its slowest tree, ~10 % of a random
forest's time at 1 s chunks, and a fit that would finish in time must not be stopped by the margins).
``warm_start`` draws each new tree's seed as one full fit would, so a forest grown
in chunks has exactly the trees of a forest grown at once (the tests check its predictions).
Without a deadline (a user's own fit, an exported model) nothing changes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline

from automlops.search.deadline import DeadlineExceeded, interrupt_deadline

FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)

__all__ = ["fit_before_deadline", "grow_forest"]

FIRST_TREES_PER_THREAD = 2  # the first chunk only measures what a tree costs
SHARE_OF_TIME_LEFT = 0.25  # each later chunk: a quarter of the time left, so chunks shrink near the deadline
SAFETY = 1.5  # the rest is grown at once when it would fit in the time left even 1.5x slower
MARGIN = 1.1  # a chunk is started only if it ends before the deadline at 1.1x its trees' measured cost


def fit_before_deadline(model: Any, X: Any, y: Any) -> Any:
    """``model.fit(X, y)``; a forest (alone or at the end of a pipeline) under a deadline grows in chunks."""
    stop_at = interrupt_deadline()
    forest = model.steps[-1][1] if isinstance(model, Pipeline) else model
    if stop_at is None or not isinstance(forest, FORESTS) or forest.warm_start:
        return model.fit(X, y)
    if isinstance(model, Pipeline):  # the preprocessing first, exactly as Pipeline.fit runs it
        X = model[:-1].fit_transform(X, y)
    grow_forest(forest, X, y, stop_at)
    return model


def grow_forest(forest: Any, X: Any, y: Any, stop_at: float) -> Any:
    """Fit ``forest`` chunk by chunk; raise ``DeadlineExceeded`` before a chunk that would end after ``stop_at``."""
    total = int(forest.n_estimators)
    threads = _threads(forest)
    grown, tree_seconds = 0, None  # seconds a thread spends on one tree, once measured
    forest.set_params(warm_start=True)
    try:
        while grown < total:
            remaining = total - grown
            if tree_seconds is None:
                size = FIRST_TREES_PER_THREAD * threads
            else:
                time_left = stop_at - time.monotonic()
                if SAFETY * _wall(remaining, threads, tree_seconds) < time_left:
                    size = remaining  # the rest fits with room to spare: one chunk, no more waits
                else:
                    size = threads * max(1, int(SHARE_OF_TIME_LEFT * time_left / max(tree_seconds, 1e-6)))
                if time.monotonic() + MARGIN * _wall(min(size, remaining), threads, tree_seconds) >= stop_at:
                    raise DeadlineExceeded()
            size = min(size, remaining)
            started = time.monotonic()
            forest.set_params(n_estimators=grown + size)
            forest.fit(X, y)
            tree_seconds = (time.monotonic() - started) / _wall(size, threads, 1.0)
            grown += size
    finally:
        forest.set_params(warm_start=False, n_estimators=total)
    return forest


def _threads(forest: Any) -> int:
    from joblib import effective_n_jobs

    return max(1, int(effective_n_jobs(forest.n_jobs)))


def _wall(trees: int, threads: int, tree_seconds: float) -> float:
    """Wall seconds of ``trees`` trees on ``threads`` threads: the busiest thread's share."""
    return float(np.ceil(trees / threads)) * tree_seconds
