"""Boosted models stop adding rounds before their trees outgrow memory (automlops.tabular.boosting_size)."""

from __future__ import annotations

import numpy as np
import pytest

from automlops.core.problem import Problem, TaskType
from automlops.tabular.boosting_size import BOOSTED_MAX_BYTES, LEAF_BYTES, bytes_per_round
from automlops.tabular.evaluate import boosting_rounds
from automlops.tabular.zoo import get_model


def test_a_round_costs_one_tree_per_class_of_its_leaves() -> None:
    assert bytes_per_round({"num_leaves": 256}, "lightgbm", 11) == 256 * 11 * LEAF_BYTES  # softmax: a tree per class
    assert bytes_per_round({"num_leaves": 256}, "lightgbm", 2) == 256 * LEAF_BYTES  # binary: one tree
    assert bytes_per_round({"num_leaves": 31}, "lightgbm", 1) == 31 * LEAF_BYTES  # regression
    assert bytes_per_round({"max_depth": 10}, "xgboost", 1) == 1024 * LEAF_BYTES
    assert bytes_per_round({"max_depth": None}, "xgboost", 1) == 64 * LEAF_BYTES  # its default depth, 6
    assert bytes_per_round({"depth": 8}, "catboost", 11) == 256 * 11 * 8  # a vector of class values per leaf
    # the common cases stay far from the bound: 10,000 rounds of a default binary LightGBM fit
    assert 10_000 * bytes_per_round({"num_leaves": 31}, "lightgbm", 2) < BOOSTED_MAX_BYTES


@pytest.mark.parametrize(("leaves", "capped"), [(256, True), (4, False)])
def test_many_classes_and_many_leaves_stop_at_the_memory_ceiling(leaves: int, capped: bool) -> None:
    """Digits (10 classes) at a slow learning rate keeps improving for many hundred rounds: with 256
    leaves a tree its rounds stop where the trees would pass the bound; with 4 nothing changes."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    problem = Problem(TaskType.CLASSIFICATION, "y", "log_loss", "minimize", classes=tuple(range(10)))
    booster = get_model("lightgbm").build({"learning_rate": 0.02, "num_leaves": leaves, "min_child_samples": 5},
                                          problem, 0)
    booster.set_params(**{k: 1000 for k in booster.get_params() if k.endswith("min_rows")})  # early stopping on
    booster.fit(X[:1500], y[:1500])
    ceiling = BOOSTED_MAX_BYTES // (leaves * 10 * LEAF_BYTES)
    rounds = boosting_rounds(booster)
    if capped:
        # without the bound this fit ran 3,019 rounds: 30,190 trees of up to 256 leaves
        assert ceiling < 300 and rounds <= ceiling, (rounds, ceiling)
        assert booster.estimator_.booster_.num_trees() <= 10 * ceiling
    else:
        assert ceiling > 10_000 and 300 < rounds < 10_000, rounds  # stopped by early stopping, not by the bound
    assert float(np.mean(booster.predict(X[1500:]) == y[1500:])) > 0.85
