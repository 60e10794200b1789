"""Clustering: finding groups in a table without a target, searched under a time budget.

``ClusteringEngine`` plugs into :class:`~automlops.search.driver.SearchDriver` like every engine;
``predict_table`` assigns new rows to the clusters of a saved model; ``figures`` draws the
projection, sizes and profile from the model's meta. See :mod:`automlops.clustering.engine`.
"""

from __future__ import annotations

from automlops.clustering.algorithms import CLUSTER_MODELS, ClusterModel
from automlops.clustering.assign import ASSIGNERS, AssignedClusterer
from automlops.clustering.engine import ClusteringEngine
from automlops.clustering.metrics import CLUSTER_METRICS, SILHOUETTE_SAMPLE
from automlops.clustering.plots import figures
from automlops.clustering.predict import predict_table
from automlops.clustering.presets import CLUSTER_PRESETS, ClusterPreset

__all__ = ["ASSIGNERS", "CLUSTER_METRICS", "CLUSTER_MODELS", "CLUSTER_PRESETS", "SILHOUETTE_SAMPLE",
           "AssignedClusterer", "ClusterModel", "ClusterPreset", "ClusteringEngine", "figures", "predict_table"]
