"""Stability: a partition an algorithm finds again scores near 1, a chance labelling near 0; the engine uses it."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from automlops.clustering.stability import stability
from automlops.core.fit import FitResult


def test_stable_and_unstable_partitions() -> None:
    X, _ = make_blobs(n_samples=300, centers=3, random_state=0)

    def kmeans(rows: np.ndarray, seed: int) -> np.ndarray:
        return KMeans(3, n_init=3, random_state=seed).fit_predict(rows)

    def coin(rows: np.ndarray, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).integers(0, 3, len(rows))

    assert stability(kmeans, X, kmeans(X, 0)) > 0.95
    assert abs(stability(coin, X, coin(X, 0))) < 0.1


def test_the_choice_weighs_silhouette_by_stability(iris_result: FitResult) -> None:
    line = next(d.message for d in iris_result.decisions if d.topic == "selection" and "random 80 % subsamples" in d.message)
    assert "silhouette × stability" in line and f"kept {iris_result.best_model}" in line
    assert iris_result.val_score in set(iris_result.trials["value"].dropna())  # a scored trial, not a new score
