"""infer_problem: task inference with reasons, default metrics, user metrics, bad targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine

from automlops.core.problem import Problem, TaskType, infer_problem
from automlops.errors import AutoMLOpsError, ConfigError, DataError


@pytest.fixture(scope="module")
def iris_labels() -> pd.DataFrame:
    bunch = load_iris(as_frame=True)
    frame = bunch.frame.copy()
    frame["target"] = frame["target"].map(lambda c: bunch.target_names[c])
    return frame


def test_text_labels_are_classification_with_reason(iris_labels: pd.DataFrame) -> None:
    problem = infer_problem(iris_labels, "target")
    assert problem.task is TaskType.CLASSIFICATION
    assert problem.classes == ("setosa", "versicolor", "virginica")
    assert any("classification" in r and "labels" in r for r in problem.reasons), problem.reasons


def test_few_integers_are_classification() -> None:
    frame = load_wine(as_frame=True).frame  # target 0/1/2 as integers
    problem = infer_problem(frame, "target")
    assert problem.task is TaskType.CLASSIFICATION
    assert problem.classes == (0, 1, 2)
    assert any("whole numbers" in r for r in problem.reasons), problem.reasons


def test_many_floats_are_regression() -> None:
    frame = load_diabetes(as_frame=True).frame
    problem = infer_problem(frame, "target")
    assert problem.task is TaskType.REGRESSION
    assert problem.classes == ()
    assert any("regression" in r and "quantity" in r for r in problem.reasons), problem.reasons


def test_many_distinct_integers_are_regression() -> None:
    frame = load_diabetes(as_frame=True).frame
    frame["target"] = frame["target"].round().astype(int)  # ~200 distinct whole numbers
    assert infer_problem(frame, "target").task is TaskType.REGRESSION


@pytest.mark.parametrize(
    ("loader", "metric", "direction"),
    [(load_breast_cancer, "roc_auc", "maximize"),
     (load_wine, "log_loss", "minimize"),
     (load_diabetes, "rmse", "minimize")],
)
def test_default_metrics(loader, metric: str, direction: str) -> None:  # type: ignore[no-untyped-def]
    problem = infer_problem(loader(as_frame=True).frame, "target")
    assert problem.metric == metric
    assert problem.direction == direction
    assert any(f"metric {metric}" in r for r in problem.reasons)


def test_binary_flag() -> None:
    assert infer_problem(load_breast_cancer(as_frame=True).frame, "target").is_binary
    assert not infer_problem(load_wine(as_frame=True).frame, "target").is_binary


def test_user_metric_is_used_and_validated_against_task(iris_labels: pd.DataFrame) -> None:
    problem = infer_problem(iris_labels, "target", metric="f1_macro")
    assert (problem.metric, problem.direction) == ("f1_macro", "maximize")
    # no default-metric reason when the user chose it
    assert not any("chosen by default" in r for r in problem.reasons)
    with pytest.raises(ConfigError, match="does not apply to classification"):
        infer_problem(iris_labels, "target", metric="rmse")
    with pytest.raises(ConfigError, match="does not apply to regression"):
        infer_problem(load_diabetes(as_frame=True).frame, "target", metric="roc_auc")
    with pytest.raises(ConfigError, match="unknown metric"):
        infer_problem(iris_labels, "target", metric="no_such_metric")


def test_with_metric_switches_direction() -> None:
    problem = infer_problem(load_diabetes(as_frame=True).frame, "target")
    r2 = problem.with_metric("r2")
    assert (r2.metric, r2.direction) == ("r2", "maximize")
    with pytest.raises(ConfigError):
        problem.with_metric("accuracy")


def test_user_task_overrides_inference_and_is_recorded() -> None:
    frame = load_wine(as_frame=True).frame
    problem = infer_problem(frame, "target", task="regression")
    assert problem.task is TaskType.REGRESSION
    assert problem.metric == "rmse"
    assert any("set to regression by the user" in r for r in problem.reasons)


def test_text_target_cannot_be_regression(iris_labels: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="holds text"):
        infer_problem(iris_labels, "target", task="regression")


def test_missing_target_column_is_a_data_error(iris_labels: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="'species' is not in the data"):
        infer_problem(iris_labels, "species")
    with pytest.raises(DataError, match="'Target ' is not in the data; did you mean 'target'"):
        infer_problem(iris_labels, "Target ")


def test_a_date_column_is_not_a_target(iris_labels: pd.DataFrame) -> None:
    """It was refused as "150 classes, that looks like a quantity or an ID"; the message now names the task
    that predicts over time."""
    dated = iris_labels.assign(measured=pd.date_range("2024-01-01", periods=len(iris_labels), freq="D"))
    with pytest.raises(DataError, match="holds dates and times.*--task timeseries --time-column measured"):
        infer_problem(dated, "measured")


def test_single_value_and_empty_targets() -> None:
    frame = pd.DataFrame({"x": np.arange(20.0), "y": ["a"] * 20})
    with pytest.raises(DataError, match="single value"):
        infer_problem(frame, "y")
    frame["y"] = np.nan
    with pytest.raises(DataError, match="empty"):
        infer_problem(frame, "y")


def test_no_target_means_clustering() -> None:
    problem = infer_problem(load_iris(as_frame=True).data, None)
    assert problem.task is TaskType.CLUSTERING
    assert problem.target is None
    assert problem.reasons
    with pytest.raises(ConfigError):
        infer_problem(load_iris(as_frame=True).data, None, task="classification")


def test_unknown_task_name() -> None:
    with pytest.raises(ConfigError, match="unknown task"):
        TaskType.parse("forecasting-ish")
    assert TaskType.parse("Time-Series") is TaskType.TIMESERIES


def test_errors_share_one_base() -> None:
    assert issubclass(DataError, AutoMLOpsError) and issubclass(ConfigError, AutoMLOpsError)
    assert isinstance(infer_problem(load_iris(as_frame=True).frame, "target"), Problem)


def test_mape_is_refused_for_a_target_with_zeros() -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    assert infer_problem(frame, "target", metric="mape").metric == "mape"
    frame.loc[[3, 7], "target"] = 0.0
    with pytest.raises(DataError, match="MAPE divides each error by its true value.*0 in 2 row"):
        infer_problem(frame, "target", metric="mape")
