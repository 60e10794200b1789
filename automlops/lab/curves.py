"""Convergence curves: best validation score so far, against time and against trials, across seeds.

Each run's best-so-far is a *step function*: it only changes when a trial finishes with a better
score. To compare strategies over several seeds, every run's step function is read at the same
points of a common axis, and at each point the lab keeps the **median** across seeds (robust to one
lucky or unlucky seed) and the **min–max band** (with the 3–5 seeds a lab can afford, quartiles
would be little more than the extremes anyway).

* **Time axis** (seconds since the run started, 0 to the budget): a run that stopped searching
  early keeps its final best (that is what it would hand over at that time).
* **Trial axis** (1, 2, ... trials ended, in any state): a run only counts up to its own number of
  trials; past it, the band is drawn from the runs that got that far. A strategy that runs cheaper
  trials (Hyperband prunes) reaches further on this axis in the same budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from automlops.lab.types import Band, LabRun, TrialPoint

__all__ = ["TIME_POINTS", "best_at_seconds", "best_after_trials", "strategy_bands", "time_to_reach"]

TIME_POINTS = 41  # points on the time axis (every 2.5 % of the budget)
MAX_TRIAL_POINTS = 200


def best_at_seconds(history: Sequence[TrialPoint], seconds: float) -> float | None:
    """The best complete score of trials that ended by ``seconds`` (``None`` before the first)."""
    best = None
    for p in history:
        if p.seconds > seconds:
            break
        best = p.best if p.best is not None else best
    return best


def best_after_trials(history: Sequence[TrialPoint], n: int) -> float | None:
    """The best complete score after the first ``n`` trials ended (``None`` if the run had fewer)."""
    if n < 1 or n > len(history):
        return None
    return history[n - 1].best


def time_to_reach(history: Sequence[TrialPoint], level: float, *, maximize: bool) -> float | None:
    """Seconds until the best-so-far first reached ``level`` (``None``: never within the run)."""
    for p in history:
        if p.best is not None and (p.best >= level if maximize else p.best <= level):
            return p.seconds
    return None


def _band(strategy: str, axis: str, x: Sequence[float], columns: list[list[float | None]]) -> Band:
    median: list[float | None] = []
    low: list[float | None] = []
    high: list[float | None] = []
    for values in columns:
        finite = [v for v in values if v is not None]
        median.append(float(np.median(finite)) if finite else None)
        low.append(float(min(finite)) if finite else None)
        high.append(float(max(finite)) if finite else None)
    return Band(strategy, axis, tuple(float(v) for v in x), tuple(median), tuple(low), tuple(high))


def _trial_axis(runs: Sequence[LabRun]) -> list[int]:
    longest = max((len(r.history) for r in runs), default=0)
    if longest <= MAX_TRIAL_POINTS:
        return list(range(1, longest + 1))
    return sorted({int(round(v)) for v in np.linspace(1, longest, MAX_TRIAL_POINTS)})


def strategy_bands(strategy: str, runs: Sequence[LabRun], budget: float) -> tuple[Band, Band]:
    """The time-axis and trial-axis bands of one strategy's runs (runs with a history)."""
    runs = [r for r in runs if r.history]
    seconds = np.linspace(0.0, budget, TIME_POINTS)
    by_time = [[best_at_seconds(r.history, float(s)) for r in runs] for s in seconds]
    trials = _trial_axis(runs)
    by_trial = [[best_after_trials(r.history, n) for r in runs] for n in trials]
    return (_band(strategy, "seconds", seconds.tolist(), by_time),
            _band(strategy, "trials", [float(n) for n in trials], by_trial))
