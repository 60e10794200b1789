"""The clustering algorithms the engine searches, each with its Optuna search space.

Clustering algorithms differ in what they think a *cluster* is:

* **centroid** methods (KMeans, MiniBatchKMeans) – round groups around a centre; you give *k*;
* **model-based** (GaussianMixture) – each cluster is a Gaussian bell, possibly stretched or
  tilted (``covariance_type``), so elongated groups are allowed; you give *k*;
* **hierarchical** (AgglomerativeClustering, Birch) – rows are merged step by step into a tree,
  which is cut into *k* groups; ``linkage`` says how the distance between two groups is measured;
* **density** methods (DBSCAN, HDBSCAN) – a cluster is a dense region separated by sparse ones; *k*
  is not given but found, and rows in sparse regions are **noise** (label ``-1``).

DBSCAN's radius ``eps`` only means something relative to the distances in *this* data, so it is
searched as a quantile of the **k-distance** (each row's distance to its ``min_samples``-th
neighbour among all the rows, measured for a sample of them; Ester et al. 1996): the search explores
"eps covers the 60 %…98 % densest rows" rather than raw numbers that fit one data set and not another.

**Memory.** DBSCAN first lists every row's ``eps``-neighbourhood, so its memory grows with the number
of neighbour pairs, ``n² × share`` where ``share`` is the fraction of pairs closer than ``eps``. On
54,000 diamonds a radius covering a fifth of the pairs asked for 10.5 GB. The share is
estimated before fitting from the distances of a sample of rows (:meth:`DataScale.neighbour_share`),
each model may say what a fit would need (``fit_bytes``), and the engine refuses a candidate above
its cap with the reason, before it is fitted. Birch merges its sub-clusters with Ward's method, whose
memory grows with the square of their number; :class:`SubclusterMerger` switches to k-means on the
sub-cluster centres when there are too many of them, and :class:`BirchClusterer` keeps only the centres
and their labels, so a Birch model saves like the others.

**Time.** Each entry also says what a fit costs (``cost``: seconds on the 2-core machine these numbers
were measured on, from the rows, *k*, restarts and features) and whether the deadline's watchdog can
stop it mid-fit (``stops_at_deadline``): DBSCAN's neighbour search, SciPy's linkage tree and HDBSCAN's
spanning tree are single calls into compiled code that run to their end. The engine prices each
candidate with them before starting it (:mod:`automlops.clustering.pricing`).

Every entry says whether the fitted model can place *new* rows itself (``predict``) or needs an
assigner fitted on its result (:mod:`automlops.clustering.assign`). Extend the engine by
registering another :class:`ClusterModel`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import Birch

from automlops.clustering.assign import AssignedClusterer
from automlops.clustering.metrics import DISTANCE_BLOCK_MB
from automlops.core.registry import Registry
from automlops.search.suggest import Suggest

__all__ = ["CLUSTER_MODELS", "ClusterModel", "DataScale", "BirchClusterer", "SubclusterMerger", "data_scale"]

KDIST_SAMPLE = 2000  # rows used to measure k-distances (enough for stable quantiles)
KDIST_MAX_NEIGHBOURS = 16
PAIR_SAMPLE = 300  # rows whose distances to the k-distance sample estimate the share of close pairs
DBSCAN_BYTES_PER_PAIR = 26  # measured (scikit-learn 1.9): an index and a distance per neighbour, partly held twice
# Rows an algorithm whose cost grows with n² clusters at most (a sample above; measured on 54k diamonds, 26 columns):
AGGLOMERATIVE_MAX_ROWS = 6_000  # the full distance matrix: 6k rows ~0.3 GB and 1 s; 20k rows took 3 GB and 21 s
HDBSCAN_MAX_ROWS = 10_000  # its minimum spanning tree takes n² time: 10k rows ~1.4 s, 20k ~5 s, 43k ~17 s
MAX_EXACT_MERGE = 4000  # sub-clusters Ward's method merges exactly (~130 MB, ~0.4 s); more: k-means on the centres


@dataclass(frozen=True)
class DataScale:
    """What the search spaces need to know about the (preprocessed) training rows."""

    n_rows: int
    k_max: int
    kdist: np.ndarray = field(repr=False)  # sorted k-distances, column j = distance to the (j+1)-th neighbour
    k_min: int = 2  # equal to k_max when the user fixed the number of clusters
    pair_distances: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # sorted, a sample of pairs

    @property
    def k_default(self) -> int:
        """The number of clusters the models' defaults start from: 3, within [k_min, k_max]."""
        return min(max(3, self.k_min), self.k_max)

    def eps(self, min_samples: int, quantile: float) -> float:
        """DBSCAN radius: the ``quantile`` of the distance to the ``min_samples``-th neighbour (self included)."""
        column = min(max(min_samples - 1, 1), self.kdist.shape[1]) - 1
        return max(float(np.quantile(self.kdist[:, column], quantile)), 1e-9)

    def neighbour_share(self, radius: float) -> float:
        """Estimated share of row pairs (a row with itself included) at most ``radius`` apart."""
        if len(self.pair_distances) == 0:
            return 1.0
        return float(np.searchsorted(self.pair_distances, radius, side="right")) / len(self.pair_distances)


def data_scale(X: np.ndarray, k_max: int, seed: int, k_min: int = 2) -> DataScale:
    """Measure the k-distances of ``X``: of a sample of at most KDIST_SAMPLE rows, to their neighbours among *all* rows.

    The neighbours must be looked for in all the rows DBSCAN will cluster: within a sample the rows
    are sparser, so their neighbours are farther. On 43,000 diamonds, radii read from a 2,000-row
    sample's own k-distances were 2–4 times too wide, and covered 10–25 times the intended pairs.
    """
    from sklearn import config_context
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    sample = X[rng.choice(len(X), KDIST_SAMPLE, replace=False)] if len(X) > KDIST_SAMPLE else X
    k = min(KDIST_MAX_NEIGHBOURS, len(X) - 1)
    with config_context(working_memory=DISTANCE_BLOCK_MB):
        distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(sample)
    pairs = np.sort(pairwise_distances(sample[:PAIR_SAMPLE], sample).ravel().astype(np.float32))
    return DataScale(len(X), k_max, distances[:, 1:], k_min, pairs)


@dataclass(frozen=True)
class ClusterModel:
    """One clustering algorithm: how to build it, its search space and defaults.

    ``assigner`` names an entry of :data:`automlops.clustering.assign.ASSIGNERS` for algorithms
    without ``predict`` (None: the model assigns new rows itself). ``max_rows`` caps the rows an
    algorithm whose cost grows with n² may be given: above it, it clusters a random sample of that
    many rows and its assigner labels the others (``samples_large_tables``; else it is skipped).
    ``fit_bytes`` estimates the memory one fit with these settings would take (None: small enough
    not to ask). ``cost(params, n_rows, n_features)`` estimates one fit's seconds (None: not priced);
    ``stops_at_deadline`` is False for a fit the deadline cannot interrupt (it must be priced with a margin).
    """

    name: str
    label: str
    build: Callable[[dict[str, Any], int], Any]
    search_space: Callable[[Suggest, DataScale], dict[str, Any]]
    defaults: Callable[[DataScale], dict[str, Any]]
    assigner: str | None = None
    noise: bool = False  # labels rows as noise (-1)
    max_rows: int | None = None
    min_rows: int = 0  # below this, another entry does the same job better: skipped unless asked for by name
    fit_bytes: Callable[[dict[str, Any], DataScale], float] | None = None
    samples_large_tables: bool = True  # above max_rows: cluster a sample, assign the rest (needs an assigner)
    cost: Callable[[dict[str, Any], int, int], float] | None = None
    stops_at_deadline: bool = True

    def samples(self, n_rows: int) -> bool:
        """Whether this algorithm clusters a sample of ``n_rows`` rows (and assigns the rest) rather than all."""
        return (self.max_rows is not None and n_rows > self.max_rows and self.assigner is not None
                and self.samples_large_tables)

    def clusterer(self, params: dict[str, Any], seed: int, n_rows: int, *, predicts: bool = False) -> Any:
        """The estimator that clusters ``n_rows`` rows with these settings.

        Above ``max_rows`` (for an algorithm that samples): a fit on a random sample plus its assigner
        for the other rows (:class:`~automlops.clustering.assign.AssignedClusterer`). With ``predicts``,
        an algorithm that cannot place new rows gets its assigner in any case.
        """
        estimator = self.build(dict(params), seed)
        sampled = self.samples(n_rows)
        if self.assigner is not None and (sampled or predicts):
            return AssignedClusterer(estimator, self.assigner, max_fit_rows=self.max_rows if sampled else None,
                                     seed=seed)
        return estimator


CLUSTER_MODELS: Registry[ClusterModel] = Registry("clustering model")


# Costs: seconds of one fit measured on the 2-core machine of the stack notes, busy with other work, one
# thread (see automlops.clustering.threads), 40,000 rows; the engine rescales them by what it measures on
# the machine it runs on. Features raise most of them less than linearly (30 features cost 1-2x what 10
# cost): hence a square root.
def _width(n_features: int) -> float:
    return float(np.sqrt(max(n_features, 1) / 10))


def _sampled_cost(n: int, cap: int, fit: float, assign: float) -> float:
    """A quadratic fit on at most ``cap`` rows (``fit`` s per pair) plus the assignment of the rest."""
    m = min(n, cap)
    return fit * m * m + assign * (n - m) * m


def _k(s: Suggest, scale: DataScale) -> int:
    return s.int("n_clusters", scale.k_min, scale.k_max)


def _kmeans(p: dict[str, Any], seed: int) -> Any:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=int(p["n_clusters"]), init=p.get("init", "k-means++"), n_init=int(p.get("n_init", 4)),
                  random_state=seed)


CLUSTER_MODELS.add("kmeans", ClusterModel(
    "kmeans", "KMeans", _kmeans,
    lambda s, c: {"n_clusters": _k(s, c), "init": s.cat("init", ["k-means++", "random"]),
                  "n_init": s.int("n_init", 2, 8)},
    lambda c: {"n_clusters": c.k_default, "init": "k-means++", "n_init": 4},
    cost=lambda p, n, d: 7e-8 * n * int(p["n_clusters"]) * int(p.get("n_init", 4)) * _width(d)))


def _minibatch(p: dict[str, Any], seed: int) -> Any:
    from sklearn.cluster import MiniBatchKMeans

    return MiniBatchKMeans(n_clusters=int(p["n_clusters"]), batch_size=int(p.get("batch_size", 1024)), n_init=1,
                           random_state=seed)


CLUSTER_MODELS.add("minibatch_kmeans", ClusterModel(
    "minibatch_kmeans", "MiniBatchKMeans", _minibatch,
    lambda s, c: {"n_clusters": _k(s, c), "batch_size": s.cat("batch_size", [256, 1024, 4096])},
    lambda c: {"n_clusters": c.k_default, "batch_size": 1024}, min_rows=5000,
    cost=lambda p, n, d: 2e-6 * n * _width(d)))  # it stops after ~10 batches without improvement, whatever k


def _gmm(p: dict[str, Any], seed: int) -> Any:
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components=int(p["n_clusters"]), covariance_type=p.get("covariance_type", "full"),
                           n_init=int(p.get("n_init", 2)), reg_covar=1e-4, random_state=seed)


CLUSTER_MODELS.add("gaussian_mixture", ClusterModel(
    "gaussian_mixture", "GaussianMixture", _gmm,
    lambda s, c: {"n_clusters": _k(s, c), "covariance_type": s.cat("covariance_type",
                                                                    ["full", "tied", "diag", "spherical"]),
                  "n_init": s.int("n_init", 1, 3)},
    lambda c: {"n_clusters": c.k_default, "covariance_type": "full", "n_init": 2},
    cost=lambda p, n, d: n * int(p["n_clusters"]) * int(p.get("n_init", 2))  # a full covariance: ~d² per row
    * (1.2e-6 * _width(d) ** 3 if p.get("covariance_type", "full") in ("full", "tied") else 5e-7 * _width(d))))


def _agglomerative(p: dict[str, Any], seed: int) -> Any:
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=int(p["n_clusters"]), linkage=p.get("linkage", "ward"))


CLUSTER_MODELS.add("agglomerative", ClusterModel(
    "agglomerative", "AgglomerativeClustering", _agglomerative,
    lambda s, c: {"n_clusters": _k(s, c), "linkage": s.cat("linkage", ["ward", "complete", "average"])},
    lambda c: {"n_clusters": c.k_default, "linkage": "ward"}, assigner="knn", max_rows=AGGLOMERATIVE_MAX_ROWS,
    cost=lambda p, n, d: _sampled_cost(n, AGGLOMERATIVE_MAX_ROWS, 3e-8, 2e-9) * _width(d),
    stops_at_deadline=False))  # SciPy builds the whole tree in one call (average linkage, 6,000 rows: 2 s)


class SubclusterMerger(ClusterMixin, BaseEstimator):
    """Birch's last step: merge its sub-clusters (their centres are the rows here) into ``n_clusters``.

    scikit-learn merges them with Ward's agglomerative clustering, exactly, in memory that grows
    with the square of their number: 8,000 sub-clusters take ~0.5 GB, 20,000 take 3 GB (a small
    ``threshold`` on a large table leaves that many). Up to :data:`MAX_EXACT_MERGE` this does the same;
    beyond, it runs k-means on the centres (memory linear in their number). ``method_`` says which ran.
    """

    def __init__(self, n_clusters: int = 3, seed: int = 0) -> None:
        self.n_clusters = n_clusters
        self.seed = seed

    def fit(self, X: np.ndarray, y: Any = None) -> SubclusterMerger:
        from sklearn.cluster import AgglomerativeClustering, KMeans

        X = np.asarray(X, dtype=float)
        if len(X) <= self.n_clusters:  # fewer centres than clusters: each is its own (scikit-learn's rule)
            self.method_, self.labels_ = "none", np.arange(len(X))
        elif len(X) <= MAX_EXACT_MERGE:
            self.method_ = "ward"
            self.labels_ = AgglomerativeClustering(n_clusters=self.n_clusters).fit_predict(X)
        else:
            self.method_ = "kmeans"
            self.labels_ = KMeans(n_clusters=self.n_clusters, n_init=4, random_state=self.seed).fit_predict(X)
        return self


class BirchClusterer(ClusterMixin, BaseEstimator):
    """Birch, kept as what ``predict`` needs: the sub-cluster centres and the cluster of each.

    scikit-learn's ``Birch`` also keeps its CF-tree (for ``partial_fit``), a web of nodes and linked
    leaves: on a large table so deep that pickling it overflows Python's recursion limit (20,000
    rows, 19,875 leaves), and skops refuses ``Birch`` outright. This fits a ``Birch`` whose
    sub-clusters :class:`SubclusterMerger` merges, and keeps only its centres and their labels: the
    model saves as skops like the others, and a new row joins the cluster of its nearest sub-cluster
    centre, exactly as ``Birch.predict`` places it. ``merge_`` says how the sub-clusters were merged.
    """

    def __init__(self, n_clusters: int = 3, threshold: float = 0.5, branching_factor: int = 50, seed: int = 0) -> None:
        self.n_clusters = n_clusters
        self.threshold = threshold
        self.branching_factor = branching_factor
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> BirchClusterer:
        merger = SubclusterMerger(self.n_clusters, self.seed)
        birch = Birch(n_clusters=merger, threshold=self.threshold, branching_factor=self.branching_factor)
        birch.fit(np.asarray(X, dtype=float))
        self.subcluster_centers_ = np.asarray(birch.subcluster_centers_, dtype=float)
        self.subcluster_labels_ = np.asarray(birch.subcluster_labels_, dtype=int)
        self.labels_ = np.asarray(birch.labels_, dtype=int)
        self.merge_ = merger.method_
        return self

    def predict(self, X: Any) -> np.ndarray:
        from sklearn import config_context
        from sklearn.metrics import pairwise_distances_argmin
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "subcluster_centers_")
        with config_context(working_memory=DISTANCE_BLOCK_MB):
            nearest = pairwise_distances_argmin(np.asarray(X, dtype=float), self.subcluster_centers_)
        return self.subcluster_labels_[nearest]


def _birch(p: dict[str, Any], seed: int) -> Any:
    return BirchClusterer(int(p["n_clusters"]), threshold=float(p.get("threshold", 0.5)),
                          branching_factor=int(p.get("branching_factor", 50)), seed=seed)


CLUSTER_MODELS.add("birch", ClusterModel(
    "birch", "Birch", _birch,
    lambda s, c: {"n_clusters": _k(s, c), "threshold": s.float("threshold", 0.05, 1.5, log=True),
                  "branching_factor": s.int("branching_factor", 20, 100)},
    lambda c: {"n_clusters": c.k_default, "threshold": 0.3, "branching_factor": 50},
    cost=lambda p, n, d: 1.2e-5 * n / float(p.get("threshold", 0.5)) * _width(d)))  # small radius: many sub-clusters


def _dbscan(p: dict[str, Any], seed: int) -> Any:
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=float(p["eps"]), min_samples=int(p["min_samples"]))


def _dbscan_bytes(p: dict[str, Any], c: DataScale) -> float:
    """Memory of DBSCAN's neighbourhood lists: bytes per pair × rows × expected neighbours per row."""
    return DBSCAN_BYTES_PER_PAIR * c.n_rows * (1 + c.neighbour_share(float(p["eps"])) * c.n_rows)


def _dbscan_space(s: Suggest, c: DataScale) -> dict[str, Any]:
    min_samples = s.int("min_samples", 3, KDIST_MAX_NEIGHBOURS)
    quantile = s.float("eps_quantile", 0.6, 0.98)
    return {"min_samples": min_samples, "eps_quantile": round(quantile, 4), "eps": c.eps(min_samples, quantile)}


CLUSTER_MODELS.add("dbscan", ClusterModel(
    "dbscan", "DBSCAN", _dbscan, _dbscan_space,
    lambda c: {"min_samples": 5, "eps_quantile": 0.9},  # eps follows from these in the search space
    assigner="core", noise=True, max_rows=50_000, fit_bytes=_dbscan_bytes,
    samples_large_tables=False,  # its radius is read from the density of all the rows: a sample is sparser
    cost=lambda p, n, d: 3e-9 * n * n * _width(d),  # 40,000 rows: 3-5 s in one neighbour search
    stops_at_deadline=False))


def _hdbscan(p: dict[str, Any], seed: int) -> Any:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=int(p["min_cluster_size"]), min_samples=int(p.get("min_samples", 5)),
                   cluster_selection_method=p.get("cluster_selection_method", "eom"), copy=True)


def _hdbscan_space(s: Suggest, c: DataScale) -> dict[str, Any]:
    top = max(6, min(c.n_rows // 4, 500))
    return {"min_cluster_size": s.int("min_cluster_size", 5, top, log=True), "min_samples": s.int("min_samples", 1, 15),
            "cluster_selection_method": s.cat("cluster_selection_method", ["eom", "leaf"])}


CLUSTER_MODELS.add("hdbscan", ClusterModel(
    "hdbscan", "HDBSCAN", _hdbscan, _hdbscan_space,
    lambda c: {"min_cluster_size": max(5, min(c.n_rows // 20, 100)), "min_samples": 5,
               "cluster_selection_method": "eom"},
    assigner="knn", noise=True, max_rows=HDBSCAN_MAX_ROWS,
    cost=lambda p, n, d: _sampled_cost(n, HDBSCAN_MAX_ROWS, 6e-9, 2.5e-9) * _width(d) ** 1.5,
    stops_at_deadline=False))  # its spanning tree is built in one compiled call
