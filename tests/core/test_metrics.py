"""The metric registry: directions, probability needs, and values equal to scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from automlops.core.metrics import METRICS, get_metric, metrics_for, score, score_all
from automlops.core.problem import TaskType
from automlops.errors import ConfigError

EXPECTED = {  # name: (direction, needs_proba, task)
    "accuracy": ("maximize", False, TaskType.CLASSIFICATION),
    "balanced_accuracy": ("maximize", False, TaskType.CLASSIFICATION),
    "f1": ("maximize", False, TaskType.CLASSIFICATION),
    "f1_macro": ("maximize", False, TaskType.CLASSIFICATION),
    "roc_auc": ("maximize", True, TaskType.CLASSIFICATION),
    "log_loss": ("minimize", True, TaskType.CLASSIFICATION),
    "rmse": ("minimize", False, TaskType.REGRESSION),
    "mae": ("minimize", False, TaskType.REGRESSION),
    "r2": ("maximize", False, TaskType.REGRESSION),
    "mape": ("minimize", False, TaskType.REGRESSION),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registry_entries(name: str) -> None:
    direction, needs_proba, task = EXPECTED[name]
    spec = get_metric(name, task)
    assert spec.direction == direction
    assert spec.greater_is_better is (direction == "maximize")
    assert spec.needs_proba is needs_proba
    assert spec.explanation


def test_every_required_metric_is_registered() -> None:
    assert set(EXPECTED) <= set(METRICS.names())
    cls = {m.name for m in metrics_for(TaskType.CLASSIFICATION)}
    reg = {m.name for m in metrics_for(TaskType.REGRESSION)}
    assert cls.isdisjoint(reg)


def test_wrong_task_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        get_metric("r2", TaskType.CLASSIFICATION)
    with pytest.raises(ConfigError):
        get_metric("nope")


def _split(loader):  # type: ignore[no-untyped-def]
    X, y = loader(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=0.3, random_state=0)


def test_binary_values_match_sklearn() -> None:
    X_tr, X_te, y_tr, y_te = _split(load_breast_cancer)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_tr, y_tr)
    pred, proba = model.predict(X_te), model.predict_proba(X_te)
    classes = list(model.classes_)
    got = score_all(TaskType.CLASSIFICATION, y_te, pred, proba, classes)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_te, pred))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_te, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y_te, pred))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y_te, proba[:, 1]))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y_te, proba))
    assert 0.9 < got["roc_auc"] <= 1.0


def test_multiclass_values_match_sklearn() -> None:
    X_tr, X_te, y_tr, y_te = _split(load_wine)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000)).fit(X_tr, y_tr)
    pred, proba = model.predict(X_te), model.predict_proba(X_te)
    classes = list(model.classes_)
    got = score_all(TaskType.CLASSIFICATION, y_te, pred, proba, classes)
    assert got["f1"] == pytest.approx(skm.f1_score(y_te, pred, average="macro"))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y_te, pred, average="macro"))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y_te, proba, multi_class="ovr"))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y_te, proba))


def test_regression_values_match_sklearn() -> None:
    X_tr, X_te, y_tr, y_te = _split(load_diabetes)
    pred = Ridge().fit(X_tr, y_tr).predict(X_te)
    got = score_all(TaskType.REGRESSION, y_te, pred, None)
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y_te, pred)))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y_te, pred))
    assert got["r2"] == pytest.approx(skm.r2_score(y_te, pred))
    assert got["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y_te, pred))


def test_score_all_skips_probability_metrics_without_proba() -> None:
    y = np.array(["a", "b", "a", "b"])
    got = score_all(TaskType.CLASSIFICATION, y, y, None, ["a", "b"])
    assert got["accuracy"] == 1.0
    assert "roc_auc" not in got and "log_loss" not in got


def test_binary_metrics_use_the_second_class_as_positive() -> None:
    y = np.array(["benign", "malignant", "malignant", "benign"])
    pred = np.array(["benign", "malignant", "benign", "benign"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    classes = ["benign", "malignant"]
    assert score(get_metric("f1"), y, pred, proba, classes) == pytest.approx(
        skm.f1_score(y, pred, pos_label="malignant"))
    assert score(get_metric("roc_auc"), y, pred, proba, classes) == pytest.approx(1.0)


@pytest.mark.parametrize("decimals", [1, 2, 6])
def test_roc_auc_by_ranks_equals_sklearn_with_tied_scores(decimals: int) -> None:
    """ROC-AUC is computed from ranks (ties count half): scikit-learn's number, tree-like tied scores included."""
    X, y = load_wine(return_X_y=True)
    proba = LogisticRegression(max_iter=5000).fit(StandardScaler().fit_transform(X), y).predict_proba(
        StandardScaler().fit_transform(X))
    proba = np.round(proba, decimals) + 1e-3  # rounding makes many ties, as a small forest's votes do
    proba /= proba.sum(axis=1, keepdims=True)
    metric = get_metric("roc_auc")
    expected = skm.roc_auc_score(y, proba, multi_class="ovr", labels=[0, 1, 2])
    assert score(metric, y, None, proba, [0, 1, 2]) == pytest.approx(expected, abs=1e-12)
    binary = np.column_stack([1 - proba[:, 1], proba[:, 1]])
    assert score(metric, y == 1, None, binary, [False, True]) == pytest.approx(
        skm.roc_auc_score(y == 1, proba[:, 1]), abs=1e-12)


def test_roc_auc_leaves_undefined_cases_to_sklearn() -> None:
    """One class only (AUC undefined: scikit-learn warns and says NaN) and NaN scores (it raises)."""
    metric = get_metric("roc_auc")
    with pytest.warns(UserWarning, match="Only one class"):
        assert np.isnan(score(metric, np.ones(5, dtype=int), None, np.full((5, 2), 0.5), [0, 1]))
    with pytest.raises(ValueError, match="NaN"):
        score(metric, np.array([0, 1, 0, 1]), None, np.array([[0.5, 0.5], [np.nan, np.nan], [1, 0], [0, 1]]), [0, 1])



def test_multiclass_roc_auc_averages_the_classes_present() -> None:
    """A class the rows never show has no one-vs-rest AUC: the macro average is over the others (scikit-learn
    answers NaN, with a warning that reached the command line: 98 destinations, a few absent from the test
    rows), and score_all stays quiet."""
    import warnings

    X, y = load_wine(return_X_y=True)
    proba = make_pipeline(StandardScaler(), LogisticRegression(C=0.01)).fit(X, y).predict_proba(X)
    seen = y != 2
    expected = np.mean([skm.roc_auc_score(y[seen] == k, proba[seen, k]) for k in (0, 1)])
    assert score(get_metric("roc_auc"), y[seen], None, proba[seen], [0, 1, 2]) == pytest.approx(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = score_all(TaskType.CLASSIFICATION, y[seen], proba[seen].argmax(axis=1), proba[seen], [0, 1, 2])
    assert metrics["roc_auc"] == pytest.approx(expected) and "accuracy" in metrics

def test_float32_probabilities_are_scored_without_a_warning() -> None:
    """XGBoost's float32 probabilities sum to 1 only within ~1e-7; log-loss renormalises them quietly
    (scikit-learn warns from 1.5e-8 on, and ensemble selection scores hundreds of blends)."""
    import warnings

    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(12), 200)
    y = rng.integers(0, 12, 200)
    off = (proba * (1 + 3e-7)).astype(np.float32)  # what a float32 model answers, rounding included
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = score(get_metric("log_loss"), y, proba.argmax(axis=1), off, list(range(12)))
    assert got == pytest.approx(skm.log_loss(y, proba, labels=list(range(12))), rel=1e-6)


def test_mape_is_left_out_where_a_true_value_is_0() -> None:
    """scikit-learn divides by ~2e-16 at a true 0 (flights' delays reported a MAPE of 2.4e15); the studio
    calls it undefined, and the report leaves it out."""
    X, y = load_diabetes(return_X_y=True)
    pred = Ridge().fit(X, y).predict(X)
    assert "mape" in score_all(TaskType.REGRESSION, y, pred, None)
    shifted = y - y[0]  # the first row's target is now exactly 0
    metrics = score_all(TaskType.REGRESSION, shifted, pred - y[0], None)
    assert "mape" not in metrics and metrics["rmse"] == pytest.approx(score(get_metric("rmse"), y, pred, None))
