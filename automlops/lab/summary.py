"""From the runs to the lab table and a verdict in plain words.

**Final test score.** Each run ends with one test score (the chosen model, scored once on the rows
kept aside). Across the seeds a strategy gets a mean, a sample std and a 95 % Student-t interval
(:class:`~automlops.stability.types.Spread`): with 3–5 seeds the interval is wide, honestly so.

**Paired comparison.** Seed ``s`` gives every strategy the same test rows and validation folds, so
the runs are *paired*: the lab also computes, seed by seed, the gap between the leader (best mean
test score) and each other strategy, and a t-interval of those gaps. Pairing removes the variance
the strategies share (a hard split is hard for all), so it detects smaller differences than
comparing two overlapping intervals. A gap whose interval excludes 0 is called "beyond noise".

**How fast.** "Time to target": the lab takes, for each strategy, the median of its runs' best
validation scores, and the *least good* of those medians is the target level, the level every
strategy reached in a typical run. Each run's time to get within a small tolerance of it (0.002, or
0.2 % of the score when the metric is not on a 0–1 scale) is read from its history; the strategy's
time is the median over its runs (runs that never got there count as never: with most runs never
there, the median is "not reached").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from automlops.lab.curves import time_to_reach
from automlops.lab.types import LabRun, StrategySummary
from automlops.search.strategies import STRATEGIES
from automlops.stability.types import Spread
from automlops.stability.verdict import clipped

__all__ = ["summarise", "target_level", "tolerance_for", "verdict"]


def tolerance_for(level: float) -> float:
    """How close to the target counts as reached: 0.002 on a 0–1 scale, else 0.2 % of the level."""
    return 0.002 * max(1.0, abs(level))


def target_level(runs: Sequence[LabRun], strategies: Sequence[str], *, maximize: bool) -> float | None:
    """The least good of the strategies' median best validation scores (see the module docstring)."""
    medians = []
    for name in strategies:
        values = [r.best_val for r in runs if r.strategy == name and math.isfinite(r.best_val)]
        if values:
            medians.append(float(np.median(values)))
    if not medians:
        return None
    return min(medians) if maximize else max(medians)


def _time_to_target(runs: Sequence[LabRun], level: float | None, tol: float, maximize: bool
                    ) -> tuple[float | None, int]:
    if level is None or not runs:
        return None, 0
    goal = level - tol if maximize else level + tol
    times = [time_to_reach(r.history, goal, maximize=maximize) for r in runs]
    reached = [t for t in times if t is not None]
    if len(reached) * 2 < len(times):  # most runs never got there: the median run did not
        return None, len(reached)
    ordered = sorted(reached) + [math.inf] * (len(times) - len(reached))
    median = float(np.median(ordered))  # with half the runs never there, the median run did not get there
    return (median if math.isfinite(median) else None), len(reached)


def _gap(leader: Sequence[LabRun], other: Sequence[LabRun], maximize: bool) -> Spread | None:
    mine = {r.seed: r.test_score for r in leader if r.ok}
    gaps = [(mine[r.seed] - r.test_score) * (1 if maximize else -1) for r in other if r.ok and r.seed in mine]
    return Spread.of(gaps) if len(gaps) >= 2 else None


def summarise(runs: Sequence[LabRun], strategies: Sequence[str], *, maximize: bool,
              level: float | None, tol: float, metric: str = "") -> tuple[StrategySummary, ...]:
    """One lab-table row per strategy (the leader's gap to itself is left out). The test score's interval
    stays within ``metric``'s possible range (a ROC-AUC interval ends at 1, as the stability report's)."""
    rows = []
    for name in strategies:
        mine = [r for r in runs if r.strategy == name]
        ok = [r for r in mine if r.ok]
        minutes = sum(r.search_seconds for r in ok) / 60.0
        to_target, reached = _time_to_target(ok, level, tol, maximize)
        rows.append(StrategySummary(
            strategy=name, label=STRATEGIES.get(name).label, runs=len(ok), failed=len(mine) - len(ok),
            test=clipped(Spread.of([r.test_score for r in ok]), metric), best_val=Spread.of([r.best_val for r in ok]),
            trials_per_min=sum(r.n_trials for r in ok) / minutes if minutes > 0 else 0.0,
            pruned_per_run=float(np.mean([r.n_pruned for r in ok])) if ok else 0.0,
            saved_seconds_per_run=float(np.mean([r.saved_seconds for r in ok])) if ok else 0.0,
            time_to_target=to_target, reached=reached,
            own_per_run=float(np.mean([r.n_own for r in ok])) if ok else 0.0))
    leader = _leader(rows, maximize)
    if leader is None:
        return tuple(rows)
    lead_runs = [r for r in runs if r.strategy == leader.strategy]
    return tuple(row if row is leader else _with_gap(row, _gap(lead_runs, [r for r in runs if r.strategy ==
                                                                         row.strategy], maximize))
                 for row in rows)


def _with_gap(row: StrategySummary, gap: Spread | None) -> StrategySummary:
    return replace(row, gap=gap)


def _leader(rows: Sequence[StrategySummary], maximize: bool) -> StrategySummary | None:
    scored = [r for r in rows if r.runs and math.isfinite(r.test.mean)]
    if not scored:
        return None
    return max(scored, key=lambda r: r.test.mean if maximize else -r.test.mean)


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 10 else f"{value:.4f}"


def _speed_sentence(rows: Sequence[StrategySummary], metric: str, level: float | None, tol: float) -> str:
    if level is None:
        return ""
    timed = sorted((r for r in rows if r.runs), key=lambda r: math.inf if r.time_to_target is None
                   else r.time_to_target)
    parts = [f"{r.strategy} {r.time_to_target:.1f} s" if r.time_to_target is not None
             else f"{r.strategy} did not ({r.reached} of {r.runs} runs did)" for r in timed]
    return (f"Validation {metric} within {tol:.3g} of {_fmt(level)} (the level every strategy's median run "
            f"reached): {parts[0]}" + (f"; {', '.join(parts[1:])}" if parts[1:] else "") + " (median over seeds).")


def _noise_sentence(rows: Sequence[StrategySummary], metric: str, maximize: bool) -> str:
    leader = _leader(rows, maximize)
    if leader is None:
        return "No strategy finished a run with a test score."
    head = (f"Best mean test {metric}: {leader.strategy} {_fmt(leader.test.mean)}"
            + (f" ± {_fmt(leader.test.std)}" if math.isfinite(leader.test.std) else "") + ".")
    others = [r for r in rows if r is not leader and r.runs]
    if not others:
        return head
    behind = [r.strategy for r in others if r.gap is not None and math.isfinite(r.gap.ci_low) and r.gap.ci_low > 0]
    overlap = all(math.isfinite(r.test.ci_low) and r.test.ci_high >= leader.test.ci_low
                  and r.test.ci_low <= leader.test.ci_high for r in others) and math.isfinite(leader.test.ci_low)
    if behind:
        return head + (f" {', '.join(behind)} {'is' if len(behind) == 1 else 'are'} behind it beyond noise "
                       "(the paired gap over the same seeds has a 95 % CI above 0); the other differences are "
                       "within noise.")
    if overlap:
        return head + (" Differences in test score are within noise: the 95 % CIs overlap and no paired gap "
                       "over the same seeds excludes 0.")
    return head + (" No paired gap over the same seeds excludes 0, so the differences in test score are within "
                   "noise at this number of seeds.")


def _pruning_sentence(rows: Sequence[StrategySummary]) -> str:
    pruning = [r for r in rows if r.pruned_per_run > 0]
    return " ".join(f"{r.strategy} pruned {r.pruned_per_run:.1f} trials per run, saving about "
                    f"{r.saved_seconds_per_run:.1f} s of fitting each run (estimated)." for r in pruning)


def _warm_sentence(rows: Sequence[StrategySummary]) -> str:
    """Strategies that never chose a trial: the budget went to the warm start (the same for all of them)."""
    idle = [r.strategy for r in rows if r.runs and r.strategy != "grid" and r.own_per_run == 0]
    if not idle:
        return ""
    who, they = (idle[0], "it") if len(idle) == 1 else (", ".join(idle), "they")
    return (f"Careful: {who} spent the whole budget on the warm start (each model's default settings, tried first "
            f"by every strategy but grid), so {they} never chose a configuration and ran the same trials as the "
            "warm start; give each run a bigger budget or search fewer models to compare.")


def verdict(rows: Sequence[StrategySummary], *, metric: str, maximize: bool, level: float | None,
            tol: float) -> str:
    """The lab's conclusion in plain words: who got there first, and whether test scores really differ."""
    parts = [_warm_sentence(rows), _speed_sentence(rows, metric, level, tol), _noise_sentence(rows, metric, maximize),
             _pruning_sentence(rows)]
    return " ".join(p for p in parts if p)
