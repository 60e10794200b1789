"""A deadline stops CatBoost quietly: no "Exception ignored in '_catboost._CallbackAfterIteration'".

CatBoost calls back into Python between rounds through a Cython wrapper that prints any exception
raised there. On a busy machine one round can take far longer than the rounds before it, so the
deadline passes mid-round and, before the fix, the watchdog's exception landed in the next Python
code the thread ran: inside that wrapper (``automlops lab`` printed the traceback in 2 of 4 runs).
A callback that sleeps across the deadline stands in for such a stretched round.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sklearn.datasets import load_breast_cancer

from automlops.search.deadline import DeadlineExceeded, interrupt_at
from automlops.tabular.boosting_clock import catboost_time_limit, raise_if_interrupted

catboost = pytest.importorskip("catboost")


class _StretchedRound:
    """Sleeps once, across ``deadline``: one round as long as a descheduled thread makes it."""

    def __init__(self, deadline: float) -> None:
        self.deadline, self.slept = deadline, False

    def after_iteration(self, info: Any) -> bool:
        if not self.slept and time.monotonic() > self.deadline - 0.15:
            self.slept = True
            time.sleep(0.5)
        return True


def test_a_deadline_passing_mid_round_stops_catboost_without_a_printed_traceback(
        capfd: pytest.CaptureFixture[str]) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    model = catboost.CatBoostClassifier(n_estimators=100_000, depth=4, verbose=False, allow_writing_files=False,
                                        thread_count=1, random_seed=0)
    started = time.monotonic()
    deadline = started + 1.0
    with pytest.raises(DeadlineExceeded), interrupt_at(deadline):
        limit = catboost_time_limit(None)
        model.fit(X, y, callbacks=[_StretchedRound(deadline), limit])
        raise_if_interrupted(limit)
    assert time.monotonic() - started < 3.0  # stopped at the round after the deadline
    assert "Exception ignored" not in capfd.readouterr().err


def test_a_fit_that_ends_in_time_leaves_the_watchdog_armed() -> None:
    """The watchdogs held during the fit raise again afterwards: later work still stops at the deadline."""
    X, y = load_breast_cancer(return_X_y=True)
    model = catboost.CatBoostClassifier(n_estimators=20, depth=2, verbose=False, allow_writing_files=False,
                                        thread_count=1, random_seed=0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded), interrupt_at(started + 1.5):
        limit = catboost_time_limit(None)
        model.fit(X, y, callbacks=[limit])
        raise_if_interrupted(limit)
        while True:  # plain Python after the fit: the watchdog must strike here
            time.sleep(0.01)
    assert time.monotonic() - started < 3.0
