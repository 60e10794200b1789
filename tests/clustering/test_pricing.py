"""Keeping a time budget on a large table: fits priced before they start, a silhouette sized to the budget,
thread pools that do not wait on a busy machine.

On 50,000 rows a ``--time-budget 10`` clustering ended at 14.7 s: DBSCAN's neighbour search (3-9 s on
40,000 rows) cannot be interrupted once started, each silhouette on a 10,000-row sample took 1.5-3 s,
and every fit ran its thread pools on two cores already busy (KMeans 10 times slower than on one).
"""

from __future__ import annotations

import time

import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from automlops.clustering import ClusteringEngine
from automlops.clustering.metrics import SILHOUETTE_SAMPLE
from automlops.search.engine import DecisionLog


def _blobs(n: int, features: int = 10) -> pd.DataFrame:
    X, _ = make_blobs(n_samples=n, n_features=features, centers=5, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(features)])


def _log(budget: float | None) -> DecisionLog:
    started = time.monotonic()
    return DecisionLog(lambda event: None, lambda: time.monotonic() - started, lambda: budget)


def test_a_fit_that_cannot_be_interrupted_is_priced_and_skipped_before_it_starts() -> None:
    """DBSCAN on 16,000 rows (one neighbour search in compiled code, ~1 s): with less time left than its price
    it is not started. It used to start, run to its end past the deadline, and only then be pruned."""
    engine = ClusteringEngine(models=["dbscan"])
    engine.prepare(_blobs(20_000), _log(None))
    candidate = engine.suggest(optuna.trial.FixedTrial({"model": "dbscan", "dbscan__min_samples": 5,  # type: ignore[arg-type]
                                                        "dbscan__eps_quantile": 0.9}))
    started = time.monotonic()
    with pytest.raises(optuna.TrialPruned, match=r"skipped: priced at ~\d+\.\d s .* left before the deadline"):
        engine.evaluate(candidate, None, started + 0.05)
    assert time.monotonic() - started < 0.05 + 0.25  # refused, not fitted
    assert engine.evaluate(candidate, None, None).mean > 0  # without a deadline the same candidate is fitted


def test_under_a_short_budget_the_silhouette_reads_a_smaller_sample_of_the_same_rows() -> None:
    from automlops.clustering.pricing import MIN_SILHOUETTE_SAMPLE, silhouette_sample

    X = _blobs(12_000).to_numpy()
    assert silhouette_sample(X, None, seed=0) == (SILHOUETTE_SAMPLE, None)  # no budget: the usual 10,000 rows
    rows, seconds = silhouette_sample(X, 0.5, seed=0)
    assert rows == MIN_SILHOUETTE_SAMPLE and seconds is not None and 0 < seconds < 5
    assert silhouette_sample(X, 1e6, seed=0)[0] == SILHOUETTE_SAMPLE  # a long budget reads as many as before


def test_a_budgeted_search_scores_every_candidate_on_the_sized_sample_and_records_it() -> None:
    """The sample is chosen once, before the first trial, so every candidate is scored on the same rows;
    the model records its size (the exported script scores the test rows with it)."""
    from automlops.search.driver import DriverConfig, SearchDriver

    result = SearchDriver(ClusteringEngine(models=["kmeans"]), DriverConfig(time_budget=10, n_trials=4)).fit(_blobs(12_000))
    rows = result.artifact.meta["silhouette_rows"]
    assert 2000 <= rows < SILHOUETTE_SAMPLE  # at least MIN_SILHOUETTE_SAMPLE
    assert any(f"the silhouette reads a random sample of {rows:,} of the 9,600 rows" in d.message
               for d in result.decisions)


_THREADS_PROBE = """
import json, os
from threadpoolctl import threadpool_info
from automlops.clustering.engine import few_threads
from automlops.core import cores as machine
cores = len(os.sched_getaffinity(0))
machine.WINDOW = float("inf")  # keep the first reading, which the load average below decides
os.getloadavg = lambda: (cores + 2.0, 0.0, 0.0)  # every core busy with other work
machine._last.clear()  # forget the reading taken at import, which saw the real machine (idle: threads pay)
with few_threads(200_000):
    busy = sorted({pool["num_threads"] for pool in threadpool_info()})
with few_threads(1_000):
    small = sorted({pool["num_threads"] for pool in threadpool_info()})
os.getloadavg = lambda: (1.0, 0.0, 0.0)  # only this process: the other cores idle
machine._last.clear()
print(json.dumps([busy, small, type(few_threads(200_000)).__name__]))
"""


def test_a_busy_machine_runs_each_fit_on_one_thread() -> None:
    """On two cores already busy, KMeans on 40,000 rows took 0.4-0.8 s with both threads and under 0.1 s with one:
    a large table alone no longer means every thread. (A fresh process: the thread pools are those a clustering
    run loads, not whatever other tests loaded.)"""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _THREADS_PROBE], capture_output=True, text=True, timeout=120,
                          check=True)
    busy, small, idle = json.loads(done.stdout.strip().splitlines()[-1])
    assert busy == [1] and small == [1]
    assert idle == "nullcontext"  # idle cores and a large table: the pools keep their own threads


def test_the_warm_start_runs_cheapest_first_under_a_budget() -> None:
    """After the first model's defaults, KMeans at each k (a tenth of a second on 40,000 rows) comes before
    Birch or DBSCAN (seconds): the budget buys a look at every k before one expensive configuration."""
    engine = ClusteringEngine(models=["kmeans", "birch", "dbscan"])
    engine.prepare(_blobs(6_000), _log(30.0))
    order = engine.warm_start(optuna.create_study(direction="maximize"))
    assert order[0] == "kmeans with k = 3, 2, 4, 5, 6, 7, 8, 9, 10" and sorted(order[1:]) == ["birch", "dbscan"]
    unbudgeted = ClusteringEngine(models=["kmeans", "birch", "dbscan"])
    unbudgeted.prepare(_blobs(6_000), _log(None))
    assert unbudgeted.warm_start(optuna.create_study(direction="maximize"))[:3] == ["kmeans", "birch", "dbscan"]


def test_a_budget_too_small_is_refused_before_the_search() -> None:
    """Not "no trial finished" once the budget is gone, but at once, with the budget that would do."""
    from automlops.errors import ConfigError
    from automlops.search.driver import DriverConfig, SearchDriver

    with pytest.raises(ConfigError, match=r"too small here.*one trial with the final fit needs about.*give at least"):
        SearchDriver(ClusteringEngine(models=["kmeans"]), DriverConfig(time_budget=0.2)).fit(_blobs(12_000))
