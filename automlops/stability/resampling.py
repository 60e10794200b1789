"""How a stability analysis of a table model splits the training rows into learn/score pairs.

The choice depends on the task and the data:

* **classification** – repeated *stratified* K-fold (each fold keeps the class shares);
* **regression** – repeated K-fold;
* **a time axis** – repeated expanding-window time-series splits (learn on the past, score on the
  next block; never shuffled);
* **fewer than** :data:`BOOTSTRAP_ROWS` **rows** – the bootstrap: learn on n rows drawn with
  replacement, score on the ~37 % never drawn (*out-of-bag*). Folds of a tiny table are too
  small to score on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from automlops.core.problem import Problem, TaskType
from automlops.errors import ConfigError, DataError
from automlops.stability.types import Resample

__all__ = ["BOOTSTRAP_ROWS", "resample_rows"]

BOOTSTRAP_ROWS = 100


def _folds(k: int, cap: int) -> int:
    """Folds per repeat: the largest of 5, 4, 3, 2 that divides ``k`` (whole repeats), within ``cap``."""
    for f in (5, 4, 3, 2):
        if f <= cap and k % f == 0:
            return f
    return max(2, min(5, cap, k))


def _bootstrap(y: pd.Series, problem: Problem, k: int, seed: int) -> list[Resample]:
    rng = np.random.default_rng(seed)
    n, labels = len(y), y.to_numpy()
    out: list[Resample] = []
    while len(out) < k:
        train = rng.integers(0, n, n)
        test = np.setdiff1d(np.arange(n), train)
        if len(test) == 0 or (problem.task is TaskType.CLASSIFICATION
                              and len(np.unique(labels[train])) < len(np.unique(labels))):
            continue  # a draw that missed a class cannot learn it: draw again
        out.append(Resample(np.sort(train), test, f"bootstrap {len(out) + 1}"))
    return out


def resample_rows(y: pd.Series, problem: Problem, k: int, seed: int) -> tuple[str, list[Resample]]:
    """``k`` train/test splits of the rows chosen for the task (see the module docstring), and why."""
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold, TimeSeriesSplit

    n = len(y)
    if problem.time_column:
        if n // (k + 1) < 5:
            raise ConfigError(f"{k} time-series splits of {n} rows leave fewer than 5 rows to score each; "
                              "ask for fewer splits")
        splits = TimeSeriesSplit(n_splits=k).split(np.zeros(n))
        return (f"{k} expanding-window time-series splits: each learns on the past and is scored on the next block "
                f"(rows ordered by '{problem.time_column}', never shuffled)",
                [Resample(tr, te, f"cut-off {i + 1}") for i, (tr, te) in enumerate(splits)])
    if n < BOOTSTRAP_ROWS:
        return (f"{k} bootstrap resamples scored out-of-bag: {n} rows (< {BOOTSTRAP_ROWS}) are too few to "
                "score on folds", _bootstrap(y, problem, k, seed))
    if problem.task is TaskType.CLASSIFICATION:
        smallest = int(y.value_counts().min())
        if smallest < 2:
            raise DataError("a class has a single training row; stratified splits need at least 2 per class")
        f = _folds(k, smallest)
        cv: Any = RepeatedStratifiedKFold(n_splits=f, n_repeats=math.ceil(k / f), random_state=seed)
        how = "stratified (each fold keeps the class shares)"
    else:
        f = _folds(k, n)
        cv, how = RepeatedKFold(n_splits=f, n_repeats=math.ceil(k / f), random_state=seed), "shuffled"
    folds = [Resample(tr, te, f"repeat {i // f + 1} fold {i % f + 1}")
             for i, (tr, te) in enumerate(cv.split(np.zeros(n), y))][:k]
    return (f"{k} splits of repeated {f}-fold cross-validation, {how}, on the {n} training rows", folds)
