"""Boosting picks its own number of rounds on data large enough to spare a held-out part."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor

from automlops.core.problem import Problem, TaskType
from automlops.tabular.zoo import EarlyStoppedClassifier, EarlyStoppedRegressor, get_model


def _friedman(n_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Friedman #1: y = 10 sin(π x0 x1) + 20 (x2 − ½)² + 10 x3 + 5 x4 + noise; x5..x9 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n_rows, 10))
    y = 10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3] + 5 * X[:, 4]
    return X, y + rng.normal(0, 1.0, n_rows)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_large_data_stops_where_the_held_out_score_stops_improving(model: str) -> None:
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(6000)
    fast = get_model(model).build({"learning_rate": 0.3, "n_estimators": 100}, problem, 0)
    slow = get_model(model).build({"learning_rate": 0.03, "n_estimators": 100}, problem, 0)
    assert isinstance(fast, EarlyStoppedRegressor) and is_regressor(fast)
    fast.fit(X, y)
    slow.fit(X, y)
    # the searched 100 rounds are ignored: each learning rate finds its own count, a slower rate needs more
    assert fast.n_rounds_ < slow.n_rounds_ < fast.max_rounds
    assert fast.n_rounds_ != 100 and slow.n_rounds_ > 100
    X_test, y_test = _friedman(2000, seed=1)
    assert np.sqrt(np.mean((slow.predict(X_test) - y_test) ** 2)) < 1.6  # noise σ = 1


def test_small_data_uses_the_searched_rounds_and_classifiers_keep_their_classes() -> None:
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame
    problem = Problem(TaskType.CLASSIFICATION, "target", "log_loss", "minimize", classes=(0, 1, 2))
    model = get_model("lightgbm").build({"n_estimators": 37, "learning_rate": 0.1}, problem, 0)
    assert isinstance(model, EarlyStoppedClassifier) and is_classifier(model)
    model.fit(iris.drop(columns="target"), iris["target"])
    assert model.n_rounds_ == 37 and list(model.classes_) == [0, 1, 2]
    assert model.predict_proba(iris.drop(columns="target")).shape == (150, 3)


def test_xgboost_classifier_on_text_labels_with_early_stopping() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    y = np.where(X["a"] + X["b"] > 0, "yes", "no")
    problem = Problem(TaskType.CLASSIFICATION, "y", "roc_auc", "maximize", classes=("no", "yes"))
    model = clone(get_model("xgboost").build({"learning_rate": 0.1}, problem, 0)).fit(X, y)
    assert list(model.classes_) == ["no", "yes"]
    assert model.estimator_.n_rounds_ < 3000
    assert (model.predict(X) == y).mean() > 0.95
