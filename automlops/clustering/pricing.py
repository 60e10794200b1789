"""Pricing a clustering trial before it starts, so that a time budget holds on a large table.

The deadline's watchdog (:mod:`automlops.search.deadline`) stops a fit between two steps of a loop
that runs in Python: a KMeans iteration, an EM step of a Gaussian mixture, a row added to Birch's
tree, a block of silhouette distances. Some clustering fits are one long call into compiled code
that it cannot stop: DBSCAN's search for every row's neighbours (3–9 s on 40,000 rows), SciPy's
average-linkage tree, HDBSCAN's spanning tree. Started 2 s before the deadline, such a call ends
several seconds after it, and the whole command with it. So each candidate is **priced** before it
starts, and skipped when the price is more than the time left before the deadline::

    price = cost(settings, rows, features) × how much slower this machine is than the reference

Each model's ``cost`` (in :mod:`automlops.clustering.algorithms`) counts the work of one fit –
rows × k × restarts for KMeans, sample² for agglomerative clustering – in seconds of the machine the
costs were measured on. The factor is measured here, after every fit, as ``seconds / cost``: a
model's own median once it has been fitted, else the median over every model fitted so far (a
loaded machine is slower for all of them). That is how FLAML prices a learner it has not tried yet:
a relative cost, rescaled by what it measured. A fit the watchdog cannot stop is priced with a
margin (:data:`UNSTOPPABLE_MARGIN`), even before anything was measured, and until it has run itself
it is never priced below its cost (other models running faster than theirs says little about a
neighbour search); a fit it can stop starts unpriced when nothing was measured yet: the watchdog
stops it if it runs too long.

The same costs order the warm start under a time budget (:func:`cheapest_first`): on 40,000 rows
Birch's defaults took 1–5 s and DBSCAN's 3–9, while KMeans looks at one k in a tenth of a second; after the
first model's defaults, cheapest first, the budget buys a look at every k before it is spent on one
expensive configuration.

Every trial also pays for its **silhouette**, whose cost grows with the square of the rows it reads:
on a 10,000-row sample 0.7 s with one thread (2–3 s with two threads on busy cores), more than most
fits, and paid three times per run at least (every trial, then the test rows and the training
rows). Under a time budget the silhouette reads
a smaller sample (:func:`silhouette_sample`), sized so that one scoring costs about
:data:`SCORING_SHARE` of the budget (never fewer than :data:`MIN_SILHOUETTE_SAMPLE` rows). The sample
is drawn with the run's seed, so every candidate is scored on the same rows: the comparison between
candidates is paired, and sampling noise mostly cancels out of it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna

from automlops.clustering import metrics
from automlops.clustering.algorithms import CLUSTER_MODELS, ClusterModel
from automlops.search.engine import DecisionLog

__all__ = ["MIN_SILHOUETTE_SAMPLE", "SCORING_SHARE", "UNSTOPPABLE_MARGIN", "TrialPricer", "cheapest_first",
           "describe_queue", "least_work_seconds", "log_silhouette_sample", "silhouette_sample"]

LEAST_WORK_MARGIN = 2.0  # least_work_seconds' reference costs, before anything was measured on this machine
UNSTOPPABLE_MARGIN = 1.5  # a fit the watchdog cannot stop must fit in the time left with this much to spare
SCORING_SHARE = 0.01  # of the time budget one silhouette may cost
MIN_SILHOUETTE_SAMPLE = 2000  # rows: below, the sampling noise of the score reaches ~0.01


class TrialPricer:
    """Seconds a fit will take, from each model's ``cost`` and the fits measured so far (see the module docstring)."""

    def __init__(self, n_rows: int, n_features: int, scoring_estimate: float = 0.0) -> None:
        self.n_rows, self.n_features = n_rows, n_features
        self.ratios: dict[str, list[float]] = {}  # each model's measured seconds / cost
        self.scoring_estimate = scoring_estimate  # one scoring, before any was measured
        self.scorings: list[float] = []
        self.first_trial: float | None = None  # when the first trial was priced (time.monotonic())

    def searched(self) -> float:
        """Seconds since the first trial started (0 before it)."""
        return 0.0 if self.first_trial is None else time.monotonic() - self.first_trial

    def record_scoring(self, seconds: float) -> None:
        """Learn how long one scoring of a trial's labels takes."""
        self.scorings.append(seconds)

    @property
    def scoring_seconds(self) -> float:
        """One scoring: the median of those measured (one busy moment does not set it), else the estimate."""
        return statistics.median(self.scorings) if self.scorings else self.scoring_estimate

    @property
    def final_scoring_seconds(self) -> float:
        """One scoring after the search: as measured, but at most twice the estimate timed before it started.

        The first trials are scored while MLflow opens its run in another thread (in a fresh home it creates
        its database: ~2 s of Python holding the interpreter lock): a 3,000-row silhouette timed at 0.1 s
        took 0.8 s then, and 0.2 s in finalize.
        """
        measured = self.scoring_seconds
        return min(measured, 2 * self.scoring_estimate) if self.scoring_estimate > 0 else measured

    def cost(self, spec: ClusterModel, params: Mapping[str, Any]) -> float | None:
        """The model's own estimate of one fit (seconds on the reference machine; None: it has none)."""
        return None if spec.cost is None else spec.cost(dict(params), self.n_rows, self.n_features)

    def record(self, spec: ClusterModel, params: Mapping[str, Any], seconds: float) -> None:
        """Learn from one finished fit how fast this machine runs the model."""
        cost = self.cost(spec, params)
        if cost is not None and cost > 0:
            self.ratios.setdefault(spec.name, []).append(seconds / cost)

    def factor(self, spec: ClusterModel) -> float | None:
        """This machine's seconds per cost unit for the model: its own median, else every model's (None: unmeasured)."""
        own = self.ratios.get(spec.name)
        every = [r for seen in self.ratios.values() for r in seen]
        return statistics.median(own) if own else statistics.median(every) if every else None

    def price(self, spec: ClusterModel, params: Mapping[str, Any]) -> float | None:
        """Seconds to keep free for this fit (margin included); None: start it unpriced (see the module docstring)."""
        cost, factor = self.cost(spec, params), self.factor(spec)
        if cost is None:
            return None
        if spec.stops_at_deadline:
            return None if factor is None else cost * factor
        if spec.name not in self.ratios:  # other models ran faster than their cost: not trusted for one that cannot stop
            factor = max(1.0, factor or 1.0)
        return cost * (factor or 1.0) * UNSTOPPABLE_MARGIN

    def check(self, spec: ClusterModel, params: Mapping[str, Any], deadline: float | None) -> None:
        """Skip (prune) a candidate whose fit and scoring are priced past ``deadline``."""
        self.first_trial = time.monotonic() if self.first_trial is None else self.first_trial
        fit = self.price(spec, params)
        if deadline is None or fit is None:
            return
        price, left = fit + self.scoring_seconds, deadline - time.monotonic()
        if price > left:
            raise optuna.TrialPruned(f"skipped: priced at ~{price:.1f} s (fit and score), more than the "
                                     f"{max(left, 0.0):.1f} s left before the deadline")


def least_work_seconds(pricer: TrialPricer, names: Sequence[str], scale: Any) -> float:
    """The least a clustering run needs once prepared: one fit of the cheapest model at its defaults and
    its refit, and three scorings (the trial's, then the test rows' and the training rows'). The search
    driver refuses a budget whose search time left is shorter (see ``TimeBudget.refuse_if_spent``).
    Costs are at the reference machine's speed, and nothing has been measured on this one yet, hence
    :data:`LEAST_WORK_MARGIN` (43,000 diamonds at --time-budget 5: 0.43 s estimated, 0.51 s left, and
    the first trial was stopped at the deadline)."""
    costs = [pricer.cost(spec, spec.defaults(scale)) for spec in map(CLUSTER_MODELS.get, names)]
    cheapest = min((c for c in costs if c is not None), default=0.0)
    return LEAST_WORK_MARGIN * (2 * cheapest + 3 * pricer.scoring_seconds)


def _time_one_silhouette(X: np.ndarray, rows: int, seed: int) -> float:
    """Seconds one silhouette of ``rows`` rows takes here (two arbitrary groups: the cost does not depend on them)."""
    rng = np.random.default_rng(seed)
    sample = X[rng.choice(len(X), rows, replace=False)]
    labels = np.arange(rows) % 2
    metrics.score_one(sample[:200], labels[:200], "silhouette", seed=seed)  # first call: lazy imports, caches
    started = time.perf_counter()
    metrics.score_one(sample, labels, "silhouette", seed=seed)
    return time.perf_counter() - started


def silhouette_sample(X: np.ndarray, time_budget: float | None, seed: int) -> tuple[int, float | None]:
    """Rows the silhouette reads, and its expected seconds (None: not measured).

    Without a time budget, or with few rows, the usual sample (:data:`~automlops.clustering.metrics.SILHOUETTE_SAMPLE`).
    Under a budget, one silhouette of :data:`MIN_SILHOUETTE_SAMPLE` rows is timed, and the sample grows
    with the square root of the time a scoring may take (its cost grows with the square of the rows).
    """
    usual = metrics.SILHOUETTE_SAMPLE
    if time_budget is None or len(X) <= MIN_SILHOUETTE_SAMPLE:
        return usual, None
    seconds = max(_time_one_silhouette(X, MIN_SILHOUETTE_SAMPLE, seed), 1e-4)
    rows = MIN_SILHOUETTE_SAMPLE * float(np.sqrt(SCORING_SHARE * time_budget / seconds))
    rows = int(min(usual, max(MIN_SILHOUETTE_SAMPLE, round(rows, -2))))
    read = min(rows, len(X))
    return rows, seconds * (read / MIN_SILHOUETTE_SAMPLE) ** 2


def log_silhouette_sample(rows: int, n_rows: int, expected: float | None, log: DecisionLog) -> float:
    """Say how many rows the silhouette reads when a budget sized its sample; return the expected seconds (0: unknown)."""
    if expected is not None and rows < n_rows:
        log("selection", f"the silhouette reads a random sample of {rows:,} of the {n_rows:,} rows (~{expected:.2f} s "
                         f"a scoring here: its cost grows with the square of the rows; at least "
                         f"{MIN_SILHOUETTE_SAMPLE:,}, more with a longer budget); the same rows for every candidate, "
                         "so they are compared on equal terms")
    return expected or 0.0


def _entry_cost(entry: Mapping[str, Any], pricer: TrialPricer) -> float:
    name = str(entry["model"])
    params = {key.split("__", 1)[1]: value for key, value in entry.items() if key.startswith(f"{name}__")}
    return pricer.cost(CLUSTER_MODELS.get(name), params) or 0.0


def cheapest_first(queued: list[dict[str, Any]], pricer: TrialPricer) -> list[dict[str, Any]]:
    """Warm-start entries (Optuna's fixed params: ``model`` and ``model__setting``): the first stays first (the
    first model's defaults, the strongest guess when there is time for one trial), the others cheapest first."""
    return queued[:1] + sorted(queued[1:], key=lambda entry: _entry_cost(entry, pricer))


def describe_queue(queued: list[dict[str, Any]], sweep_model: str) -> list[str]:
    """The queue in words: model names, with the sweep model's consecutive entries as "kmeans with k = 2, 3"."""
    words: list[str] = []
    ks: list[str] = []
    for entry in [*queued, {"model": ""}]:
        if entry["model"] == sweep_model:
            ks.append(str(entry[f"{sweep_model}__n_clusters"]))
            continue
        if ks:
            words.append(f"{sweep_model} with k = {', '.join(ks)}")
            ks = []
        if entry["model"]:
            words.append(str(entry["model"]))
    return words
