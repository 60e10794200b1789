"""One run's trial history, read back from its Optuna study, and the time pruning saved.

**History.** Every trial that ran becomes a :class:`~automlops.lab.types.TrialPoint`, in the order
the trials *ended*, stamped with the seconds since the run started, with the best complete
validation score so far. Only complete trials count towards "best so far": a pruned trial's
intermediate score comes from fewer folds (or a smaller slice of the rows) and is not comparable.

**Who stopped a trial.** Optuna marks a trial PRUNED both when the pruner (Hyperband) stopped it and
when the search's time budget did (a trial that would not finish in time is skipped or interrupted).
The lab separates them from the note the search driver writes into the trial: the evaluator's
pruning note starts with "pruned"; a trial interrupted by the deadline is STOPPED; a trial the
driver *skipped* without fitting anything (it would not have finished in time, or the user
cancelled) never ran, so it is left out of the history and of the counts.

**Warm start.** Every strategy but grid first tries each model's default settings (the studio's
warm start: enqueued trials, marked ``fixed_params`` by Optuna). Those trials are the same for
every strategy; a point records whether it was one (``warm``), so the lab can tell how many trials
each strategy actually *chose*. With a short budget and many models, that can be none at all.

**Time saved by pruning (an estimate).** Nobody can measure the time of work that never ran, so it
is estimated: a trial pruned after ``k`` of ``n`` resource steps (CV folds, or learning-curve
slices) did not run ``n - k`` steps; each is valued at the mean time of the steps it *did* run
(its duration / ``k``). Summed over the pruned trials, that is the fitting time pruning saved. With
folds the estimate is close (folds cost about the same). With the learning curve used on a single
holdout split (25 %, 50 %, 100 % of the rows) the skipped steps are the big ones, so the estimate is
a lower bound. Every fit runs on one thread (see ``automlops.tabular.evaluate``), so a trial's wall
time is its CPU time: the saving is CPU seconds as much as wall seconds.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import optuna

from automlops.lab.types import TrialPoint

__all__ = ["RunCounts", "read_history", "saved_seconds", "trial_state"]

_RAN = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


@dataclass(frozen=True)
class RunCounts:
    """How a run's trials ended, and the fitting time pruning saved (seconds, estimated)."""

    trials: int
    complete: int
    pruned: int
    stopped: int
    failed: int
    saved_seconds: float


_NEVER_RAN = ("skipped", "cancelled")  # the driver's notes for trials it did not start fitting


def trial_state(trial: optuna.trial.FrozenTrial) -> str:
    """COMPLETE, PRUNED (the pruner's doing), STOPPED (by the deadline), SKIPPED (never fitted) or FAIL."""
    if trial.state is optuna.trial.TrialState.PRUNED:
        note = str(trial.user_attrs.get("note") or "")
        if note.startswith("pruned"):
            return "PRUNED"
        return "SKIPPED" if note.startswith(_NEVER_RAN) else "STOPPED"
    return trial.state.name


def _seconds(trial: optuna.trial.FrozenTrial) -> float:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return 0.0
    return max(0.0, (trial.datetime_complete - trial.datetime_start).total_seconds())


def saved_seconds(trial: optuna.trial.FrozenTrial, n_steps: int) -> float:
    """Estimated seconds a pruned trial did not spend: steps not run × its mean step time (module doc)."""
    if trial_state(trial) != "PRUNED":
        return 0.0
    ran = len(trial.intermediate_values)
    if ran < 1 or ran >= n_steps:
        return 0.0
    return (n_steps - ran) * _seconds(trial) / ran


def _better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def read_history(study: optuna.Study, started: dt.datetime, *, n_steps: int,
                 maximize: bool) -> tuple[tuple[TrialPoint, ...], RunCounts]:
    """The trials that ran, in the order they ended, with best-so-far; and how they ended."""
    trials = [t for t in study.get_trials(deepcopy=False) if t.state in _RAN and t.datetime_complete is not None]
    trials.sort(key=lambda t: (t.datetime_complete, t.number))
    points: list[TrialPoint] = []
    best: float | None = None
    states: list[str] = []
    saved = 0.0
    for t in trials:
        state = trial_state(t)
        if state == "SKIPPED":
            continue
        states.append(state)
        value = float(t.value) if state == "COMPLETE" and t.value is not None and math.isfinite(t.value) else None
        if value is not None and (best is None or _better(value, best, maximize)):
            best = value
        saved += saved_seconds(t, n_steps)
        ended = t.datetime_complete or started
        points.append(TrialPoint(number=t.number, seconds=(ended - started).total_seconds(),
                                 state=state, value=value, best=best, steps=len(t.intermediate_values),
                                 model=str(t.user_attrs.get("model") or ""), warm="fixed_params" in t.system_attrs))
    counts = RunCounts(trials=len(points), complete=states.count("COMPLETE"), pruned=states.count("PRUNED"),
                       stopped=states.count("STOPPED"), failed=states.count("FAIL"), saved_seconds=saved)
    return tuple(points), counts
