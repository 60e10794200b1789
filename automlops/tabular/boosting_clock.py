"""How a boosting fit keeps the search's clock: it wraps up in time instead of being killed.

The search gives every trial a deadline (:mod:`automlops.search.deadline`): a *wrap-up* time, by
which a fit should finish with what it has, and a later *interrupt* time, when the watchdog stops
it for good. A boosting model still adding trees at the wrap-up time is not wasted: it already
holds a model of its best round so far. So each library gets a callback that ends training there,
early enough to leave time for the prediction the search makes next, which costs every tree once
per validation row (:func:`predict_seconds_per_round`).

The deadlines are looked up through ``sys.modules``: a model exported as a script or a deploy
bundle copies this code, not the studio's, and has no search running, hence no deadline.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["catboost_time_limit", "lightgbm_time_limit", "predict_seconds_per_round", "raise_if_interrupted",
           "trees_per_round", "wrap_up_time", "xgboost_time_limit"]


def wrap_up_time(started: float) -> float | None:
    """When an early-stopped fit should stop adding trees: a little before its deadline, leaving
    time to predict the validation rows (a tenth of the time left, at least half a second).

    The deadline is looked up through ``sys.modules``: a model exported as a script or a deploy
    bundle (which copy this class's code, not the studio's) has no search running, hence no deadline.
    """
    deadlines = sys.modules.get("automlops.search.deadline")
    deadline = deadlines.wrap_up_deadline() if deadlines is not None else None
    if deadline is None:
        return None
    return deadline - max(0.5, 0.1 * (deadline - started))


PREDICT_SECONDS_PER_TREE_ROW = 1e-7  # one tree, one row, one thread: LightGBM 0.8e-7 s, XGBoost 0.3e-7 s measured
ROWS_SCORED_AFTER_FIT = 0.25  # the search then scores its validation rows: a quarter of the fit's (80/20, 5 folds)


def trees_per_round(n_classes: int) -> int:
    """Trees a boosting round adds: one per class for three classes or more (softmax), else one."""
    return n_classes if n_classes > 2 else 1


def predict_seconds_per_round(rows: int, n_classes: int) -> float:
    """What each boosting round adds to the prediction that follows the fit, in seconds.

    Wrapping up at the deadline is not the end of a trial: the search still predicts its validation
    rows, and that costs every tree once per row. On weather_temp (15k rows, 7,000 rounds) that was
    ~2 s, more than the fixed margin before the deadline, so the wrapped-up trial was still killed
    and a 30 s run ended with no model at all.
    """
    return trees_per_round(n_classes) * rows * ROWS_SCORED_AFTER_FIT * PREDICT_SECONDS_PER_TREE_ROW


def lightgbm_time_limit(stop_at: float, predict_per_round: float = 0.0) -> Callable[[Any], None]:
    """A LightGBM callback ending training with the best round seen so far once the time the
    prediction of its rounds will take no longer fits before ``stop_at``."""
    import lightgbm as lgb

    best: dict[str, Any] = {"iteration": 0, "value": None, "results": []}

    def callback(env: Any) -> None:
        results = env.evaluation_result_list or []
        if not results:  # nothing held out (a refit of known rounds): the best round is the latest
            best["iteration"] = env.iteration
        else:
            _, _, value, higher_is_better = results[0][:4]
            if best["value"] is None or (value > best["value"] if higher_is_better else value < best["value"]):
                best.update(iteration=env.iteration, value=value, results=results)
        if time.monotonic() + (env.iteration + 1) * predict_per_round >= stop_at:
            callback.fired = True  # type: ignore[attr-defined]
            raise lgb.callback.EarlyStopException(best["iteration"], best["results"] or results)

    callback.order = 40  # type: ignore[attr-defined]  # after early stopping's own check (order 30)
    callback.fired = False  # type: ignore[attr-defined]
    return callback


def xgboost_time_limit(stop_at: float, predict_per_round: float = 0.0) -> Any:
    """An XGBoost callback ending training as :func:`lightgbm_time_limit` does; its early stopping
    keeps the best round."""
    import xgboost as xgb

    class TimeLimit(xgb.callback.TrainingCallback):
        fired = False

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            self.fired = time.monotonic() + (epoch + 1) * predict_per_round >= stop_at
            return self.fired

    return TimeLimit()


def catboost_time_limit(stop_at: float | None, predict_per_round: float = 0.0) -> Any:
    """A CatBoost callback ending training as :func:`lightgbm_time_limit` does (returning ``False``
    from ``after_iteration`` stops it; ``use_best_model`` then keeps the best round).

    CatBoost's training loop runs in C++ and calls back into Python only between rounds, through a
    Cython wrapper that prints any exception raised in it ("Exception ignored in
    '_catboost._CallbackAfterIteration'") before passing it on. The deadline watchdog's exception
    would land exactly there (the first Python code the thread runs after the deadline), so while
    CatBoost fits, this thread's watchdogs are *held* (:class:`_HeldWatchdogs`): at the deadline
    they only mark themselves fired, the callback returns ``False`` (``interrupted``), and the caller
    raises the deadline from plain Python (:func:`raise_if_interrupted`, which also re-arms any
    watchdog whose deadline has not come yet). The callback still stops a few rounds early, so the
    fit ends close to its deadline rather than one long round after it.
    """
    deadlines = sys.modules.get("automlops.search.deadline")
    interrupt = deadlines.interrupt_deadline() if deadlines is not None else None
    held = _HeldWatchdogs(deadlines) if interrupt is not None else None

    class TimeLimit:
        fired = False  # wrapped up at ``stop_at``: a finished model with the best round so far
        interrupted = False  # stopped for the watchdog: the fit does not count
        last = time.monotonic()
        watchdogs = held

        def after_iteration(self, info: Any) -> bool:
            now = time.monotonic()
            margin, self.last = max(0.1, 3 * (now - self.last)), now  # three rounds as long as the last one
            struck = held is not None and held.struck
            self.interrupted = struck or (interrupt is not None and now + margin >= interrupt)
            self.fired = stop_at is not None and now + (info.iteration + 1) * predict_per_round >= stop_at
            return not (self.fired or self.interrupted)

    return TimeLimit()


class _HeldWatchdogs:
    """This thread's deadline watchdogs, told to mark the deadline instead of raising it, until released.

    Each live watchdog's timer is swapped for one that, at the same moment, only sets its ``fired``
    flag (exactly what the watchdog itself records when it strikes, so ``interrupt_at`` still ends
    with :class:`~automlops.search.deadline.DeadlineExceeded`) and :attr:`struck`, which the CatBoost
    callback polls. :meth:`release` puts the raising timers back for whatever deadline is still ahead.
    """

    def __init__(self, deadlines: Any) -> None:
        import threading

        self.struck = False
        self.dogs = deadlines.live_watchdogs()
        for dog in self.dogs:
            with dog.lock:
                dog.timer.cancel()
                dog.timer = threading.Timer(max(0.0, dog.deadline - time.monotonic()), self._mark, (dog,))
                dog.timer.daemon = True
                dog.timer.start()

    def _mark(self, dog: Any) -> None:
        with dog.lock:
            if dog.armed and not dog.fired:
                dog.fired = self.struck = True

    def release(self) -> None:
        """Let the watchdogs raise again (those whose deadline has not passed yet)."""
        import threading

        for dog in self.dogs:
            with dog.lock:
                if not dog.armed or dog.fired:
                    continue
                dog.timer.cancel()
                dog.timer = threading.Timer(max(0.0, dog.deadline - time.monotonic()), dog.fire)
                dog.timer.daemon = True
                dog.timer.start()
        self.dogs = []


def raise_if_interrupted(limit: Any) -> None:
    """After a CatBoost fit: let the held watchdogs raise again, and raise the deadline for a fit
    that stopped because it came (or was about to come)."""
    held = getattr(limit, "watchdogs", None)
    if held is not None:
        held.release()
    if getattr(limit, "interrupted", False) or (held is not None and held.struck):
        raise sys.modules["automlops.search.deadline"].DeadlineExceeded()
