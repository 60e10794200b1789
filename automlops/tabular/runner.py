"""``AutoMLRunner``: the scikit-learn-style façade of tabular AutoML.

It follows the scikit-learn contract: ``__init__`` only stores the configuration, ``fit(df)``
does the work and returns ``self``, and everything learned ends with ``_``:

* ``result_`` – the frozen :class:`~automlops.core.fit.FitResult` (what the CLI, the dashboard,
  persistence and tracking read);
* ``problem_``, ``plan_``, ``validation_`` – what was inferred (task, features, splits);
* ``study_``, ``leaderboard_`` – the Optuna study and the best trial of every model;
* ``best_estimator_`` – the fitted pipeline (preprocessing + model, or an ensemble of them), refitted
  on every row by default; ``scored_estimator_`` – the same recipe before that refit, the one whose
  test score is reported (identical to ``best_estimator_`` with ``refit_full=False``, and also after
  a refit with ``keep_scored_model=False``, which frees it to save memory: the CLI does, it draws
  no diagnostics);
* ``val_score_`` ± ``val_std_``, ``test_metrics_`` and ``test_rows_`` – validation, and the final
  untouched test (``test_rows_`` are the positions of the test rows in the frame given to ``fit``);
* ``decisions_`` – every automatic choice in plain words.

``select="robust"`` ships, instead of the top validation score, the simplest model statistically
tied with it (see :mod:`automlops.tabular.robust`); the leaderboard always shows each score's
95 % interval and whether each lead is significant (:mod:`automlops.search.significance`).

Underneath, the work is split in two: the :class:`~automlops.tabular.engine.TabularEngine` knows
tables (features, validation, the model zoo, ensembles), and the task-agnostic
:class:`~automlops.search.driver.SearchDriver` runs the search loop (Optuna study, time budget,
cancel, progress, MLflow). Every other engine plugs into the same driver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automlops.core.problem import TaskType
from automlops.core.results import ProgressEvent
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.tabular import ensemble as ens
from automlops.tabular.engine import SUPPORTED_TASKS, TabularData, TabularEngine

__all__ = ["SUPPORTED_TASKS", "AutoMLRunner"]

Callback = Callable[[ProgressEvent], None]


class AutoMLRunner:
    """Search, ensemble, refit, test and track a tabular model (see the module docstring)."""

    def __init__(self, target: str | None = None, *, task: str | TaskType | None = None, metric: str | None = None,
                 preset: str = "medium", search: str = "tpe", validation: str | None = None,
                 models: Sequence[str] | None = None, ensemble: str | ens.EnsembleConfig = "auto",
                 n_trials: int | None = None, time_budget: float | None = None, seed: int = 0,
                 test_size: float = 0.2, time_column: str | None = None, tracker: Any = None,
                 dataset: dict[str, Any] | None = None, run_name: str | None = None,
                 callbacks: Sequence[Callback] = (), storage: str | None = None, study_name: str | None = None,
                 started_at: float | None = None, stop_event: threading.Event | None = None,
                 refit_full: bool = True, keep_scored_model: bool = True, select: str = "best") -> None:
        self.target, self.task, self.metric, self.preset = target, task, metric, preset
        self.search, self.validation, self.models, self.ensemble = search, validation, models, ensemble
        self.n_trials, self.time_budget, self.seed, self.test_size = n_trials, time_budget, seed, test_size
        self.time_column, self.tracker, self.dataset, self.run_name = time_column, tracker, dataset, run_name
        self.callbacks, self.storage, self.study_name = callbacks, storage, study_name
        self.started_at, self.stop_event, self.refit_full = started_at, stop_event, refit_full
        self.keep_scored_model, self.select = keep_scored_model, select

    def _engine(self) -> TabularEngine:
        return TabularEngine(self.target, task=self.task, metric=self.metric, preset=self.preset,
                             search=self.search, validation=self.validation, models=self.models,
                             ensemble=self.ensemble, seed=self.seed, test_size=self.test_size,
                             time_column=self.time_column, refit_full=self.refit_full,
                             keep_scored_model=self.keep_scored_model, select=self.select)

    def _config(self) -> DriverConfig:
        return DriverConfig(preset=self.preset, search=self.search, n_trials=self.n_trials,
                            time_budget=self.time_budget, seed=self.seed, storage=self.storage,
                            study_name=self.study_name, started_at=self.started_at, run_name=self.run_name,
                            dataset=self.dataset)

    def fit(self, df: pd.DataFrame, test_df: pd.DataFrame | None = None) -> AutoMLRunner:
        """Run the whole AutoML pipeline on ``df``; ``test_df`` (optional) replaces the test split."""
        engine = self._engine()
        driver = SearchDriver(engine, self._config(), tracker=self.tracker, callbacks=self.callbacks,
                              stop_event=self.stop_event)
        self.engine_, self.driver_, self.budget_ = engine, driver, driver.budget
        try:
            result = driver.fit(TabularData(df, test_df))
        finally:
            self.decisions_ = list(driver.log.items)
        self._publish(engine, driver, result)
        return self

    def _publish(self, engine: TabularEngine, driver: SearchDriver, result: Any) -> None:
        """Expose the result as scikit-learn-style fitted attributes."""
        self.result_ = result
        self.problem_, self.plan_, self.validation_ = result.problem, engine.plan, engine.validation
        self.evaluator_, self.study_, self.leaderboard_ = engine.evaluator, driver.study, result.leaderboard
        self.best_estimator_ = result.artifact.obj
        self.scored_estimator_ = result.artifact.scored_obj
        self.best_model_name_, self.best_params_ = result.best_model, dict(result.best_params)
        self.val_score_, self.val_std_ = result.val_score, result.val_std
        self.test_metrics_, self.test_score_ = dict(result.test_metrics), result.test_score
        self.test_rows_: np.ndarray = result.test_rows
        self.n_test_rows_ = result.n_test_rows
        self.run_id_, self.tracking_errors_ = result.run_id, list(result.tracking_errors)
        self.decisions_ = list(result.decisions)
        self.timings_ = dict(result.timings)
        self.refit_seconds_ = result.timings.get("refit_seconds", 0.0)
        self.wall_seconds_ = result.wall_seconds

    def summary(self) -> dict[str, Any]:
        """The headline numbers of a finished fit (JSON-friendly)."""
        return self.result_.summary()

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.best_estimator_.predict(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities (classification models that have them), columns in ``classes_`` order."""
        return np.asarray(self.best_estimator_.predict_proba(X))

    def score(self, X: pd.DataFrame, y: pd.Series) -> float:
        """The problem's metric on ``(X, y)`` (higher or lower is better as the metric says)."""
        from automlops.core.metrics import get_metric, score
        from automlops.tabular.evaluate import predict_outputs

        pred, proba = predict_outputs(self.best_estimator_, X, self.problem_)
        return score(get_metric(self.problem_.metric), np.asarray(y), pred, proba, self.problem_.classes)

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.best_estimator_.classes_)
