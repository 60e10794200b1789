"""Refits that run beside others (the analysis' worker processes) fit on one thread each."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.datasets import make_friedman1

from automlops.core.problem import Problem, TaskType
from automlops.stability.execute import Task, _run_batch
from automlops.stability.types import Resample


class LightGBMSubject:
    """A LightGBM regression on 12,000 rows (past the size where a fit takes every core); the "score" is
    the number of threads its booster was trained with."""

    def fit_score(self, resample: Resample, *, seed: int, params: object = None, deadline: float | None = None
                  ) -> float:
        from automlops.tabular.zoo import get_model

        X, y = make_friedman1(n_samples=12_000, random_state=seed)
        problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
        fitted = get_model("lightgbm").build({"learning_rate": 0.3, "n_estimators": 30}, problem, seed).fit(X, y)
        return float(fitted.estimator_.booster_.params["num_threads"])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: a fit never takes more than one thread")
def test_parallel_refits_train_on_one_thread_each_and_a_lone_refit_on_every_core(machine_load) -> None:  # type: ignore[no-untyped-def]
    """Two worker processes each fitting LightGBM on two threads (on two cores): a 4 s refit of a 20k-row,
    15-class model ran past a 60 s deadline, and `automlops stability` said no refit finished. (The
    machine is read as otherwise idle, so the lone refit may take every core.)"""
    machine_load(0.0)
    rows = Resample(train=np.arange(10), test=np.arange(10, 20))
    tasks = [Task("seed", i, rows, seed=i) for i in range(2)]
    parallel = _run_batch(LightGBMSubject(), tasks, None, workers=2)
    assert [f.error for f in parallel] == [None, None] and [f.score for f in parallel] == [1.0, 1.0]
    alone = _run_batch(LightGBMSubject(), tasks[:1], None, workers=1)
    assert alone[0].score == min(len(os.sched_getaffinity(0)), 4)
