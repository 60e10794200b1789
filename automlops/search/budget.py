"""Keeping a time budget honestly.

A budget is a promise about wall time: "give me the best model you can in 60 s" must return
within ~60 s, *including* the work after the search (refitting the winner, building an
ensemble, logging to MLflow, saving). So the search does not get the whole budget: it stops
when the remaining time is no longer enough for the expected tail. The tail is estimated from
what was measured (the winner's fit time, an ensemble's members) plus a fixed allowance for
tracking and saving; a trial is not even started when it probably cannot finish in time.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from automlops.errors import ConfigError

__all__ = ["TimeBudget"]


@dataclass
class TimeBudget:
    """Deadline bookkeeping on the monotonic clock (``None`` total means unlimited)."""

    total: float | None
    started: float = field(default_factory=time.monotonic)
    fixed_tail: float = 2.0  # tracking + saving + process exit, measured ~1–2 s locally
    tail_estimate: float = 0.0  # refit (+ ensemble) of the current best, updated as trials finish
    durations: dict[str, list[float]] = field(default_factory=dict)
    backlog: Callable[[], float] = lambda: 0.0  # work queued elsewhere (MLflow logging) to wait for
    first_trial_share: float = 0.5  # of the budget the first trial may use (engines that do not refit: more)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def deadline(self) -> float | None:
        return None if self.total is None else self.started + self.total

    def margin(self) -> float:
        """Safety margin: 3 % of the budget, at least half a second."""
        return 0.0 if self.total is None else max(0.5, 0.03 * self.total)

    def search_deadline(self) -> float | None:
        """When the search must stop: the deadline less the expected tail, logging backlog and margin.

        The backlog (queued MLflow calls) counts for at most a tenth of the budget: a slow tracking
        server must not starve the search, and the final wait for it is cut at the deadline anyway.
        """
        if self.deadline is None or self.total is None:
            return None
        backlog = min(self.backlog(), 0.1 * self.total)
        return self.deadline - self.fixed_tail - self.tail_estimate - backlog - self.margin()

    def search_time_left(self) -> float:
        end = self.search_deadline()
        return float("inf") if end is None else end - time.monotonic()

    def record(self, model: str, seconds: float) -> None:
        self.durations.setdefault(model, []).append(seconds)

    def expected(self, model: str) -> float | None:
        seen = self.durations.get(model)
        return statistics.median(seen) if seen else None

    def trial_deadline(self) -> float | None:
        """When the running trial is interrupted.

        Normally the search deadline. Before any trial has finished there is no tail estimate yet,
        and without a finished trial there is nothing to ship, so the first one gets until half the
        budget (``first_trial_share``): later than that, even a finished trial could not be refitted in
        time. An engine that ships a trial's own model without refitting it (vision: the best epoch's
        weights) has no refit to wait for and lets the first trial run longer. If that first
        trial was stopped (a short budget that start-up had already eaten into: ``--time-budget 8``
        on a cold machine), the next ones – cheaper models, in the warm-start order – may run until
        the search deadline: one late result still beats "no trial finished".
        """
        if self.total is None:
            return None
        end = self.search_deadline()
        half = self.started + self.first_trial_share * self.total
        if not self.durations and time.monotonic() < half and end is not None:
            return min(half, end)
        return end

    def can_start(self, model: str) -> bool:
        """False when this model's typical trial would run past the search deadline.

        The very first trial always starts (it is interrupted at :meth:`trial_deadline`).
        """
        if not self.durations:
            return True
        left = self.search_time_left()
        if left <= 0:
            return False
        expected = self.expected(model)
        return expected is None or expected <= left

    def cheapest_expected(self) -> float:
        known = [statistics.median(v) for v in self.durations.values() if v]
        return min(known) if known else 0.0

    def refuse_if_spent(self, least: float = 0.0) -> None:
        """Refuse (ConfigError) a budget whose search time left is under ``least`` seconds (the engine's
        least work: one trial and the finish), naming a budget that would do.

        Called once the data is prepared. Otherwise every trial is stopped at once and the run ends with
        "no trial finished" only when the budget is gone (43,000 diamonds to cluster at --time-budget 5:
        start-up and preparing took 3 s, and the refit, tracking and saving keep the last 2 s).
        """
        end = self.search_deadline()
        if end is None or self.deadline is None or self.total is None or end - time.monotonic() > least:
            return
        elapsed, kept = self.elapsed(), self.deadline - end
        work = f" and one trial with the final fit needs about {least:.1f} s" if least > 0 else ""
        raise ConfigError(f"a time budget of {self.total:g} s is too small here: start-up and preparing the "
                          f"data took {elapsed:.1f} s, tracking and saving keep the last {kept:.1f} s{work}, so no "
                          f"trial could finish; give at least --time-budget {math.ceil(2 * (elapsed + kept + least))}")
