"""Logging a training run to MLflow without slowing the search down.

Everything MLflow-related happens on one background thread, fed by a queue: importing MLflow
(seconds), creating the parent run, and one nested run per trial all overlap with the search
instead of adding to it. The runner only waits at the very end, when the final model, metrics
and leaderboard are logged. With no tracker, every call is a no-op.
"""

from __future__ import annotations

import json
import queue
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import optuna
import pandas as pd

from automlops.core.problem import Problem

__all__ = ["TrackingSink"]

_STOP = object()


class TrackingSink:
    """Queue MLflow calls for a parent run and its per-trial nested runs."""

    def __init__(self, tracker: Any, *, run_name: str | None, problem: Problem,
                 dataset: dict[str, Any] | None) -> None:
        self.tracker, self.run_name, self.problem, self.dataset = tracker, run_name, problem, dataset
        self.run_id: Future[str | None] = Future()
        self.errors: list[str] = []
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self._open_expected = 2.0
        self._job_seconds: list[float] = []

    @property
    def enabled(self) -> bool:
        return self.tracker is not None

    def _submit(self, job: Callable[[], None]) -> None:
        if self.enabled:
            self._queue.put(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            started = time.monotonic()
            try:
                job()
            except Exception as exc:  # tracking must never kill training; report at the end
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            if self.run_id.done():
                self._job_seconds.append(time.monotonic() - started)

    def backlog_seconds(self) -> float:
        """Expected time to drain what is queued (the runner keeps it out of the search's budget)."""
        if not self.enabled or self._started_at is None:
            return 0.0
        seconds = 0.0
        if not self.run_id.done():  # MLflow still importing / creating its database
            seconds += max(0.5, self._open_expected - (time.monotonic() - self._started_at))
        per_job = statistics.median(self._job_seconds[-20:]) if self._job_seconds else 0.05
        return seconds + self._queue.qsize() * per_job

    def start(self, params: dict[str, Any]) -> None:
        if not self.enabled:
            self.run_id.set_result(None)
            return
        self._thread = threading.Thread(target=self._work, name="mlflow-sink", daemon=True)
        self._started_at = time.monotonic()
        self._open_expected = self._expected_open_seconds()
        self._thread.start()

        def open_run() -> None:
            try:
                run_id = self.tracker.start_run(self.run_name or f"automl-{self.problem.target}",
                                                tags={"automlops.kind": "automl", "automlops.task":
                                                      self.problem.task.value})
            except Exception as exc:
                self.run_id.set_exception(exc)
                raise
            self.run_id.set_result(run_id)
            self.tracker.log_params(run_id, params)
            if self.dataset:
                self.tracker.log_dataset_input(run_id, **self.dataset)

        self._submit(open_run)

    def _expected_open_seconds(self) -> float:
        """Importing MLflow takes ~2 s; creating a fresh SQLite store runs migrations for ~5 s more."""
        from automlops.mlops._mlflow_template import template_path
        from automlops.mlops.tracking import sqlite_path

        db = sqlite_path(str(getattr(self.tracker, "tracking_uri", "")))
        if db is not None and not db.exists() and not template_path().is_file():
            return 7.0
        return 2.5

    def _parent(self) -> str | None:
        try:
            return self.run_id.result() if self.run_id.done() else None
        except Exception:
            return None

    def log_trial(self, trial: optuna.trial.FrozenTrial) -> None:
        def job() -> None:
            parent = self._parent()
            if parent is None:
                return
            run_id = self.tracker.start_run(f"trial-{trial.number}", parent_run_id=parent,
                                            tags={"automlops.kind": "trial", "state": trial.state.name})
            params = {"model": trial.user_attrs.get("model"), **(trial.user_attrs.get("params") or {})}
            self.tracker.log_params(run_id, params)
            if trial.value is not None:
                self.tracker.log_metrics(run_id, {f"val_{self.problem.metric}": trial.value,
                                                  "val_std": trial.user_attrs.get("std") or 0.0})
            status = "FINISHED" if trial.state is optuna.trial.TrialState.COMPLETE else "KILLED"
            self.tracker.end_run(run_id, status)

        self._submit(job)

    def finish(self, runner: Any, input_example: pd.DataFrame) -> str | None:
        """Log the results and the model, wait for the queue, and return the parent run id."""
        if not self.enabled:
            return None

        def job() -> None:
            run_id = self._parent()
            if run_id is None:
                return
            metrics = {f"val_{runner.problem_.metric}": runner.val_score_, "val_std": runner.val_std_,
                       **{f"test_{k}": v for k, v in runner.test_metrics_.items()},
                       "refit_seconds": runner.refit_seconds_, "n_trials": len(runner.study_.trials)}
            self.tracker.log_metrics(run_id, metrics)
            self.tracker.set_tags(run_id, {"best_model": runner.best_model_name_})
            self.tracker.log_dataframe(run_id, runner.leaderboard_.assign(params=runner.leaderboard_["params"]
                                                                           .map(json.dumps, na_action="ignore")),
                                       "leaderboard.csv")
            self.tracker.log_text(run_id, "\n".join(map(str, runner.decisions_)), "decisions.txt")
            self.tracker.log_text(run_id, json.dumps(runner.plan_.schema(), indent=2, default=str),
                                  "feature_schema.json")
            self.tracker.log_sklearn_model(run_id, runner.best_estimator_, input_example=input_example)
            self.tracker.end_run(run_id, "FINISHED")

        self._submit(job)
        self._close()
        try:
            return self.run_id.result(timeout=0)
        except Exception as exc:  # the model is still good: the runner saves it and says why
            self.errors.insert(0, f"could not open the MLflow run: {exc}"[:300])
            return None

    def fail(self, exc: BaseException) -> None:
        """Mark the parent run FAILED (or KILLED on cancel) and stop the worker."""
        if not self.enabled:
            return
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"

        def job() -> None:
            run_id = self._parent()
            if run_id is not None:
                self.tracker.set_tags(run_id, {"error": str(exc)[:500]})
                self.tracker.end_run(run_id, status)

        self._submit(job)
        self._close()

    def _close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
