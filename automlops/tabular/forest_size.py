"""How big a forest may grow: a leaf cap per tree that keeps the whole forest under a memory cap.

A random forest or extra-trees model is a list of fully grown trees, and a tree grown until its
leaves are pure has about as many leaves as it has rows. On 20k rows each tree has ~40k nodes:
300 of them took 1 GB of memory, 5.5 GB while they were saved, and 20 s past the time budget.
:func:`forest_max_leaves` caps each tree's leaves so the whole forest stays under
:data:`FOREST_MAX_BYTES`; on small tables the cap changes nothing (a tree cannot have more leaves
than rows). :mod:`.boosting_size` does the same for boosted models, with a ceiling on the rounds.
"""

from __future__ import annotations

__all__ = ["FOREST_MAX_BYTES", "FOREST_MAX_LEAVES", "FOREST_SAVE", "forest_max_leaves"]

FOREST_MAX_LEAVES = 1024  # the plain cap: ~40 MB for 300 regression trees
# A tree with L leaves has 2L - 1 nodes; scikit-learn stores each node as a 64-byte record plus one
# float64 per class (the class shares at that node; one value for regression). A 12-class forest of
# 300 trees at 1,024 leaves is therefore ~200 MB, held twice (the scored and the refitted model) and
# copied again while saved; two such forests in a 12-class ensemble took a run to 800 MB. The cap
# below keeps a whole forest under FOREST_MAX_BYTES (12 classes, 300 trees: ~260 leaves a tree; a
# regression forest of 300 trees keeps up to ~580).
FOREST_MAX_BYTES = 24 * 2**20
_NODE_BYTES, _VALUE_BYTES = 64, 8
# Saving a forest as skops data writes every tree apart: ~3.5 ms a tree on the reference machine
# (300 trees: ~1 s), whatever their size. The time budget keeps that much for the final save.
FOREST_SAVE = 0.0035


def forest_max_leaves(n_trees: int, n_values: int) -> int:
    """Most leaves per tree so that ``n_trees`` trees with ``n_values`` values per node stay under the cap."""
    per_leaf = 2 * (_NODE_BYTES + _VALUE_BYTES * max(n_values, 1))  # two nodes per leaf, roughly
    return int(max(32, min(FOREST_MAX_LEAVES, FOREST_MAX_BYTES // (max(n_trees, 1) * per_leaf))))
