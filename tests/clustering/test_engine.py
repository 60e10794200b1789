"""The clustering engine through the search driver: every algorithm, the reference column, the artifact."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automlops.clustering import CLUSTER_MODELS, CLUSTER_PRESETS, ClusteringEngine
from automlops.core.fit import FitResult
from automlops.errors import ConfigError
from automlops.search.driver import DriverConfig, SearchDriver
from tests.clustering.conftest import fit


def _train_rows(result: FitResult, n: int) -> np.ndarray:
    return np.setdiff1d(np.arange(n), result.test_rows)


@pytest.mark.parametrize("model", CLUSTER_MODELS.names())
def test_each_algorithm_fits_and_assigns_new_rows(iris: pd.DataFrame, model: str) -> None:
    X = iris.drop(columns="species")
    result = fit(X, n_trials=3, models=[model], max_clusters=6)
    assert result.best_model == model and result.artifact.kind == "clustering"
    new_rows = X.iloc[result.test_rows]
    labels = result.artifact.obj.predict(new_rows)
    assert labels.dtype.kind == "i" and len(labels) == len(new_rows)
    assert set(labels.tolist()) <= set(result.artifact.meta["clusters"]) | {-1}
    assert set(result.test_metrics) == {"silhouette", "calinski_harabasz", "davies_bouldin"}
    assert (result.artifact.meta["assigner"] is None) == (CLUSTER_MODELS.get(model).assigner is None)


@pytest.mark.parametrize("model", ["agglomerative", "dbscan", "hdbscan"])
def test_the_assigner_agrees_with_the_fit_labels_on_training_rows(iris: pd.DataFrame, model: str) -> None:
    X = iris.drop(columns="species")
    result = fit(X, n_trials=4, models=[model], max_clusters=6)
    pipe = result.artifact.obj
    train = X.iloc[_train_rows(result, len(X))]
    agreement = float(np.mean(pipe.predict(train) == pipe[-1].labels_))
    assert agreement >= 0.95
    assert any(d.topic == "assigner" and "cannot place new rows" in d.message for d in result.decisions)


def test_the_reference_is_reported_and_never_used_to_choose(iris: pd.DataFrame, iris_result: FitResult) -> None:
    without = fit(iris.drop(columns="species"), n_trials=14, models=["kmeans", "gaussian_mixture", "agglomerative"])
    assert without.best_model == iris_result.best_model and dict(without.best_params) == dict(iris_result.best_params)
    X = iris.drop(columns="species")
    assert np.array_equal(without.artifact.obj.predict(X), iris_result.artifact.obj.predict(X))
    assert "species" not in iris_result.input_columns
    scores = iris_result.artifact.meta["reference_scores"]
    assert scores["column"] == "species" and set(scores) >= {"ari", "nmi", "train", "test"}
    assert set(scores["test"]) == {"ari", "nmi"} and scores["ari"] > 0.4 and 0 < scores["nmi"] <= 1
    assert without.artifact.meta["reference_scores"] is None
    # the test rows' agreement is also a test metric (logged to MLflow), and only with a reference
    assert iris_result.test_metrics["reference_ari"] == scores["test"]["ari"]
    assert "reference_ari" not in without.test_metrics


def test_meta_is_json_and_describes_the_clusters(iris_result: FitResult) -> None:
    meta = iris_result.artifact.meta
    json.dumps(meta)
    k = meta["n_clusters"]
    assert len(meta["cluster_sizes"]) == k == len(meta["clusters"])
    assert sum(meta["cluster_sizes"]) + meta["noise_count"] == meta["n_train_rows"] == 120
    profile = meta["profile"]
    assert [r["cluster"] for r in profile] == meta["clusters"]
    assert {"cluster", "size", "share", "petal length (cm)"} <= set(profile[0])
    assert abs(sum(r["share"] for r in profile) - 1) < 1e-3
    projection = meta["projection"]
    assert len(projection["x"]) == len(projection["y"]) == len(projection["cluster"]) == 120
    assert len(projection["explained_variance"]) == 2 and 0.5 < sum(projection["explained_variance"]) <= 1
    assert meta["input_columns"] == list(iris_result.input_columns)
    assert set(iris_result.artifact.files) == {"projection.html", "profile.csv"}
    assert "cdn.plot.ly" in iris_result.artifact.files["projection.html"]
    assert iris_result.artifact.files["profile.csv"].startswith("cluster,size,share")


def test_the_projection_is_sampled_on_large_tables() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(np.vstack([rng.normal(0, 1, (1600, 3)), rng.normal(6, 1, (1600, 3))]), columns=list("abc"))
    result = fit(frame, n_trials=2, models=["kmeans"])
    assert len(result.artifact.meta["projection"]["x"]) == 2000 and result.artifact.meta["n_train_rows"] == 2560


def test_presets_and_choices_are_registries() -> None:
    assert CLUSTER_PRESETS.names() == ["fast", "medium", "best"]
    assert CLUSTER_PRESETS.get("best").time_budget is not None
    with pytest.raises(ConfigError, match="unknown clustering model 'spectral'"):
        SearchDriver(ClusteringEngine(models=["spectral"]), DriverConfig(preset="fast", n_trials=1)).fit(
            pd.DataFrame({"a": range(20), "b": range(20)}))
    with pytest.raises(ConfigError, match="unknown clustering metric"):
        SearchDriver(ClusteringEngine(metric="accuracy"), DriverConfig(preset="fast", n_trials=1)).fit(
            pd.DataFrame({"a": range(20), "b": range(20)}))


def test_other_metrics_can_select(iris: pd.DataFrame) -> None:
    result = fit(iris.drop(columns="species"), n_trials=4, models=["kmeans"], metric="davies_bouldin")
    assert result.problem.metric == "davies_bouldin" and result.problem.direction == "minimize"
    assert result.test_score == result.test_metrics["davies_bouldin"]


def test_categorical_columns_are_profiled_by_their_top_value() -> None:
    from palmerpenguins import load_penguins

    penguins = load_penguins()
    result = fit(penguins, n_trials=2, models=["kmeans"], reference="species")
    meta = result.artifact.meta
    assert "island" in meta["profile_columns"]["categorical"] and "species" not in meta["input_columns"]
    assert all(r["island"] in {"Biscoe", "Dream", "Torgersen"} for r in meta["profile"])
    assert isinstance(meta["profile"][0]["bill_length_mm"], float)


def test_a_column_of_many_categories_is_dropped_with_its_reason() -> None:
    """Target encoding needs a target; clustering crashed on a flights table's 3,564 tail numbers."""
    from palmerpenguins import load_penguins

    penguins = load_penguins().dropna().reset_index(drop=True)
    tags = penguins.assign(tag=[f"band-{i % 150}" for i in range(len(penguins))])  # 150 distinct ring bands
    result = fit(tags, n_trials=2, models=["kmeans"], reference="species")
    assert "tag" not in result.artifact.meta["input_columns"] and "island" in result.artifact.meta["input_columns"]
    assert any("dropped 'tag': too many categories" in d.message for d in result.decisions)
    assert len(result.artifact.obj.predict(tags.head(5))) == 5


def test_a_time_budget_is_kept() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(np.vstack([rng.normal(c, 1, (1500, 4)) for c in (0, 5)]), columns=list("abcd"))
    result = SearchDriver(ClusteringEngine(), DriverConfig(preset="medium", time_budget=4)).fit(frame)
    assert result.wall_seconds <= 4 * 1.25 and result.artifact.meta["n_clusters"] >= 2


def test_the_stability_check_runs_under_a_time_budget(iris: pd.DataFrame) -> None:
    """The search stops early to keep time for the stability refits; that time must then be spent on them
    (it was compared with the search's own deadline, already past, so a budgeted run never checked)."""
    result = SearchDriver(ClusteringEngine(reference="species"), DriverConfig(preset="medium", time_budget=8)).fit(iris)
    assert any("random 80 % subsamples; silhouette × stability" in d.message for d in result.decisions)
    assert not any("no time left" in d.message for d in result.decisions)
    assert result.wall_seconds <= 8 * 1.25


def test_kmeans_is_tried_at_every_number_of_clusters_before_the_search_explores() -> None:
    """On breast_cancer (two classes), 60 TPE trials over every algorithm never fitted KMeans with k=2
    and shipped k=3 (ARI 0.54 against the diagnosis); the warm-start sweep finds the k=2 partition (0.68)."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "diagnosis"})
    result = SearchDriver(ClusteringEngine(reference="diagnosis", preset="medium", seed=0),
                          DriverConfig(preset="medium", seed=0)).fit(frame)
    warm = next(d.message for d in result.decisions if "warm start" in d.message)
    assert "kmeans with k = 2, 4, 5, 6, 7, 8, 9, 10" in warm
    assert result.artifact.meta["n_clusters"] == 2
    assert result.artifact.meta["reference_scores"]["ari"] > 0.6


def test_a_given_number_of_clusters_bounds_every_candidate(iris: pd.DataFrame) -> None:
    result = fit(iris, n_trials=8, reference="species", models=["kmeans", "dbscan"], n_clusters=3)
    assert result.artifact.meta["n_clusters"] == 3
    assert any("k = 3, as asked" in d.message for d in result.decisions)
    assert result.artifact.meta["reference_scores"]["ari"] > 0.6  # the three species, not setosa against the rest
    skipped = fit(iris.drop(columns="species"), n_trials=3, n_clusters=4)  # every model, density ones left out
    assert skipped.artifact.meta["n_clusters"] == 4
    assert any("dbscan skipped: it finds its own number of clusters" in d.message for d in skipped.decisions)
    with pytest.raises(ConfigError, match="at least 2"):
        fit(iris, n_trials=1, n_clusters=1)


def test_the_stability_check_never_drops_the_best_candidate_unseen() -> None:
    """Too little time for the best candidate's refits: nothing is checked (the best silhouette stays);
    time for the best but not for a slow runner-up: the runner-up is passed over, the cheaper ones checked."""
    from automlops.clustering.stability import affordable
    from automlops.search.budget import TimeBudget
    from automlops.search.engine import Candidate

    engine = ClusteringEngine()
    engine._fit_seconds, engine._candidate_seconds = {"kmeans": 0.1, "birch": 100.0}, {}
    slow, fast, other = Candidate("birch", {"n_clusters": 3}), Candidate("kmeans", {"n_clusters": 3}), \
        Candidate("kmeans", {"n_clusters": 2})
    budget = TimeBudget(total=30.0)
    assert affordable([(0.30, slow), (0.29, fast), (0.28, other)], engine._seconds, budget) == []
    kept = affordable([(0.30, fast), (0.29, slow), (0.28, other)], engine._seconds, budget)
    assert kept == [(0.30, fast), (0.28, other)]
    everything = [(0.30, slow), (0.29, fast)]
    assert affordable(everything, engine._seconds, TimeBudget(total=None)) == everything  # no budget: check them all
