"""Forests stay under a memory cap whatever their number of trees and classes."""

from __future__ import annotations

import pytest
from sklearn.datasets import make_classification

from automlops.core.problem import Problem, TaskType
from automlops.tabular import forest_size
from automlops.tabular.zoo import get_model


def _forest_bytes(forest) -> int:  # type: ignore[no-untyped-def]
    """What scikit-learn holds for the trees: one node record plus one float64 per class, per node."""
    return sum(t.tree_.node_count * (64 + 8 * t.tree_.value.shape[1] * t.tree_.value.shape[2])
               for t in forest.estimators_)


def test_leaf_cap_shrinks_with_trees_and_classes() -> None:
    cap = forest_size.forest_max_leaves
    assert cap(100, 1) == forest_size.FOREST_MAX_LEAVES  # regression, few trees: the plain cap
    assert cap(300, 12) < cap(300, 2) < forest_size.FOREST_MAX_LEAVES + 1
    assert cap(500, 12) < cap(300, 12)


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_many_class_forest_fits_under_the_cap(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # a small cap so that a quick forest reaches it: 40 trees, 12 classes, 6,000 noisy rows
    monkeypatch.setattr(forest_size, "FOREST_MAX_BYTES", 4 * 2**20)
    X, y = make_classification(n_samples=6000, n_features=12, n_informative=8, n_classes=12,
                               n_clusters_per_class=1, flip_y=0.2, random_state=0)
    problem = Problem(TaskType.CLASSIFICATION, "y", "log_loss", "minimize", classes=tuple(range(12)))
    forest = get_model(name).build({"n_estimators": 40, "min_samples_leaf": 1}, problem, 0).fit(X, y)
    assert _forest_bytes(forest) <= 4 * 2**20
    assert max(t.tree_.n_leaves for t in forest.estimators_) > 100  # still real trees, not stumps
