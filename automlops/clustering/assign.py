"""Placing new rows into clusters found by an algorithm that cannot do it itself.

KMeans, GaussianMixture and Birch have ``predict``: a new row goes to the nearest centre (or the
most likely Gaussian). AgglomerativeClustering, DBSCAN and HDBSCAN only label the rows they were
fitted on – their clusters are defined *by* those rows. To serve them, an **assigner** is fitted on
their result, a classic "cluster then classify" step:

* ``knn`` – a k-nearest-neighbour vote (k = 5, weighted by 1/distance) over the training rows and
  their cluster labels, noise (``-1``) included: a new row lying among noise rows stays noise, and a
  training row gets back exactly its own label (its distance to itself is 0). Used for
  agglomerative clustering and HDBSCAN;
* ``core`` – DBSCAN's own rule: a new row joins the cluster of its nearest *core* row when it lies
  within ``eps`` of it, and is noise (``-1``) otherwise – exactly how DBSCAN labels border rows.

:class:`AssignedClusterer` bundles the clustering algorithm and its assigner as one scikit-learn
estimator, so a ``Pipeline`` of preprocessing + ``AssignedClusterer`` has a ``predict`` returning
int labels, like any clusterer that can be served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, clone

from automlops.core.registry import Registry

__all__ = ["ASSIGNERS", "AssignedClusterer", "CoreAssigner", "describe_assigner"]

KNN_NEIGHBOURS = 5


class CoreAssigner(BaseEstimator):
    """Nearest core row within ``radius`` gives its cluster; farther rows are noise (-1)."""

    def __init__(self, radius: float = 0.5) -> None:
        self.radius = radius

    def fit(self, X: np.ndarray, labels: np.ndarray) -> CoreAssigner:
        from sklearn.neighbors import NearestNeighbors

        X, labels = np.asarray(X, dtype=float), np.asarray(labels, dtype=int)
        self.core_labels_ = labels
        self.index_ = NearestNeighbors(n_neighbors=1).fit(X) if len(X) else None
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if self.index_ is None:
            return np.full(len(X), -1, dtype=int)
        distance, nearest = self.index_.kneighbors(X)
        return np.where(distance[:, 0] <= self.radius, self.core_labels_[nearest[:, 0]], -1).astype(int)


def _knn(estimator: Any, X: np.ndarray, labels: np.ndarray) -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=min(KNN_NEIGHBOURS, len(X)), weights="distance").fit(X, labels)


def _core(estimator: Any, X: np.ndarray, labels: np.ndarray) -> Any:
    core = np.asarray(getattr(estimator, "core_sample_indices_", np.flatnonzero(labels >= 0)), dtype=int)
    return CoreAssigner(radius=float(estimator.eps)).fit(X[core], labels[core])


Fitter = Callable[[Any, np.ndarray, np.ndarray], Any]
ASSIGNERS: Registry[tuple[Fitter, str]] = Registry("cluster assigner")
ASSIGNERS.add("knn", (_knn, f"a {KNN_NEIGHBOURS}-nearest-neighbour vote (weighted by 1/distance) over the training "
                      "rows and their labels, noise included: a new row among noise rows stays noise (-1)"))
ASSIGNERS.add("core", (_core, "DBSCAN's own rule: the cluster of the nearest core row when it lies within eps, "
                       "otherwise noise (-1)"))


def describe_assigner(name: str) -> str:
    """The plain-language rule of the assigner called ``name``."""
    return ASSIGNERS.get(name)[1]


class AssignedClusterer(ClusterMixin, BaseEstimator):
    """A clusterer without ``predict`` plus the assigner fitted on its labels (see the module docstring).

    After ``fit``: ``labels_`` are the algorithm's labels of the training rows and ``assigner_``
    places new rows. The fitted algorithm itself is not kept (it cannot place new rows, and
    DBSCAN/HDBSCAN would carry a copy of the data); ``estimator`` keeps its settings.

    With ``max_fit_rows``, an algorithm whose cost grows with the square of the rows (agglomerative
    clustering's distance matrix, HDBSCAN's spanning tree) clusters a random sample of that many rows
    (``seed``), and the other training rows get their labels from the assigner, like new rows:
    "cluster a sample, then classify the rest", the usual way to run such methods on large tables.
    """

    def __init__(self, estimator: Any = None, assigner: str = "knn", max_fit_rows: int | None = None,
                 seed: int = 0) -> None:
        self.estimator, self.assigner = estimator, assigner
        self.max_fit_rows, self.seed = max_fit_rows, seed

    def fit(self, X: Any, y: Any = None) -> AssignedClusterer:
        X = np.asarray(X, dtype=float)
        fitted = clone(self.estimator)
        rows = np.arange(len(X))
        if self.max_fit_rows is not None and len(X) > self.max_fit_rows:
            rows = np.sort(np.random.default_rng(self.seed).choice(len(X), self.max_fit_rows, replace=False))
        fit_labels = np.asarray(fitted.fit_predict(X[rows]), dtype=int)
        self.assigner_ = ASSIGNERS.get(self.assigner)[0](fitted, X[rows], fit_labels)
        self.n_features_in_ = X.shape[1]
        self.n_fit_rows_ = len(rows)
        if len(rows) == len(X):
            self.labels_ = fit_labels
        else:
            self.labels_ = self.predict(X)
            self.labels_[rows] = fit_labels  # the rows the algorithm saw keep its own labels
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.assigner_.predict(np.asarray(X, dtype=float)), dtype=int)
