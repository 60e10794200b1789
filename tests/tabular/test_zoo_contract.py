"""One contract, every zoo entry: each task it claims, on real data.

For every (model, task) pair the entry claims we check that its default pipeline fits and
predicts sensibly, that it is reproducible under a fixed seed, that its grid is finite and
every grid value can actually be fitted, and that its search space works with a real Optuna
trial (and contains the defaults the warm start enqueues).
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from automlops.core.problem import Problem, TaskType, infer_problem
from automlops.errors import ConfigError
from automlops.tabular.evaluate import build_pipeline, one_openmp_thread
from automlops.tabular.preprocessing import FeaturePlan, plan_features
from automlops.tabular.search import Candidate
from automlops.tabular.zoo import ZOO, LabelEncodedClassifier, ModelSpec, Suggest, available_models

CASES = [pytest.param(name, task, id=f"{name}-{task.value}")
         for name, spec in ZOO.items() for task in sorted(spec.tasks, key=lambda t: t.value)]

Data = tuple[Problem, FeaturePlan, pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


def _prepare(frame: pd.DataFrame, *, train_size: int | float, stratify: bool) -> Data:
    train, test = train_test_split(frame, train_size=train_size, random_state=0,
                                   stratify=frame["target"] if stratify else None)
    problem = infer_problem(train, "target")
    plan = plan_features(train, problem)
    return (problem, plan, train[plan.input_columns], train["target"], test[plan.input_columns], test["target"])


@pytest.fixture(scope="module")
def datasets() -> dict[TaskType, Data]:
    cancer = load_breast_cancer(as_frame=True).frame
    cancer = cancer.iloc[:450]  # a subset keeps SVM/forests quick
    return {
        TaskType.CLASSIFICATION: _prepare(cancer, train_size=300, stratify=True),
        TaskType.REGRESSION: _prepare(load_diabetes(as_frame=True).frame, train_size=0.7, stratify=False),
    }


def _fit_predict(spec: ModelSpec, params: dict[str, Any], data: Data, seed: int = 0) -> tuple[Any, np.ndarray]:
    problem, plan, X, y, X_test, _ = data
    pipe = build_pipeline(Candidate(spec.name, params), plan, problem, seed)
    # one OpenMP thread, as the search fits them: on a busy 2-core machine more threads thrash
    with one_openmp_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny grids are expected
        pipe.fit(X, y)
    return pipe, np.asarray(pipe.predict(X_test))


def _spec(name: str) -> ModelSpec:
    spec = ZOO.get(name)
    if not spec.is_available():
        pytest.skip(f"{name} needs {spec.requires}, not installed here")
    return spec


@pytest.mark.parametrize(("name", "task"), CASES)
def test_defaults_fit_predict_sensibly(name: str, task: TaskType, datasets: dict[TaskType, Data]) -> None:
    spec = _spec(name)
    data = datasets[task]
    problem, _, _, y, X_test, y_test = data
    pipe, pred = _fit_predict(spec, spec.defaults(problem), data)
    assert pred.shape == (len(X_test),)
    if task is TaskType.CLASSIFICATION:
        assert set(np.unique(pred)) <= set(problem.classes)
        proba = pipe.predict_proba(X_test)
        assert proba.shape == (len(X_test), len(problem.classes))
        assert np.allclose(proba.sum(axis=1), 1.0)
        assert list(pipe.classes_) == list(problem.classes)
        assert accuracy_score(y_test, pred) > 0.85  # majority class is 0.63
    else:
        assert np.isfinite(pred).all()
        # weak floor: not much worse than predicting the mean (linear models reach ~0.45)
        assert r2_score(y_test, pred) > -0.3


@pytest.mark.parametrize(("name", "task"), CASES)
def test_respects_the_seed(name: str, task: TaskType, datasets: dict[TaskType, Data]) -> None:
    spec = _spec(name)
    data = datasets[task]
    problem = data[0]
    params = spec.defaults(problem)
    first, pred_a = _fit_predict(spec, params, data, seed=7)
    _, pred_b = _fit_predict(spec, params, data, seed=7)
    assert np.array_equal(pred_a, pred_b)
    model = first.named_steps["model"]
    inner = model.estimator if isinstance(model, LabelEncodedClassifier) else model
    if "random_state" in inner.get_params():
        assert inner.get_params()["random_state"] == 7


@pytest.mark.parametrize(("name", "task"), CASES)
def test_grid_is_finite_and_every_value_fits(name: str, task: TaskType, datasets: dict[TaskType, Data]) -> None:
    spec = _spec(name)
    data = datasets[task]
    problem = data[0]
    grid = spec.grid(problem)
    points = spec.grid_points(problem)
    assert isinstance(points, list) and points
    assert all(isinstance(p, dict) and set(p) == set(grid) for p in points)
    assert len(points) == int(np.prod([len(v) for v in grid.values()]))
    assert len(points) <= 100, "a grid this large cannot be walked within a tiny budget"
    # fit the fewest points that together use every value of every parameter once
    width = max(len(v) for v in grid.values())
    for i in range(width):
        point = {k: v[i % len(v)] for k, v in grid.items()}
        assert point in points
        _, pred = _fit_predict(spec, point, data)
        assert len(pred) == len(data[4])


@pytest.mark.parametrize(("name", "task"), CASES)
def test_search_space_with_a_real_optuna_trial(name: str, task: TaskType, datasets: dict[TaskType, Data]) -> None:
    spec = _spec(name)
    data = datasets[task]
    problem = data[0]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    trial = study.ask()
    params = spec.search_space(Suggest(trial, spec.name), problem)
    assert params
    assert set(trial.params) == {f"{spec.name}__{k}" for k in params}
    _, pred = _fit_predict(spec, params, data)
    assert len(pred) == len(data[4])

    # the defaults (enqueued first as a warm start) must lie inside the search space
    defaults = spec.defaults(problem)
    fixed = optuna.trial.FixedTrial({f"{spec.name}__{k}": v for k, v in defaults.items()})
    distributions = trial.distributions
    for key, value in defaults.items():
        dist = distributions.get(f"{spec.name}__{key}")
        assert dist is not None, f"default '{key}' is not a parameter of the search space"
        assert dist._contains(dist.to_internal_repr(value)), f"default {key}={value!r} outside {dist}"
    if set(defaults) == set(params):
        assert spec.search_space(Suggest(fixed, spec.name), problem) == defaults


def test_every_claimed_task_is_covered() -> None:
    assert {c.values[0] for c in CASES} == set(ZOO.names())
    required = {"logistic", "ridge", "lasso", "elasticnet", "knn", "svm", "decision_tree", "random_forest",
                "extra_trees", "hist_gb", "xgboost", "lightgbm", "mlp"}
    assert required <= set(ZOO.names())


def test_missing_library_hides_the_entry(datasets: dict[TaskType, Data]) -> None:
    template = ZOO.get("decision_tree")
    ghost = replace(template, name="ghost_tree_test", requires=("automlops_no_such_library_xyz",))
    ZOO.add(ghost.name, ghost)
    try:
        assert not ghost.is_available()
        names = [s.name for s in available_models(TaskType.CLASSIFICATION)]
        assert "ghost_tree_test" not in names and "decision_tree" in names
        with pytest.raises(ConfigError, match="not installed"):
            available_models(TaskType.CLASSIFICATION, names=["ghost_tree_test"])
    finally:
        ZOO._entries.pop(ghost.name, None)


def test_available_models_filters() -> None:
    cls = {s.name for s in available_models(TaskType.CLASSIFICATION)}
    reg = {s.name for s in available_models(TaskType.REGRESSION)}
    assert "logistic" in cls and "logistic" not in reg
    assert "ridge" in reg and "ridge" not in cls
    light = {s.name for s in available_models(TaskType.CLASSIFICATION, light_only=True)}
    assert light and light < cls and "svm" not in light
    big = {s.name for s in available_models(TaskType.CLASSIFICATION, n_rows=100_000)}
    assert "svm" not in big and "knn" not in big  # O(n²) models skip big data
    with pytest.raises(ConfigError, match="cannot do regression"):
        available_models(TaskType.REGRESSION, names=["logistic"])
    with pytest.raises(ConfigError, match="unknown model"):
        available_models(TaskType.REGRESSION, names=["gpt"])


@pytest.mark.parametrize("task", [TaskType.CLASSIFICATION, TaskType.REGRESSION], ids=lambda t: t.value)
def test_lightgbm_xt_is_lightgbm_with_random_thresholds(task: TaskType, datasets: dict[TaskType, Data]) -> None:
    """The same booster and parameters, but each split at a random cut: a different model, not a copy."""
    data = datasets[task]
    params = _spec("lightgbm_xt").defaults(data[0])
    xt, pred_xt = _fit_predict(_spec("lightgbm_xt"), params, data)
    plain, pred_plain = _fit_predict(_spec("lightgbm"), params, data)
    assert xt[-1].estimator_.get_params()["extra_trees"] is True  # the early-stopping wrapper's booster
    assert not plain[-1].estimator_.get_params().get("extra_trees")
    X_test = data[4]
    outputs = (xt.predict_proba(X_test), plain.predict_proba(X_test)) if task is TaskType.CLASSIFICATION \
        else (pred_xt, pred_plain)
    assert not np.allclose(*outputs)


def test_catboost_sees_each_category_as_its_own_column(penguins: pd.DataFrame) -> None:
    """CatBoost gets one yes/no column per category; LightGBM the same column as one ordinal code."""
    for model in ("catboost", "lightgbm"):
        _spec(model)  # skips where the library is not installed
    problem = infer_problem(penguins, "species")
    plan = plan_features(penguins, problem)
    X, y = penguins[plan.input_columns], penguins["species"]
    names = {}
    for model in ("catboost", "lightgbm"):
        params = {**ZOO.get(model).defaults(problem), "n_estimators": 30}
        pipe = build_pipeline(Candidate(model, params), plan, problem, 0)
        with one_openmp_thread():
            pipe.fit(X, y)
        names[model] = set(pipe["prep"].get_feature_names_out())
        assert pipe[-1].estimator_.n_features_in_ == len(names[model])  # what the booster was given
    islands = {f"island_{name}" for name in penguins["island"].unique()}
    assert islands <= names["catboost"] and "island" not in names["catboost"]
    assert "island" in names["lightgbm"] and not islands & names["lightgbm"]
