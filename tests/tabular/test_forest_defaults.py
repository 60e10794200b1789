"""Forests get a second start with leaves of several rows when the metric scores confidence.

A leaf grown down to one row says "probability 1"; averaged over 100 trees many classes still get
exactly 0, and log-loss charges ~35 for each test row whose class got 0. On clean data one-row
leaves are still right (digits), so the search tries both; other metrics (ROC-AUC ranks, accuracy
counts, RMSE) are not hurt by certainty and keep scikit-learn's default alone.
"""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_digits, load_wine
from sklearn.model_selection import train_test_split

from automlops.core.metrics import get_metric, score
from automlops.core.problem import Problem, TaskType
from automlops.tabular import AutoMLRunner
from automlops.tabular.search import SearchSpace
from automlops.tabular.zoo import get_model

DIGITS = tuple(range(10))


def _problem(metric: str) -> Problem:
    spec = get_metric(metric)
    return Problem(TaskType.CLASSIFICATION, "digit", metric, spec.direction, classes=DIGITS)


def _test_log_loss(name: str, leaf: int, X: np.ndarray, y: np.ndarray) -> float:
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    problem = _problem("log_loss")
    params = {**get_model(name).defaults(problem), "min_samples_leaf": leaf}
    forest = get_model(name).build(params, problem, 0).fit(X_train, y_train)
    return score(get_metric("log_loss"), y_test, None, forest.predict_proba(X_test), sorted(set(y)))


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_only_a_metric_that_scores_confidence_gets_the_second_start(name: str) -> None:
    spec = get_model(name)
    second = spec.second_start(_problem("log_loss"))
    assert second is not None and second["min_samples_leaf"] > spec.defaults(_problem("log_loss"))["min_samples_leaf"]
    for metric in ("roc_auc", "accuracy", "f1_macro"):
        assert spec.second_start(_problem(metric)) is None
    assert spec.second_start(Problem(TaskType.REGRESSION, "y", "rmse", "minimize")) is None


def test_neither_start_wins_everywhere_which_is_why_both_are_tried() -> None:
    """Digits (clean): one-row leaves score better; the same forest on noisy labels: five-row leaves do."""
    X, y = load_digits(return_X_y=True)
    second = get_model("random_forest").second_start(_problem("log_loss"))
    assert second is not None
    leaf = int(second["min_samples_leaf"])
    assert _test_log_loss("random_forest", 1, X, y) < _test_log_loss("random_forest", leaf, X, y)
    noisy = y.copy()
    flip = np.random.default_rng(0).random(len(y)) < 0.3  # 30 % of the labels redrawn at random
    noisy[flip] = np.random.default_rng(1).integers(0, 10, flip.sum())
    assert _test_log_loss("random_forest", leaf, X, noisy) < _test_log_loss("random_forest", 1, X, noisy)


def test_the_warm_start_queues_second_starts_after_every_first_one() -> None:
    problem = _problem("log_loss")
    study = optuna.create_study()
    specs = [get_model(n) for n in ("random_forest", "extra_trees", "logistic")]
    labels = SearchSpace(specs, problem).warm_start(study)
    queued = [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)]
    assert [q["model"] for q in queued] == ["logistic", "random_forest", "extra_trees",
                                            "logistic", "random_forest", "extra_trees"]
    forests = [q for q in queued if q["model"] != "logistic"]
    assert [q.get(f"{q['model']}__min_samples_leaf") for q in forests] == [1, 1, 5, 5]
    assert labels[4] == "random_forest again (min_samples_leaf=5)", labels
    assert labels[5] == "extra_trees again (max_features=0.5, min_samples_leaf=5)", labels


def test_a_log_loss_search_runs_both_forest_starts() -> None:
    frame = load_wine(as_frame=True).frame
    runner = AutoMLRunner("target", models=["random_forest"], n_trials=2, ensemble="none", seed=0).fit(frame)
    leaves = sorted(t.params["random_forest__min_samples_leaf"] for t in runner.study_.trials)
    assert leaves == [1, 5]
    assert any("random_forest again (min_samples_leaf=5)" in str(d) for d in runner.result_.decisions)
