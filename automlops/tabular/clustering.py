"""Moved: the clustering engine lives in :mod:`automlops.clustering`; these names keep old imports working."""

from __future__ import annotations

from automlops.clustering import (
    CLUSTER_METRICS,
    CLUSTER_MODELS,
    CLUSTER_PRESETS,
    ClusteringEngine,
    ClusterModel,
    ClusterPreset,
)

__all__ = ["CLUSTER_METRICS", "CLUSTER_MODELS", "CLUSTER_PRESETS", "ClusterModel", "ClusterPreset",
           "ClusteringEngine"]
