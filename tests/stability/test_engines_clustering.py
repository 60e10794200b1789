"""The clustering stability subject: a real clustering of iris, saved with its lake version, refitted."""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from automlops.errors import DataError
from automlops.mlops.lake import DataLake
from automlops.mlops.persist import save_model
from automlops.mlops.store import LoadedModel, ModelStore
from automlops.stability.clustering import ClusteringSubject, saved_subject


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedModel]:
    """KMeans on iris (species hidden as the reference), trained by the engine and saved with its data version."""
    from automlops.clustering import ClusteringEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOMLOPS_HOME", str(tmp_path_factory.mktemp("clustering-home")))
        data = load_iris(as_frame=True)
        frame = data.frame.drop(columns="target").assign(species=np.asarray(data.target_names)[data.target])
        entry = DataLake().add("iris", frame)
        engine = ClusteringEngine(reference="species", models=["kmeans"])
        result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=3)).fit(frame)  # type: ignore[arg-type]
        stored = save_model(result, ModelStore(), "iris_groups", dataset=entry.lineage(), register=False)
        yield ModelStore().load(stored.name, stored.version)


@pytest.fixture(scope="module")
def subject(loaded: LoadedModel) -> ClusteringSubject:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOMLOPS_HOME", str(Path(loaded.path).parents[2]))
        return saved_subject(loaded)


def test_the_reference_split_reproduces_the_saved_test_score(subject: ClusteringSubject, loaded: LoadedModel) -> None:
    assert subject.kind == "clustering" and subject.metric == "silhouette" and subject.direction == "maximize"
    assert subject.fit_score(subject.reference_split(), seed=0) == pytest.approx(loaded.meta["test_score"], abs=1e-12)


def test_random_splits_do_not_leak_and_score_in_the_silhouette_range(subject: ClusteringSubject) -> None:
    scheme, resamples = subject.resampling(2, seed=3)
    assert "80/20" in scheme and len(resamples) == 2
    n = len(subject.features)
    for r in resamples:
        assert not set(r.train) & set(r.test) and len(r.train) + len(r.test) == n and len(r.test) == 30
    assert list(resamples[0].test) != list(resamples[1].test)  # two different draws
    scores = [subject.fit_score(r, seed=0) for r in resamples]
    assert all(math.isfinite(s) and -1.0 <= s <= 1.0 for s in scores)


def test_sweeps_hold_the_chosen_values_and_randomness_follows_the_algorithm(subject: ClusteringSubject) -> None:
    sweeps = {s.param: s for s in subject.sweeps(5)}
    assert {"n_clusters", "init", "n_init"} <= set(sweeps)
    for name, sweep in sweeps.items():
        assert sweep.chosen == subject.params[name] and sweep.chosen in sweep.values
    assert sweeps["init"].categorical and len(sweeps["n_clusters"].values) >= 4
    assert subject.has_randomness()  # KMeans starts from random centres
    agglomerative = ClusteringSubject(subject.features, subject.prep, "agglomerative",
                                      {"n_clusters": 3, "linkage": "ward"})
    assert not agglomerative.has_randomness()
    split = subject.reference_split()
    assert agglomerative.fit_score(split, seed=0) == agglomerative.fit_score(split, seed=7)


def test_the_subject_survives_a_pickle_round_trip(subject: ClusteringSubject) -> None:
    split = subject.resampling(2, seed=1)[1][0]
    again = pickle.loads(pickle.dumps(subject))
    assert again.fit_score(split, seed=2) == subject.fit_score(split, seed=2)
    assert again.fit_score(split, seed=2, params={"n_clusters": 4}) != subject.fit_score(split, seed=2)


def _with_meta(loaded: LoadedModel, **changes: Any) -> LoadedModel:
    return dataclasses.replace(loaded, meta={**loaded.meta, **changes})


def test_what_cannot_be_rebuilt_is_a_clear_data_error(loaded: LoadedModel) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOMLOPS_HOME", str(Path(loaded.path).parents[2]))
        with pytest.raises(DataError, match="without a dataset version"):
            saved_subject(_with_meta(loaded, dataset=None))
        with pytest.raises(DataError, match="no longer in the data lake"):
            saved_subject(_with_meta(loaded, dataset={**loaded.meta["dataset"], "version": 9}))
        columns = [*loaded.meta["input_columns"], "petal colour"]
        with pytest.raises(DataError, match="'petal colour' are missing"):
            saved_subject(_with_meta(loaded, input_columns=columns))


def test_analyze_runs_on_the_clustering_subject(subject: ClusteringSubject, loaded: LoadedModel) -> None:
    from automlops.stability.analysis import analyze

    report = analyze(subject, splits=2, seeds=2, sensitivity=True, points=2, repeats=1, n_jobs=1,
                     trials=loaded.meta["trials"])
    assert any("fANOVA" in d for d in report.decisions)  # 3 trials: too few, and the report says so
    assert report.kind == "clustering" and report.metric == "silhouette"
    assert report.splits is not None and report.splits.n == 2 and report.seeds is not None
    assert {c.param for c in report.sensitivity} >= {"n_clusters"}
    assert report.n_fits >= 4 and report.verdict


def test_a_budgeted_clustering_is_rescored_with_its_own_silhouette_sample(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a time budget the engine scores a sample sized to it (fewer rows than 3,000 test rows here); the
    reference split must be rescored on that same sample to reproduce the saved test score."""
    from sklearn.datasets import make_blobs

    from automlops.clustering import ClusteringEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    monkeypatch.setenv("AUTOMLOPS_HOME", str(tmp_path))
    X, _ = make_blobs(n_samples=15_000, n_features=4, centers=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    entry = DataLake().add("blobs", frame)
    engine = ClusteringEngine(models=["kmeans"], n_clusters=3)
    result = SearchDriver(engine, DriverConfig(preset="fast", time_budget=4)).fit(frame)  # type: ignore[arg-type]
    stored = save_model(result, ModelStore(), "blob_groups", dataset=entry.lineage(), register=False)
    loaded = ModelStore().load(stored.name, stored.version)
    rows = loaded.meta["silhouette_rows"]
    assert rows < loaded.meta["n_test_rows"], rows  # the sample, not every test row, scored the model
    subject = saved_subject(loaded)
    score = subject.fit_score(subject.reference_split(), seed=0)
    assert score == pytest.approx(loaded.meta["test_score"], abs=1e-12)
