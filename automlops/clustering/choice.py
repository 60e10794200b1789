"""Which partitions may be shipped, and what is said about the one that is.

**Minimum cluster size.** A "cluster" of a handful of rows is a few outliers split off from the
rest, not a group: it raises everyone else's silhouette without finding anything (outliers are
anomaly detection's job). So a partition whose smallest cluster holds fewer than 5 rows or 2 % of the
rows is refused, unless the user fixed *k*: then it is accepted (at a large k a few outliers may
form a cluster of their own), but only when no candidate at that k has clusters of the usual size
(:func:`prefer_groups`): on breast_cancer told k = 2, single-linkage clustering splits one outlier off
the other 454 rows, with a higher silhouette than KMeans' two real groups (ARI 0.005 against 0.67).
The decisions say so about the shipped model.

**A partition the unseen rows do not see.** When every held-out row lands in one cluster, the test
silhouette is undefined and the other clusters are most likely a few unusual training rows split off
(seattle_weather: agglomerative k = 2, training sizes 1,145 and 24, all 292 unseen rows in the first).
That is said and warned (:func:`one_cluster_note`), not left as a silent missing test score.

**The shipped configuration.** The engine may ship another configuration than its model's
best-scoring trial (silhouette × stability prefers a reproducible partition); the leaderboard then
gets a row for what was shipped, so the row a user reads describes the model they get.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from automlops.search.engine import Candidate, Choice, DecisionLog, TrialOutcome
from automlops.search.trial_notes import warns

__all__ = ["MIN_CLUSTER_ROWS", "MIN_CLUSTER_SHARE", "ONE_CLUSTER", "ClusterSizeRule", "candidate_key",
           "log_min_cluster_rows", "one_cluster_note", "prefer_groups", "shipped_choice"]

MIN_CLUSTER_ROWS, MIN_CLUSTER_SHARE = 5, 0.02  # smaller "clusters" are a few outliers split off, not groups
ONE_CLUSTER = warns("every unseen row falls in one cluster")


def one_cluster_note(train_labels: np.ndarray, test_labels: np.ndarray, metric: str) -> str | None:
    """When the held-out rows all land in one cluster (noise aside): what that says about the partition."""
    placed = np.asarray(test_labels)[np.asarray(test_labels) >= 0]
    found = np.unique(placed)
    if len(found) >= 2 or len(placed) == 0:
        return None
    kept = np.asarray(train_labels)[np.asarray(train_labels) >= 0]
    sizes = ", ".join(f"{int(n):,}" for n in np.bincount(kept) if n)
    return (f"{ONE_CLUSTER} ({found[0]}, all {len(placed):,}): the test {metric} is undefined, and the training "
            f"clusters ({sizes} rows) are likely a group and a few unusual rows split off; --clusters K or "
            "--models kmeans asks for groups of comparable size")


def candidate_key(candidate: Candidate) -> str:
    """One candidate's identity: its model and settings."""
    return candidate.model + repr(sorted(candidate.params.items()))


@dataclass(frozen=True)
class ClusterSizeRule:
    """``usual``: the fewest rows a cluster needs when k is free; ``required``: what this search asks (1 when k is fixed)."""

    usual: int
    required: int


def log_min_cluster_rows(n_rows: int, n_clusters: int | None, log: DecisionLog) -> ClusterSizeRule:
    """Refuse "clusters" of a few rows, unless the user fixed k: then accept them and say so."""
    usual = max(2, min(MIN_CLUSTER_ROWS, n_rows // 10), int(np.ceil(MIN_CLUSTER_SHARE * n_rows)))  # 5 or 2 %
    rule = ClusterSizeRule(usual, usual if n_clusters is None else 1)
    if n_clusters is not None:
        log("selection", f"k = {n_clusters} was asked for, so a cluster of fewer than {usual} rows (5 or 2 %) is "
                         "accepted rather than refused (at a large k, a few outliers may form a cluster of their "
                         "own); the decisions name the shipped model's smallest cluster")
        return rule
    log("selection", f"every cluster must hold at least {usual} rows (5 or 2 %): splitting a few outliers off raises "
                     "the silhouette of everyone else without finding a group (outliers are anomaly detection's "
                     "job; density methods may still call them noise)")
    return rule


def prefer_groups(pool: Sequence[tuple[float, Candidate]], smallest: Mapping[str, int], rule: ClusterSizeRule,
                  log: DecisionLog) -> list[tuple[float, Candidate]]:
    """``pool`` without the partitions whose smallest cluster is under the usual minimum, when any other is left
    (k fixed by the user: such partitions were scored, but groups of the usual size come first)."""
    groups = [(v, c) for v, c in pool if smallest.get(candidate_key(c), rule.usual) >= rule.usual]
    if rule.required >= rule.usual or not groups or len(groups) == len(pool):
        return list(pool)
    log("selection", f"{len(pool) - len(groups)} of the best candidates split a cluster of fewer than {rule.usual} "
                     "rows off (a few outliers, not a group) and were passed over for partitions whose clusters are "
                     "all groups")
    return groups


def shipped_choice(candidate: Candidate, value: float, std: float, ranked: Sequence[TrialOutcome], *,
                   smallest: int | None, rule: ClusterSizeRule, n_clusters: int | None, log: DecisionLog) -> Choice:
    """The choice; a leaderboard row for it when it is not its model's best trial (whose row shows another
    configuration); a note when its smallest cluster is below the usual minimum (k fixed by the user)."""
    if smallest is not None and smallest < rule.usual:
        log("clusters", f"the shipped partition has a cluster of {smallest} row(s), fewer than the {rule.usual} asked "
                        f"of a cluster when k is free: at k = {n_clusters} a few outliers form a cluster of their own; "
                        "a smaller k may describe the data better")
    rows: tuple[dict[str, Any], ...] = ()
    best_of_model = next((o for o in ranked if o.model == candidate.model), None)
    if best_of_model is not None and candidate_key(best_of_model.candidate) != candidate_key(candidate):
        rows = ({"model": f"{candidate.model} (shipped)", "score": value, "std": std, "trials": 0, "pruned": 0,
                 "failed": 0, "params": dict(candidate.params)},)
        log("leaderboard", f"the row '{candidate.model} (shipped)' is the configuration shipped; the row "
                           f"'{candidate.model}' is that model's best-scoring trial ({best_of_model.value:.4f}, "
                           f"{dict(best_of_model.params)})")
    return Choice(candidate.model, dict(candidate.params), value, std, recipe=candidate, extra_rows=rows)
