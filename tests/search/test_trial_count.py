"""A result counts the trials that ran, not the default configurations a warm start left waiting."""

from __future__ import annotations

from sklearn.datasets import load_wine

from automlops.search.driver import DriverConfig, SearchDriver
from automlops.search.trials import trials_frame


def test_trials_left_waiting_by_the_warm_start_are_not_counted() -> None:
    from automlops.clustering import ClusteringEngine

    driver = SearchDriver(ClusteringEngine(seed=0, preset="fast"), DriverConfig(preset="fast", n_trials=2))
    result = driver.fit(load_wine(as_frame=True).data)
    states = [t.state.name for t in driver.study.trials]
    assert states.count("WAITING") >= 1  # more defaults were enqueued than the two trials could run
    assert result.n_trials == 2 and set(result.trials["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}
    assert len(trials_frame(driver.study)) == 2
