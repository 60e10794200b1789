"""What a finished clustering reports: the shipped configuration on the leaderboard, date columns in the
profile, and a fixed k honoured even when a few outliers form a cluster of their own."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine, make_blobs

from automlops.clustering.profile import cluster_profile

from .conftest import fit


def test_the_leaderboard_describes_the_shipped_configuration() -> None:
    """Wine, agglomerative only: silhouette × stability ships another linkage than the top-scoring trial."""
    wine = load_wine(as_frame=True).frame.drop(columns="target")
    result = fit(wine, n_trials=10, models=["agglomerative"], preset="medium")
    board = result.leaderboard
    rows = board[board["model"].str.startswith(result.best_model)]
    described = [dict(p) for p in rows["params"]]
    assert dict(result.best_params) in described  # some row holds exactly what was shipped...
    match = rows.iloc[described.index(dict(result.best_params))]
    assert match["score"] == result.val_score  # ...with the score it earned
    assert len(rows) == 2 and "agglomerative (shipped)" in set(rows["model"])  # here it is not the best trial


def test_the_profile_shows_when_each_cluster_happened() -> None:
    """Two groups alike in every number, six months apart: only the dates tell them apart."""
    rng = np.random.default_rng(0)
    n = 200
    winter = pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    summer = pd.Timestamp("2013-07-01") + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    frame = pd.DataFrame({"when": np.concatenate([winter, summer]), "x": rng.normal(size=2 * n)})
    labels = np.repeat([0, 1], n)
    profile = cluster_profile(frame, labels, ["x"], [], ["when"])
    assert profile[0]["when (min)"] >= "2013-01-01" and profile[0]["when (max)"] <= "2013-01-28"
    assert profile[1]["when (min)"] >= "2013-07-01" and profile[1]["when (median)"] < "2013-07-29"
    result = fit(frame, n_trials=2, models=["kmeans"], n_clusters=2)
    meta = result.artifact.meta
    assert meta["profile_columns"]["datetime"] == ["when"]
    medians = sorted(r["when (median)"] for r in meta["profile"])
    assert medians[0].startswith("2013-01") and medians[1].startswith("2013-07")
    assert "when (median)" in result.artifact.files["profile.csv"]


def test_a_fixed_k_is_honoured_when_outliers_form_a_cluster() -> None:
    """Three blobs and two far rows at k = 4: the two rows are the fourth cluster, accepted with a note."""
    X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    X = np.vstack([X, [[60.0, 60.0], [61.0, 60.0]]])
    frame = pd.DataFrame(X, columns=["a", "b"])
    result = fit(frame, n_trials=3, models=["kmeans"], n_clusters=4)
    meta = result.artifact.meta
    assert meta["n_clusters"] == 4 and min(meta["cluster_sizes"]) <= 2
    notes = [d.message for d in result.decisions if d.topic == "clusters"]
    assert any("cluster of" in m and "k = 4" in m for m in notes)


def test_a_fixed_k_prefers_groups_to_an_outlier_split_off() -> None:
    """breast_cancer told k = 2: single linkage splits one outlier off the rest with the best silhouette, but
    KMeans finds the two diagnoses; a partition of real groups is shipped whenever the search found one."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import adjusted_rand_score

    frame = load_breast_cancer(as_frame=True).frame
    result = fit(frame, n_trials=12, models=["kmeans", "agglomerative"], n_clusters=2, reference="target")
    meta = result.artifact.meta
    assert min(meta["cluster_sizes"]) >= 0.02 * sum(meta["cluster_sizes"]), meta["cluster_sizes"]
    labels = result.artifact.obj.predict(frame.drop(columns="target"))
    assert adjusted_rand_score(frame["target"], labels) > 0.5
    notes = [d.message for d in result.decisions if d.topic == "selection"]
    assert any("passed over for partitions whose clusters are all groups" in m for m in notes)


def test_the_time_kept_for_finalize_counts_its_scoring() -> None:
    """Finalize scores the labels twice more (test rows, training rows): on 50,000 flights each silhouette
    cost ~3 KMeans fits and the tail estimate counted only fits, so --time-budget 10 ended at 11.7-12.3 s."""
    from automlops.clustering import ClusteringEngine
    from automlops.clustering.engine import FINAL_SCORINGS
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.search.trials import best_per_model

    X, _ = make_blobs(n_samples=3000, centers=3, n_features=4, random_state=0)
    engine = ClusteringEngine(models=["kmeans"])
    driver = SearchDriver(engine, DriverConfig(n_trials=3))
    driver.fit(pd.DataFrame(X, columns=list("abcd")))
    ranked = best_per_model(driver.study, maximize=True)
    assert engine.pricer.final_scoring_seconds > 0
    fits_only = engine.tail_seconds(ranked) - FINAL_SCORINGS * engine.pricer.final_scoring_seconds
    assert engine.tail_seconds(ranked) > fits_only and FINAL_SCORINGS >= 2


def test_unseen_rows_all_in_one_cluster_are_said_and_warned() -> None:
    # seattle_weather: agglomerative k = 2 kept 1,145 and 24 training rows; all 292 unseen rows fell in the first,
    # the test silhouette was NaN and the JSON's test_score null, with no word about why.
    from automlops.clustering.choice import one_cluster_note
    from automlops.search.trial_notes import warned

    train = np.array([0] * 1145 + [1] * 24)
    note = one_cluster_note(train, np.zeros(292, dtype=int), "silhouette")
    assert note is not None and warned([note]) == [note]
    assert "(0, all 292)" in note and "1,145, 24 rows" in note and "silhouette is undefined" in note
    assert one_cluster_note(train, np.array([0, 1, 0]), "silhouette") is None  # both clusters reached
    assert one_cluster_note(train, np.array([0, -1, 0]), "silhouette") is not None  # noise is no cluster
