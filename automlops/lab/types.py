"""The plain data of a search-strategy lab: one run's trial history, the curves, the result.

A lab answers "which search strategy should I use on *this* table?" by running several strategies
(TPE, random, grid, Hyperband, CMA-ES, QMC) on the same data, with the same time budget, over the
same set of seeds, and comparing how fast each one climbs and where it ends:

* a :class:`LabRun` is one strategy searching with one seed: its trials in the order they ended
  (:class:`TrialPoint`, with the best validation score so far), counts, and the final test score;
* a :class:`Band` is a convergence curve of one strategy: the median best-so-far across seeds at
  each point of a time (or trial-count) axis, with the min–max band around it;
* a :class:`StrategySummary` is one row of the lab table (test score mean ± std with a 95 %
  t-interval, best validation score, trials per minute, pruning and the time it saved);
* :class:`LabResult` holds everything, turns into JSON and back (``to_dict`` / ``from_dict``: a lab
  run in the dashboard crosses a process boundary) and gives the CLI's ``--json`` line (``summary``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from automlops.stability.types import Spread

__all__ = ["Band", "LabResult", "LabRun", "StrategySummary", "TrialPoint"]


def _finite(value: Any) -> Any:
    """``None`` for nan/inf (JSON has no NaN), the value otherwise; recurses into dicts and lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _spread(data: Mapping[str, Any] | None) -> Spread | None:
    return None if data is None else Spread(**{**data, "scores": tuple(data.get("scores", ()))})


@dataclass(frozen=True)
class TrialPoint:
    """One trial of a run, when it ended (seconds since the run started) and the best score so far."""

    number: int
    seconds: float
    state: str  # COMPLETE | PRUNED (stopped by the pruner) | STOPPED (interrupted by the deadline) | FAIL
    value: float | None  # the validation score (complete trials only)
    best: float | None  # best complete validation score up to and including this trial
    steps: int = 0  # resource steps (folds / learning-curve slices) the trial ran
    model: str = ""
    warm: bool = False  # a warm-start trial (a model's default settings, enqueued): not the strategy's choice


@dataclass(frozen=True)
class LabRun:
    """One strategy searching with one seed under the lab's time budget."""

    strategy: str
    seed: int
    test_score: float  # nan when the run failed
    best_val: float  # best validation score of the search (nan when no trial finished)
    best_model: str
    wall_seconds: float
    search_seconds: float
    n_trials: int  # trials that ran (any state)
    n_complete: int
    n_pruned: int  # stopped early by the pruner (Hyperband)
    n_stopped: int  # stopped by the time budget (not the pruner's doing)
    n_failed: int
    saved_seconds: float  # estimated fitting time the pruned trials did not spend (see automlops.lab.history)
    n_steps: int
    history: tuple[TrialPoint, ...] = ()
    error: str | None = None

    @property
    def n_own(self) -> int:
        """Trials the strategy chose itself (the warm start's default settings left out)."""
        return sum(1 for p in self.history if not p.warm)

    @property
    def ok(self) -> bool:
        return self.error is None and math.isfinite(self.test_score)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabRun:
        points = tuple(TrialPoint(**p) for p in data.get("history", ()))
        return cls(**{**data, "history": points})


@dataclass(frozen=True)
class Band:
    """A convergence curve: median best-so-far across seeds along ``axis``, with the min–max band.

    ``None`` marks a point where no run of the strategy had a finished trial yet (or, on the trial
    axis, where every run had already ended).
    """

    strategy: str
    axis: str  # "seconds" | "trials"
    x: tuple[float, ...]
    median: tuple[float | None, ...]
    low: tuple[float | None, ...]
    high: tuple[float | None, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Band:
        return cls(data["strategy"], data["axis"], tuple(data["x"]), tuple(data["median"]), tuple(data["low"]),
                   tuple(data["high"]))


@dataclass(frozen=True)
class StrategySummary:
    """One row of the lab table: how a strategy did across the seeds."""

    strategy: str
    label: str
    runs: int  # runs that finished with a test score
    failed: int
    test: Spread  # final test score across seeds: mean, std, 95 % t-interval
    best_val: Spread  # best validation score of each run
    trials_per_min: float
    pruned_per_run: float
    saved_seconds_per_run: float
    time_to_target: float | None  # median seconds to reach the lab's target level (None: not reached)
    reached: int  # runs that reached it
    gap: Spread | None = None  # paired test-score gap to the leader over the same seeds (positive: leader better)
    own_per_run: float = 0.0  # trials per run the strategy chose itself (beyond the warm start)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StrategySummary:
        return cls(**{**data, "test": _spread(data["test"]), "best_val": _spread(data["best_val"]),
                      "gap": _spread(data.get("gap"))})


@dataclass(frozen=True)
class LabResult:
    """Everything one lab found, and the plain-language verdict."""

    dataset: str
    target: str
    metric: str
    direction: str  # "maximize" | "minimize"
    budget: float
    repeats: int
    seeds: tuple[int, ...]
    strategies: tuple[str, ...]
    runs: tuple[LabRun, ...]
    summaries: tuple[StrategySummary, ...]
    curves: tuple[Band, ...]
    target_level: float | None  # the validation level "time to target" measures (see automlops.lab.summary)
    tolerance: float
    verdict: str
    decisions: tuple[str, ...] = ()
    seconds: float = 0.0
    cancelled: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def summary_of(self, strategy: str) -> StrategySummary | None:
        return next((s for s in self.summaries if s.strategy == strategy), None)

    def summary(self) -> dict[str, Any]:
        """The CLI's ``--json`` line: the settings, one entry per strategy, the verdict (nan → ``None``)."""
        rows = {s.strategy: {"runs": s.runs, "failed": s.failed, "test_mean": s.test.mean, "test_std": s.test.std,
                             "ci_low": s.test.ci_low, "ci_high": s.test.ci_high, "best_val": s.best_val.mean,
                             "trials_per_min": s.trials_per_min, "pruned_per_run": s.pruned_per_run,
                             "saved_seconds_per_run": s.saved_seconds_per_run,
                             "time_to_target": s.time_to_target, "reached": s.reached,
                             "own_trials_per_run": s.own_per_run}
                for s in self.summaries}
        return _finite({"dataset": self.dataset, "target": self.target, "metric": self.metric,
                        "direction": self.direction, "budget": self.budget, "repeats": self.repeats,
                        "seeds": list(self.seeds), "target_level": self.target_level, "strategies": rows,
                        "verdict": self.verdict, "seconds": self.seconds, "cancelled": self.cancelled})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabResult:
        return cls(dataset=data["dataset"], target=data["target"], metric=data["metric"],
                   direction=data["direction"], budget=float(data["budget"]), repeats=int(data["repeats"]),
                   seeds=tuple(data["seeds"]), strategies=tuple(data["strategies"]),
                   runs=tuple(LabRun.from_dict(r) for r in data.get("runs", ())),
                   summaries=tuple(StrategySummary.from_dict(s) for s in data.get("summaries", ())),
                   curves=tuple(Band.from_dict(b) for b in data.get("curves", ())),
                   target_level=data.get("target_level"), tolerance=float(data.get("tolerance", 0.0)),
                   verdict=data.get("verdict", ""), decisions=tuple(data.get("decisions", ())),
                   seconds=float(data.get("seconds", 0.0)), cancelled=bool(data.get("cancelled", False)),
                   extra=dict(data.get("extra", {})))
