"""Logging a training run to MLflow without slowing the search down.

Everything MLflow-related happens on one background thread, fed by a queue: importing MLflow
(seconds), creating the parent run, and one nested run per trial all overlap with the search
instead of adding to it. The driver only waits at the very end, when the final model, metrics
and leaderboard of the :class:`~automlops.core.fit.FitResult` are logged, and it waits **at most
until the time budget ends**: a slow or dead tracking server cannot break the budget. Whatever
was still queued then is named in the result's decisions. With no tracker, every call is a no-op.

Two small helpers finish a run's story once its caller knows how it ended: :func:`name_run`
renames the parent run after the model version it produced (``iris-v3`` tells runs of one
dataset apart, and matches the model store), and :func:`mark_cancelled` tags a run the user
cancelled (``automlops.cancelled=true``) and ends it KILLED, so nobody mistakes it for a
finished, published training.
"""

from __future__ import annotations

import json
import queue
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

import optuna

from automlops.core.fit import FitResult
from automlops.core.jsonable import jsonable
from automlops.core.problem import Problem
from automlops.errors import Cancelled

__all__ = ["CANCELLED_TAG", "TrackingSink", "mark_cancelled", "name_run"]

_STOP = object()
CANCELLED_TAG = "automlops.cancelled"
RUN_NAME_TAG = "mlflow.runName"  # MLflow keeps the run's name in this tag; setting it renames the run


def name_run(tracker: Any, run_id: str, name: str) -> None:
    """Rename a run (e.g. to ``NAME-vN`` once the model version it saved is known)."""
    tracker.set_tags(run_id, {RUN_NAME_TAG: name})


def mark_cancelled(tracker: Any, run_id: str) -> None:
    """Tag ``run_id`` as cancelled by the user and end it KILLED (also when it had already ended)."""
    tracker.set_tags(run_id, {CANCELLED_TAG: "true"})
    tracker.end_run(run_id, "KILLED")


class TrackingSink:
    """Queue MLflow calls for a parent run and its per-trial nested runs."""

    def __init__(self, tracker: Any, *, run_name: str | None, problem: Problem,
                 dataset: Mapping[str, Any] | None, on_run: Callable[[str], None] | None = None,
                 engine: str = "tabular") -> None:
        self.tracker, self.run_name, self.problem, self.dataset = tracker, run_name, problem, dataset
        self.on_run, self.engine = on_run, engine
        self._pending: list[str] = []  # labels of queued jobs, in order
        self._current: str | None = None
        self._pending_lock = threading.Lock()
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

    def _submit(self, job: Callable[[], None], label: str) -> None:
        if self.enabled:
            with self._pending_lock:
                self._pending.append(label)
            self._queue.put((label, job))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            label, job = item
            with self._pending_lock:
                self._current = label
                if self._pending and self._pending[0] == label:
                    self._pending.pop(0)
            started = time.monotonic()
            try:
                job()
            except Exception as exc:  # tracking must never kill training; report at the end
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            with self._pending_lock:
                self._current = None
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
        _install_import_time_filters()
        self._thread = threading.Thread(target=self._work, name="mlflow-sink", daemon=True)
        self._started_at = time.monotonic()
        self._open_expected = self._expected_open_seconds()
        self._thread.start()

        def open_run() -> None:
            try:
                run_id = self.tracker.start_run(self.run_name or f"automl-{self.problem.target}",
                                                tags={"automlops.kind": "automl", "automlops.engine": self.engine,
                                                      "automlops.task": self.problem.task.value})
            except Exception as exc:
                self.run_id.set_exception(exc)
                raise
            self.run_id.set_result(run_id)
            if self.on_run is not None:
                self.on_run(run_id)
            self.tracker.log_params(run_id, params)
            if self.dataset:
                self.tracker.log_dataset_input(run_id, **self.dataset)

        self._submit(open_run, "the run and its parameters")

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
            for row in trial.user_attrs.get("epochs") or []:  # engines that train in epochs: one step each
                self.tracker.log_metrics(run_id, {k: v for k, v in row.items() if k != "epoch" and
                                                  isinstance(v, int | float) and v == v}, step=int(row["epoch"]))
            status = "FINISHED" if trial.state is optuna.trial.TrialState.COMPLETE else "KILLED"
            self.tracker.end_run(run_id, status)

        self._submit(job, f"trial {trial.number}")

    def _log_result(self, result: FitResult, input_example: Any) -> None:
        run_id = self._parent()
        if run_id is None:
            return
        metrics = {f"val_{result.problem.metric}": result.val_score, "val_std": result.val_std,
                   **{f"test_{k}": v for k, v in result.test_metrics.items()},
                   "refit_seconds": result.timings.get("refit_seconds", 0.0), "n_trials": result.n_trials}
        self.tracker.log_metrics(run_id, metrics)
        self.tracker.set_tags(run_id, {"best_model": result.best_model})
        board = result.leaderboard
        self.tracker.log_dataframe(run_id, board.assign(params=board["params"].map(
            lambda p: json.dumps(jsonable(p)), na_action="ignore")), "leaderboard.csv")
        self.tracker.log_text(run_id, "\n".join(map(str, result.decisions)), "decisions.txt")
        self.tracker.log_text(run_id, json.dumps(jsonable(dict(result.feature_schema)), indent=2),
                              "feature_schema.json")
        for file_name, text in result.artifact.files.items():
            self.tracker.log_text(run_id, text, file_name)
        if _is_sklearn(result.artifact.obj):
            self.tracker.log_sklearn_model(run_id, result.artifact.obj, input_example=input_example)
        self.tracker.end_run(run_id, "FINISHED")

    def finish(self, result: FitResult, input_example: Any, *, timeout: float) -> tuple[str | None, list[str]]:
        """Log the result and the model, wait for the queue at most ``timeout`` seconds.

        Returns the parent run id and the tracking errors, including what was not logged in time.
        """
        if not self.enabled:
            return None, []
        self._submit(lambda: self._log_result(result, input_example), "the results and the model")
        missed = self._close(timeout)
        if missed:
            self.errors.insert(0, f"not logged within {timeout:.1f} s (tracking server slow or unreachable): "
                                  + ", ".join(missed))
        try:
            return self.run_id.result(timeout=0), list(self.errors)
        except Exception as exc:  # the model is still good: it is saved, and the reason is said
            self.errors.insert(0, f"could not open the MLflow run: {exc}"[:300])
            return None, list(self.errors)

    def fail(self, exc: BaseException) -> None:
        """Mark the parent run FAILED (or KILLED on cancel) and stop the worker."""
        if not self.enabled:
            return
        cancelled = isinstance(exc, KeyboardInterrupt | Cancelled)

        def job() -> None:
            run_id = self._parent()
            if run_id is None:
                return
            self.tracker.set_tags(run_id, {"error": str(exc)[:500]})
            if cancelled:
                mark_cancelled(self.tracker, run_id)
            else:
                self.tracker.end_run(run_id, "FAILED")

        self._submit(job, "the failure status")
        self._close(10.0)

    def _close(self, timeout: float) -> list[str]:
        """Stop the worker after the queue drains, waiting at most ``timeout``; return what was left."""
        if self._thread is None:
            return []
        self._queue.put(_STOP)
        self._thread.join(timeout)
        alive = self._thread.is_alive()
        self._thread = None  # a stuck daemon thread is abandoned: it cannot hold the process
        if not alive:
            return []
        with self._pending_lock:
            return ([self._current] if self._current else []) + list(self._pending)


def _is_sklearn(obj: Any) -> bool:
    from sklearn.base import BaseEstimator

    return isinstance(obj, BaseEstimator)


def _install_import_time_filters() -> None:
    """Import, on the calling thread, the libraries that install warning filters when imported.

    ``requests`` silences urllib3's "SOCKS support requires PySocks" ``DependencyWarning`` with a
    process-wide filter added at import. Imported on the sink's thread (MLflow imports it), that
    filter could land while the search's thread sat inside ``warnings.catch_warnings()``: leaving
    the block restores the filter list it saved, drops requests' filter, and the next import of
    urllib3's SOCKS module printed the warning on the user's terminal in the middle of a training.
    Imported here, before the search starts, the filter is part of every list a block saves.
    """
    import requests  # noqa: F401  (~0.1 s; MLflow would import it moments later anyway)
