"""A second engine (clustering, here KMeans only) runs through the same SearchDriver: the protocol is real."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score

from automlops.clustering import CLUSTER_PRESETS, ClusteringEngine
from automlops.config import Settings
from automlops.core.fit import FitResult
from automlops.core.results import ProgressEvent
from automlops.mlops.tracking import Tracker
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.tabular.presets import PRESETS


@pytest.fixture(scope="module")
def iris_features() -> tuple[pd.DataFrame, np.ndarray]:
    frame = load_iris(as_frame=True).frame
    return frame.drop(columns="target"), frame["target"].to_numpy()


def test_kmeans_engine_through_the_driver(iris_features, settings: Settings, empty_db: Path) -> None:  # type: ignore[no-untyped-def]
    X, truth = iris_features
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    tracker = Tracker(settings=settings)
    events: list[ProgressEvent] = []
    driver = SearchDriver(ClusteringEngine(seed=0, models=["kmeans"]),
                          DriverConfig(preset="fast", n_trials=8, run_name="iris-k"),
                          tracker=tracker, callbacks=[events.append])
    result = driver.fit(X)

    assert isinstance(result, FitResult) and result.engine == "clustering"
    assert result.problem.task.value == "clustering" and result.problem.metric == "silhouette"
    assert result.artifact.kind == "clustering" and result.best_model == "kmeans"
    assert 2 <= result.best_params["n_clusters"] <= 10
    assert len(result.trials) == 8 and result.leaderboard.iloc[0]["model"] == "kmeans"
    # the test rows are held out: assigned by predict, scored there, and disjoint from the search rows
    assert result.n_test_rows == 30 and len(set(result.test_rows.tolist())) == 30
    assert set(result.test_metrics) == {"silhouette", "calinski_harabasz", "davies_bouldin"}
    labels = result.artifact.obj.predict(X.iloc[result.test_rows])
    assert len(np.unique(labels)) == result.best_params["n_clusters"] or len(np.unique(labels)) >= 2
    # it really clusters: the groups agree with the hidden species far beyond chance
    assert adjusted_rand_score(truth, result.artifact.obj.predict(X)) > 0.4
    # the same driver tracked it: a parent run tagged with the engine
    assert result.run_id is not None and not result.tracking_errors
    run = tracker.client.get_run(result.run_id)
    assert run.data.tags["automlops.engine"] == "clustering" and run.data.tags["automlops.kind"] == "automl"
    assert run.info.status == "FINISHED"
    assert "test_silhouette" in run.data.metrics
    assert any(e.extra.get("run_id") == result.run_id for e in events)  # the run id is announced when it opens
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.best_model = "other"  # type: ignore[misc]


def test_presets_are_scoped_per_engine(iris_features) -> None:  # type: ignore[no-untyped-def]
    X, _ = iris_features
    assert CLUSTER_PRESETS.names() == ["fast", "medium", "best"] and "medium" in PRESETS
    assert CLUSTER_PRESETS.get("medium") is not PRESETS.get("medium")
    from automlops.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown clustering preset 'turbo'"):
        SearchDriver(ClusteringEngine(), DriverConfig(preset="turbo", n_trials=2)).fit(X)


def test_the_old_import_path_still_works() -> None:
    from automlops import clustering
    from automlops.tabular import clustering as old

    assert old.ClusteringEngine is clustering.ClusteringEngine and old.CLUSTER_PRESETS is CLUSTER_PRESETS


class _FailingOddTrials(ClusteringEngine):
    """KMeans whose odd-numbered trials raise, as a model that cannot handle the data would."""

    def evaluate(self, candidate, trial, deadline=None):  # type: ignore[no-untyped-def]
        if trial.number % 2:
            raise ValueError("planted failure")
        return super().evaluate(candidate, trial, deadline)


def test_failed_trials_are_said_once_in_plain_words_not_as_tracebacks(iris_features,  # type: ignore[no-untyped-def]
                                                                       capfd: pytest.CaptureFixture[str]) -> None:
    """Optuna logs a failed trial as a WARNING with its whole traceback, which a user reads as a crash; the
    driver silences it and records one decision: how many failed, which models, the first error."""
    X, _ = iris_features
    result = SearchDriver(_FailingOddTrials(seed=0, models=["kmeans"]),
                          DriverConfig(preset="fast", n_trials=6, run_name="iris-fail")).fit(X)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "planted failure" not in err, err
    said = [str(d) for d in result.decisions if "failed and were left out" in str(d)]
    assert len(said) == 1 and "3 trial(s)" in said[0] and "kmeans" in said[0] and "planted failure" in said[0]


class _SlowKMeans(ClusteringEngine):
    """KMeans whose every trial takes 2.5 s more: a table too big for its time budget, with a known trial time."""

    def evaluate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        import time

        time.sleep(2.5)
        return super().evaluate(*args, **kwargs)


@pytest.mark.serial
def test_a_budget_that_lets_too_few_trials_finish_says_so(iris_features) -> None:  # type: ignore[no-untyped-def]
    """8 s for trials of 2.5 s: two finish, and the decisions say the search compared almost nothing (the
    model is about the first settings tried) and what would help; a budget of many trials says nothing."""
    from automlops.search.driver import STARVED

    X, _ = iris_features
    starved = SearchDriver(_SlowKMeans(seed=0, models=["kmeans"]), DriverConfig(preset="fast", time_budget=8)).fit(X)
    said = [d.message for d in starved.decisions if d.message.startswith(STARVED)]
    finished = int((starved.trials["state"] == "COMPLETE").sum())
    assert 1 <= finished < 3 and len(said) == 1, (finished, said)
    assert said[0].startswith(f"{STARVED} {finished} trial(s) finish in 8 s") and "--time-budget" in said[0]
    roomy = SearchDriver(ClusteringEngine(seed=0, models=["kmeans"]), DriverConfig(preset="fast", time_budget=8)).fit(X)
    assert not [d for d in roomy.decisions if d.message.startswith(STARVED)]
