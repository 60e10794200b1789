"""The model zoo: every algorithm the AutoML search may try, registered once.

Each :class:`ModelSpec` knows four things about its algorithm:

* ``build(params, problem, seed)`` – the scikit-learn compatible estimator;
* ``search_space(suggest, problem)`` – the ranges Optuna explores (define-by-run: the space is
  written as ordinary code, so ``max_depth`` only exists when the tree model was picked);
* ``grid(problem)`` – a small finite grid, for grid search (which cannot walk a continuous range);
* ``defaults`` – a strong starting configuration. The search evaluates it first (a "warm
  start"), so even a tiny budget returns a sensible model. Where no single default suits all data,
  ``second_start`` names one more, queued after every model's first (the forests' leaves of five
  rows, logistic regression's weak penalty), or right after its own with ``second_start_follows``
  (LightGBM's Poisson loss for counts).

Adding an algorithm means adding one ``ModelSpec(...)`` to ``zoo_entries.BUILTIN_MODELS`` (or
``ZOO.add(name, spec)`` from outside); an entry whose optional library is not installed is hidden
by :func:`available_models`, not a crash.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder

from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.errors import ConfigError
from automlops.search.suggest import Suggest  # re-exported: the zoo's search spaces are written with it

# Re-exported: the zoo's boosting entries build them, and models saved before they moved to
# early_stopping.py name them as automlops.tabular.zoo.EarlyStopped... (skops and pickle look them up here).
from automlops.tabular.early_stopping import EarlyStoppedClassifier, EarlyStoppedRegressor

__all__ = ["ZOO", "EarlyStoppedClassifier", "EarlyStoppedRegressor", "LabelEncodedClassifier", "ModelSpec",
           "Suggest", "available_models", "get_model"]

CLS, REG = TaskType.CLASSIFICATION, TaskType.REGRESSION
BOTH = frozenset({CLS, REG})


def fixed(**params: Any) -> Callable[[Problem], dict[str, Any]]:
    """A ``defaults`` or ``grid`` that is the same for every problem (most entries' are)."""
    return lambda problem: dict(params)


@dataclass(frozen=True)
class ModelSpec:
    """One algorithm of the zoo and everything the search needs to tune it."""

    name: str
    label: str
    tasks: frozenset[TaskType]
    build: Callable[[dict[str, Any], Problem, int], BaseEstimator]
    search_space: Callable[[Suggest, Problem], dict[str, Any]]
    grid: Callable[[Problem], dict[str, list[Any]]]
    defaults: Callable[[Problem], dict[str, Any]]
    second_start: Callable[[Problem], dict[str, Any] | None] = lambda problem: None
    second_start_follows: bool = False  # queue the second start right after the first, not after every model's
    requires: tuple[str, ...] = ()
    scale: bool = False  # distance/gradient-based models need standardised inputs
    encoding: str = "ordinal"  # "onehot", "ordinal", "native" or "native_few": encodings.build_preprocessor
    categorical_param: str = ""  # with "native*": the model's parameter that takes the category columns' positions
    light: bool = False  # cheap enough for the `fast` preset
    native_missing: bool = False  # learns where missing values go (no imputation needed)
    max_rows: int | None = None  # skip above this many rows (e.g. SVM is O(n²))
    save_seconds_per_estimator: float = 0.0  # saving cost per sub-model (skops writes each tree apart)
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def supports(self, task: TaskType) -> bool:
        return task in self.tasks

    def is_available(self) -> bool:
        return all(importlib.util.find_spec(mod) is not None for mod in self.requires)

    def grid_points(self, problem: Problem) -> list[dict[str, Any]]:
        """The cartesian product of the finite grid, as a list of parameter dicts."""
        from sklearn.model_selection import ParameterGrid

        return [dict(p) for p in ParameterGrid(self.grid(problem))]


class LabelEncodedClassifier(ClassifierMixin, BaseEstimator):
    """Let a classifier that wants labels 0..k-1 (XGBoost) take any labels, and give them back."""

    def __init__(self, estimator: BaseEstimator) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelEncodedClassifier:
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(X, self.encoder_.transform(y), **fit_params)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.encoder_.inverse_transform(np.asarray(self.estimator_.predict(X)).astype(int))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.estimator_.predict_proba(X)

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.estimator_.feature_importances_


def _builtin_models(zoo: Registry[ModelSpec]) -> None:
    """Add the studio's own algorithms (listed in zoo_entries.py) on the zoo's first use."""
    from automlops.tabular.zoo_entries import BUILTIN_MODELS

    for spec in BUILTIN_MODELS:
        zoo.add(spec.name, spec)


ZOO: Registry[ModelSpec] = Registry("model", loader=_builtin_models)


def get_model(name: str) -> ModelSpec:
    return ZOO.get(name)


def available_models(task: TaskType, *, names: Sequence[str] | None = None, n_rows: int | None = None,
                     light_only: bool = False) -> list[ModelSpec]:
    """Models usable for ``task`` here: installed, claiming the task, fitting the data size."""
    if names:
        specs = [get_model(n) for n in names]
        wrong = [s.name for s in specs if not s.supports(task)]
        if wrong:
            raise ConfigError(f"model(s) {', '.join(wrong)} cannot do {task.value}; "
                              f"choose from: {', '.join(s.name for s in available_models(task))}")
        missing = [s.name for s in specs if not s.is_available()]
        if missing:
            raise ConfigError(f"model(s) {', '.join(missing)} need a library that is not installed")
        return specs
    out = []
    for _, spec in ZOO.items():
        if not spec.supports(task) or not spec.is_available() or (light_only and not spec.light):
            continue
        if n_rows is not None and spec.max_rows is not None and n_rows > spec.max_rows:
            continue
        out.append(spec)
    return out


def _is_cls(problem: Problem) -> bool:
    return problem.task is TaskType.CLASSIFICATION

