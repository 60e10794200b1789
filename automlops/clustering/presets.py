"""How much a clustering search does: presets are data, a name for a number of trials or seconds and the
algorithms searched. Add one with ``CLUSTER_PRESETS.add(name, ClusterPreset(...))``."""

from __future__ import annotations

from dataclasses import dataclass

from automlops.core.registry import Registry

__all__ = ["CLUSTER_PRESETS", "ClusterPreset"]


@dataclass(frozen=True)
class ClusterPreset:
    """How much to search: trials or seconds, and which algorithms (None: every registered one)."""

    name: str
    n_trials: int | None
    time_budget: float | None
    models: tuple[str, ...] | None
    description: str


CLUSTER_PRESETS: Registry[ClusterPreset] = Registry("clustering preset")
CLUSTER_PRESETS.add("fast", ClusterPreset("fast", 15, None, ("kmeans", "gaussian_mixture", "agglomerative"),
                                          "15 trials of KMeans, GaussianMixture and agglomerative clustering"))
CLUSTER_PRESETS.add("medium", ClusterPreset("medium", 60, None, None, "60 trials over every algorithm"))
CLUSTER_PRESETS.add("best", ClusterPreset("best", None, 120.0, None, "every algorithm for 120 seconds"))
