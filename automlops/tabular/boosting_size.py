"""How many boosting rounds fit in memory: the ceiling of an early-stopped fit.

A boosted model is a list of trees, and it lives in memory while it trains, again while it is
scored, and once more as text while it is saved. How big it gets is

    rounds × trees per round × leaves per tree × bytes per leaf

and the middle factors multiply fast: a LightGBM softmax model adds one tree *per class* each round,
so an 11-class table searched at 256 leaves a tree adds 2,816 leaves a round. Early stopping decides
the rounds, and on noisy many-class data it can wait for hundreds of them: on vocab (16k rows, 11
classes) one such trial took the whole run from 415 to 649 MB, where FLAML's entire run peaked at
229 MB. With 50 classes the same recipe would pass 2 GB. So, as :func:`~automlops.tabular.forest_size.
forest_max_leaves` bounds a forest, the round ceiling here keeps a boosted model under
:data:`BOOSTED_MAX_BYTES`. It only binds where leaves × classes are large: a binary or regression
LightGBM at its default 31 leaves may still fit ~16,000 rounds, well past the usual 10,000 ceiling.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BOOSTED_MAX_BYTES", "CATBOOST_ROUND_SAVE_SECONDS", "CATBOOST_VALUE_SAVE_SECONDS", "LEAF_SAVE_SECONDS",
           "catboost_tree_save_seconds", "fitted_leaves_per_tree", "leaves_per_tree", "rounds_within_memory"]

BOOSTED_MAX_BYTES = 96 * 2**20
# Measured with LightGBM 4 on vocab: 170-210 bytes a leaf in memory (split feature, threshold, child
# links, counts, weights, values), and ~110 more as the text it is saved as. XGBoost's nodes are
# smaller; the same figure keeps its bound on the safe side.
LEAF_BYTES = 200
# CatBoost's oblivious trees keep no per-node records: one float per class at each of the 2^depth
# leaves, and one question per level.
CATBOOST_VALUE_BYTES = 8
# Saving a LightGBM or XGBoost model writes it as text or bytes, node by node, so the time follows the
# leaves, not the trees: 6-9 µs a leaf measured (skops; LightGBM at 31 leaves, 2 and 12 classes, and on
# 98 destinations; XGBoost at depth 3-8). A tree's cost is therefore anything from 0.02 ms (a 98-class
# XGBoost model, whose trees for rare classes keep ~3 leaves) to 0.3 ms (31 full leaves).
LEAF_SAVE_SECONDS = 9e-6
# CatBoost writes its whole model as one binary blob, so saving it is far cheaper than node-by-node text:
# ~40 µs a round plus ~0.15 µs a leaf value (2^depth leaves, a value per class). Measured through the
# model store: 12 classes at depth 6, 2,000 rounds 0.32 s (charging LightGBM's 0.3 ms a tree said 7.2 s);
# depth 8, 0.88 s; binary at depth 6, 0.11 s. On males at 30 s that overcharge (2.0 s for a 549-round
# model that saves in 0.14 s) was what refused the refit on all rows.
CATBOOST_ROUND_SAVE_SECONDS = 4e-5
CATBOOST_VALUE_SAVE_SECONDS = 1.5e-7
SAMPLED_ROUNDS = 3  # the last rounds, whose trees are read to count leaves (early trees are the biggest)


def leaves_per_tree(params: dict[str, Any], library: str) -> int:
    """The most leaves one tree of these hyperparameters can grow (each library's own default)."""
    if library == "lightgbm":
        return int(params.get("num_leaves") or 31)
    if params.get("max_leaves"):  # XGBoost's loss-guided growth
        return int(params["max_leaves"])
    default_depth = 6  # XGBoost's and CatBoost's default
    return 2 ** int(params.get("max_depth") or params.get("depth") or default_depth)


def fitted_leaves_per_tree(model: Any) -> float | None:
    """The mean leaves a tree of a *fitted* LightGBM or XGBoost model has, read from its last rounds
    (``None`` for other libraries). Many-class models grow most trees far below the ceiling of
    :func:`leaves_per_tree`: a class of a few rows has little to split."""
    library = type(model).__module__.split(".")[0]
    if library == "lightgbm" and getattr(model, "fitted_", False):
        booster = model.booster_
        start = max(0, booster.current_iteration() - SAMPLED_ROUNDS)
        trees = booster.dump_model(start_iteration=start)["tree_info"]
        return sum(t["num_leaves"] for t in trees) / len(trees) if trees else None
    if library == "xgboost":
        booster = model.get_booster()
        rounds = booster.num_boosted_rounds()
        dump = booster[max(0, rounds - SAMPLED_ROUNDS):rounds].get_dump() if rounds else []
        return sum(tree.count("leaf=") for tree in dump) / len(dump) if dump else None
    return None


def catboost_tree_save_seconds(model: Any, trees_per_round: int) -> float | None:
    """What saving one tree of a *fitted* CatBoost model costs, for a count of ``trees_per_round`` trees a
    round (``None`` for other libraries). CatBoost grows one tree a round with a value per class at each
    leaf; the callers count a tree per class, so a round's cost is shared among them."""
    if type(model).__module__.split(".")[0] != "catboost":
        return None
    depth = int(model.get_all_params().get("depth", 6))
    return CATBOOST_ROUND_SAVE_SECONDS / max(trees_per_round, 1) + CATBOOST_VALUE_SAVE_SECONDS * 2**depth


def bytes_per_round(params: dict[str, Any], library: str, n_classes: int) -> int:
    """What one boosting round adds to the model, at most (``n_classes`` 1 for a regression)."""
    leaves = leaves_per_tree(params, library)
    if library == "catboost":  # one tree a round, a vector of class values at each leaf
        return leaves * CATBOOST_VALUE_BYTES * max(n_classes if n_classes > 2 else 1, 1)
    trees = n_classes if n_classes > 2 else 1  # softmax: one tree per class per round
    return leaves * trees * LEAF_BYTES


def rounds_within_memory(model: Any, library: str, n_classes: int, ceiling: int) -> int:
    """``ceiling``, or fewer rounds if the model would pass :data:`BOOSTED_MAX_BYTES` before it."""
    per_round = bytes_per_round(model.get_params(), library, n_classes)
    return int(max(1, min(ceiling, BOOSTED_MAX_BYTES // max(per_round, 1))))
