"""``interrupt_at``: a block still running at its deadline is interrupted, and nothing leaks out."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor

from automlops.search.deadline import (
    DeadlineExceeded,
    finish_by,
    interrupt_at,
    interrupt_deadline,
    wrap_up_deadline,
)


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


def _busy_until_interrupted() -> None:
    with pytest.raises(DeadlineExceeded):
        while True:
            sum(range(1000))


def test_scopes_whose_exit_never_ran_leave_no_deadline_behind() -> None:
    """The watchdog's exception can land inside a context manager's exit, before its clean-up.
    Simulated here by entering without exiting: the thread's next fits must not see a past deadline."""
    interrupt_at(time.monotonic() + 0.1).__enter__()
    finish_by(time.monotonic() + 0.05).__enter__()
    assert interrupt_deadline() is not None and wrap_up_deadline() is not None
    _busy_until_interrupted()
    assert interrupt_deadline() is None  # a past deadline here made the next forest stop "after 0.0 s"
    assert wrap_up_deadline() is None  # and would make every later boosting fit wrap up at once
    with interrupt_at(time.monotonic() + 5.0), finish_by(time.monotonic() + 4.0):
        assert 3.0 < wrap_up_deadline() - time.monotonic() < interrupt_deadline() - time.monotonic() <= 5.0
    assert interrupt_deadline() is None and wrap_up_deadline() is None


def test_a_nested_watchdog_whose_exit_was_skipped_never_strikes_later() -> None:
    """The outer watchdog's exception passes an inner block by (its exit never runs); closing the
    outer block disarms the inner watchdog, which would otherwise strike at some later, random line."""
    outer = time.monotonic() + 0.2
    with pytest.raises(DeadlineExceeded):
        with interrupt_at(outer):
            interrupt_at(outer + 0.3).__enter__()
            while True:
                sum(range(1000))
    time.sleep(0.6)  # well past the inner deadline: no stray DeadlineExceeded arrives
    assert interrupt_deadline() is None
