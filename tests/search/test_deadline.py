"""``interrupt_at``: a block still running at its deadline is interrupted, and nothing leaks out."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor

from automlops.search.deadline import DeadlineExceeded, interrupt_at


def test_a_long_python_loop_is_interrupted_at_the_deadline() -> None:
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        with interrupt_at(started + 0.2):
            while True:
                sum(range(1000))
    assert 0.15 < time.monotonic() - started < 1.0


def test_a_fit_is_interrupted_and_not_swallowed_by_the_library() -> None:
    """An MLP that would train for many seconds; DeadlineExceeded is not an Exception, so no
    ``except Exception`` inside scikit-learn can swallow it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 20))
    y = np.sin(X[:, 0] * 3) + X[:, 1]
    assert not issubclass(DeadlineExceeded, Exception)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        with interrupt_at(started + 0.5):
            MLPRegressor(hidden_layer_sizes=(256, 256), max_iter=500, tol=0, random_state=0).fit(X, y)
    assert time.monotonic() - started < 2.0


def test_a_block_that_ends_in_time_returns_normally_and_leaves_no_exception_behind() -> None:
    for _ in range(300):  # many blocks ending right at their deadline: a late timer must not leak
        try:
            with interrupt_at(time.monotonic() + 0.0005):
                sum(range(2000))
        except DeadlineExceeded:
            pass
    time.sleep(0.05)
    assert sum(range(10)) == 45  # still here: no stray DeadlineExceeded was delivered afterwards
    with interrupt_at(time.monotonic() + 5.0):
        value = 1 + 1
    assert value == 2


def test_no_deadline_means_no_timer_and_a_passed_one_raises_at_once() -> None:
    with interrupt_at(None):
        time.sleep(0.01)
    with pytest.raises(DeadlineExceeded):
        with interrupt_at(time.monotonic() - 1.0):
            raise AssertionError("the block must not run")
