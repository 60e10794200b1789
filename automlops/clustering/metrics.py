"""How a clustering is scored without a right answer, and against one when a reference is given.

**Internal** scores read only the features and the labels:

* **silhouette** (−1…1, higher is better) – for each row, ``(b − a) / max(a, b)`` where ``a`` is its
  mean distance to its own cluster and ``b`` to the nearest other cluster, averaged. It costs O(n²),
  so above :data:`SILHOUETTE_SAMPLE` rows it is computed on a random sample of that many rows (fewer
  under a short time budget: see :mod:`automlops.clustering.pricing`). The
  distances are computed a block of rows at a time; scikit-learn sizes the blocks to 1 GiB by default
  (on a 10,000-row sample: +765 MB of memory for every score), here to :data:`DISTANCE_BLOCK_MB`
  (+64 MB, and twice as fast: the blocks stay in the CPU's caches longer);
* **Calinski–Harabasz** (higher is better) – between-cluster spread over within-cluster spread;
* **Davies–Bouldin** (lower is better) – average similarity of each cluster to its closest twin.

**Noise.** Density methods leave rows unclustered (label ``-1``). A noise row counts as a cluster
of its own, and scikit-learn gives a one-row cluster a silhouette of 0; so the silhouette here is
the silhouette of the clustered rows times the share of clustered rows – declaring half the rows
noise cannot buy a better score. Every internal metric follows the same rule: it is computed on the
clustered rows, then moved towards "worse" in proportion to the noise – a score to maximise is
multiplied by the clustered share *s*, a score to minimise (Davies–Bouldin, 0 = best) divided by
it. HDBSCAN leaving 43 % of wine's rows as noise with a Davies–Bouldin of 0.92 on the rest thus
scores 0.92 / 0.57 = 1.61, and cannot beat a KMeans that clusters every row at 1.3.

**External** scores compare with a reference labelling (known classes), for reporting only:
the **adjusted Rand index** (ARI: pair agreement corrected for chance, 0 = random, 1 = identical)
and **normalised mutual information** (NMI, 0…1).
"""

from __future__ import annotations

import numpy as np
import sklearn
from sklearn import metrics as skm

from automlops.core.metrics import MetricContext, MetricSpec
from automlops.core.problem import TaskType
from automlops.core.registry import Registry

__all__ = ["CLUSTER_METRICS", "DISTANCE_BLOCK_MB", "SILHOUETTE_SAMPLE", "n_clusters", "noise_share", "reference_scores", "score_all", "score_one"]

SILHOUETTE_SAMPLE = 10_000
DISTANCE_BLOCK_MB = 64  # scikit-learn's working_memory for blocks of pairwise distances (silhouette, k-distances)
_TASK = (TaskType.CLUSTERING,)


def _clustered(c: MetricContext) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(c.pred)
    keep = labels >= 0
    return np.asarray(c.X)[keep], labels[keep]


def _clustered_share(c: MetricContext) -> float:
    """Share of rows in a cluster (not noise): the factor every internal metric is penalised by."""
    labels = np.asarray(c.pred)
    return float(np.mean(labels >= 0)) if len(labels) else 1.0


def _silhouette(c: MetricContext) -> float:
    X, labels = _clustered(c)
    share = _clustered_share(c)
    rows = int(c.extra.get("sample") or SILHOUETTE_SAMPLE)
    sample = rows if len(labels) > rows else None
    seed = int(c.extra.get("seed", 0))
    with sklearn.config_context(working_memory=DISTANCE_BLOCK_MB):  # thread-local: other threads keep theirs
        return share * float(skm.silhouette_score(X, labels, sample_size=sample, random_state=seed))


def _calinski(c: MetricContext) -> float:
    return _clustered_share(c) * float(skm.calinski_harabasz_score(*_clustered(c)))


def _davies(c: MetricContext) -> float:
    return float(skm.davies_bouldin_score(*_clustered(c))) / max(_clustered_share(c), 1e-12)


CLUSTER_METRICS: Registry[MetricSpec] = Registry("clustering metric")
CLUSTER_METRICS.add("silhouette", MetricSpec(
    "silhouette", "Silhouette", "maximize", _TASK, False, _silhouette,
    "how much closer rows are to their own cluster than to the next (noise rows count 0)"))
CLUSTER_METRICS.add("calinski_harabasz", MetricSpec(
    "calinski_harabasz", "Calinski–Harabasz", "maximize", _TASK, False, _calinski,
    "between-cluster over within-cluster spread (times the share of rows not noise)"))
CLUSTER_METRICS.add("davies_bouldin", MetricSpec(
    "davies_bouldin", "Davies–Bouldin", "minimize", _TASK, False, _davies,
    "average similarity of each cluster to its closest twin (over the share of rows not noise)"))


def noise_share(labels: np.ndarray) -> float:
    """Share of rows labelled noise (-1)."""
    labels = np.asarray(labels)
    return float(np.mean(labels < 0)) if len(labels) else 0.0


def n_clusters(labels: np.ndarray) -> int:
    """Number of clusters, noise not counted."""
    labels = np.asarray(labels)
    return int(len(np.unique(labels[labels >= 0])))


def score_all(X: np.ndarray, labels: np.ndarray, *, seed: int = 0, sample: int | None = None) -> dict[str, float]:
    """Every internal metric (NaN where fewer than two clusters have rows); the silhouette reads at most
    ``sample`` rows (None: :data:`SILHOUETTE_SAMPLE`)."""
    labels = np.asarray(labels)
    if n_clusters(labels) < 2 or int(np.sum(labels >= 0)) <= n_clusters(labels):
        return {name: float("nan") for name in CLUSTER_METRICS.names()}
    context = MetricContext(pred=labels, X=X, extra={"seed": seed, "sample": sample})
    return {name: float(spec.fn(context)) for name, spec in CLUSTER_METRICS.items()}


def score_one(X: np.ndarray, labels: np.ndarray, metric: str, *, seed: int = 0, sample: int | None = None) -> float:
    """One internal metric (NaN where fewer than two clusters have rows); ``sample`` as in :func:`score_all`."""
    labels = np.asarray(labels)
    if n_clusters(labels) < 2 or int(np.sum(labels >= 0)) <= n_clusters(labels):
        return float("nan")
    context = MetricContext(pred=labels, X=X, extra={"seed": seed, "sample": sample})
    return float(CLUSTER_METRICS.get(metric).fn(context))


def reference_scores(truth: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """ARI and NMI against a reference labelling (rows with a missing reference are skipped)."""
    import pandas as pd

    known = pd.notna(pd.Series(truth)).to_numpy()
    t, p = np.asarray(truth, dtype=object)[known].astype(str), np.asarray(labels)[known]
    if len(t) == 0:
        return {"ari": float("nan"), "nmi": float("nan")}
    return {"ari": float(skm.adjusted_rand_score(t, p)), "nmi": float(skm.normalized_mutual_info_score(t, p))}
