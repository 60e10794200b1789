"""The training itself, as a worker process runs it: the only part of a job that knows the engine.

:func:`run_training` loads the dataset version from the lake, runs the
:class:`~automlops.tabular.runner.AutoMLRunner` and reads its
:class:`~automlops.core.fit.FitResult` (never the runner's attributes), saves the model to the
:class:`~automlops.mlops.store.ModelStore`, computes the test diagnostics (also logged to the
MLflow run as ``diagnostics.json``), renames the MLflow run after the saved version (``NAME-vN``)
and returns a :class:`~automlops.ui.job_types.JobResult`.

**A cancelled training publishes nothing.** When the user cancels, the search stops after the
running trial and the runner still returns a result; the worker then raises :class:`JobCancelled`
*instead of saving*: a half-searched model must never become a servable version by accident.
(:mod:`automlops.ui.job_process` tags the MLflow run cancelled and ends it KILLED.)
Everything about processes, queues, cancelling and SQLite lives elsewhere
(:mod:`automlops.ui.job_process`, :mod:`automlops.ui.jobs`), so adapting the dashboard to a new
engine API means changing this one small module (vision jobs: :mod:`automlops.ui.vision_worker`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from automlops.config import Settings
from automlops.core.results import ProgressEvent
from automlops.errors import AutoMLOpsError, Cancelled
from automlops.ui.job_types import CANCELLED_TEXT, JobResult, TrainRequest

if TYPE_CHECKING:
    import pandas as pd

    from automlops.core.fit import FitResult
    from automlops.mlops.tracking import Tracker

__all__ = ["CANCELLED_TEXT", "JobCancelled", "name_run_after_version", "run_training"]

log = logging.getLogger(__name__)
Emit = Callable[[ProgressEvent], None]


class JobCancelled(Cancelled):
    """The user cancelled the training: no model version was saved."""

    def __init__(self) -> None:
        super().__init__(CANCELLED_TEXT)


def _stage(emit: Emit, message: str) -> None:
    emit(ProgressEvent("stage", message))


def _prepare(tracker: Tracker | None) -> None:
    """Import what the runner's MLflow thread needs *before* it starts: two threads importing
    MLflow at once can see a half-initialised module (see :mod:`automlops.ui.imports`)."""
    from automlops.ui import imports

    imports.import_all(("automlops.tabular.runner", "automlops.tabular.persist", "automlops.tabular.diagnostics",
                        "automlops.search.trials"))
    if tracker is not None:
        imports.import_all(imports.TRACKING_MODULES)
        tracker.client  # noqa: B018 - open (or create) the store now, not in the logging thread


def _load(request: TrainRequest, settings: Settings) -> tuple[pd.DataFrame, dict[str, Any]]:
    from automlops.mlops.lake import DataLake

    lake = DataLake(settings=settings)
    entry = lake.get_version(request.dataset, request.version)
    return lake.load(entry.dataset, entry.version), entry.lineage()


def run_training(request: TrainRequest, *, settings: Settings, tracker: Tracker | None, tracking_uri: str,
                 emit: Emit, stop_event: threading.Event, started_at: float | None = None) -> JobResult:
    """Train, save and diagnose one request; progress goes to ``emit`` (see the module docstring)."""
    started_at = started_at or time.monotonic()
    if request.is_vision:  # images: the vision runner (automlops.ui.vision_worker)
        from automlops.ui.vision_worker import run_vision_training

        return run_vision_training(request, settings=settings, tracker=tracker, tracking_uri=tracking_uri, emit=emit,
                                   stop_event=stop_event, started_at=started_at)
    _stage(emit, "loading the machine-learning libraries")
    from automlops.mlops._probe import bound_http_requests

    bound_http_requests(settings)  # this worker process's MLflow calls: bounded timeout and retries
    _prepare(tracker)
    from automlops.mlops.skops_snapshot import import_writer
    from automlops.mlops.store import ModelStore
    from automlops.tabular.persist import save_model

    r = request
    frame, dataset = _load(r, settings)
    _stage(emit, f"loaded {dataset['name']} v{dataset['version']:04d} ({dataset['rows']} rows)")
    import_writer()  # the final save's one-off import, paid before the search, on the budget's clock
    try:
        result = _fit(r, frame, dataset, tracker, emit, stop_event, started_at)
    except Cancelled:  # the driver stopped before refitting: nothing to publish
        raise JobCancelled() from None
    if stop_event.is_set():  # cancelled while the model was being refitted: never publish it
        raise JobCancelled()
    _stage(emit, "saving the model")
    saving_notes: list[str] = []  # the MLflow registry was down: saved all the same, said in the job's notes
    stored = save_model(result, ModelStore(settings=settings), r.name, dataset=dataset, tracker=tracker,
                        notes=saving_notes)
    name_run_after_version(tracker, result.run_id, f"{stored.name}-v{stored.version}")
    kind = result.artifact.kind
    diagnostics, notes = (None, []) if kind != "tabular" else _diagnostics(result, frame, tracker, emit)
    problem = result.problem
    return JobResult(
        task=problem.task.value, metric=problem.metric, direction=problem.direction,
        best_model=result.best_model, val_score=result.val_score, val_std=result.val_std,
        test_score=result.test_score, test_metrics=dict(result.test_metrics),
        leaderboard=result.leaderboard, trials=result.trials,
        decisions=[str(d) for d in result.decisions], model_name=stored.name, model_version=stored.version,
        run_id=result.run_id, tracking_uri=tracking_uri, diagnostics=diagnostics, notes=saving_notes + notes, kind=kind,
        report=None if kind == "tabular" else dict(stored.meta))


def _fit(r: TrainRequest, frame: pd.DataFrame, dataset: dict[str, Any], tracker: Tracker | None, emit: Emit,
         stop_event: threading.Event, started_at: float) -> FitResult:
    """The tabular runner for classification/regression; the task's own engine otherwise."""
    if not r.uses_engine:
        from automlops.tabular.runner import AutoMLRunner

        return AutoMLRunner(
            r.target, task=r.task, metric=r.metric, preset=r.preset, search=r.search, validation=r.validation,
            models=list(r.models) if r.models else None, ensemble=r.ensemble, n_trials=r.n_trials,
            time_budget=r.time_budget, seed=r.seed, tracker=tracker, dataset=dataset, run_name=r.name,
            callbacks=[emit], started_at=started_at, stop_event=stop_event, select=r.select).fit(frame).result_
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.tasks import TrainOptions, build_engine

    options = TrainOptions(target=r.target, time_column=r.time_column, series_id=r.series_id, horizon=r.horizon,
                           freq=r.freq, contamination=r.contamination, label=r.label,
                           select_by_label=r.select_by_label, reference=r.reference, n_clusters=r.n_clusters,
                           metric=r.metric,
                           preset=r.preset, models=r.models, seed=r.seed)
    config = DriverConfig(preset=r.preset, search=r.search, n_trials=r.n_trials, time_budget=r.time_budget,
                          seed=r.seed, started_at=started_at, run_name=r.name, dataset=dataset)
    driver = SearchDriver(build_engine(str(r.task), options), config, tracker=tracker, callbacks=[emit],
                          stop_event=stop_event)
    return driver.fit(frame)


def name_run_after_version(tracker: Tracker | None, run_id: str | None, name: str) -> None:
    """Name the MLflow run after the model version it produced; a failure only leaves the old name."""
    from automlops.search.tracking_sink import name_run

    if tracker is None or not run_id:
        return
    try:
        name_run(tracker, run_id, name)
    except AutoMLOpsError as exc:
        log.warning("MLflow run %s not renamed to %s: %s", run_id, name, exc)


def _diagnostics(result: FitResult, frame: pd.DataFrame, tracker: Tracker | None,
                 emit: Emit) -> tuple[dict[str, Any] | None, list[str]]:
    """Test-set diagnostics, also logged to the MLflow run; a failure here only adds a note."""
    from automlops.tabular.diagnostics import diagnose_result

    _stage(emit, "computing test diagnostics")
    try:
        diagnostics = diagnose_result(result, frame)
    except Exception:
        log.exception("test diagnostics failed")
        return None, ["the test diagnostics (confusion matrix, ROC, residuals) could not be computed"]
    if tracker is not None and result.run_id:
        try:
            tracker.log_text(result.run_id, json.dumps(diagnostics), "diagnostics.json")
        except AutoMLOpsError as exc:
            return diagnostics, [f"diagnostics were not logged to MLflow: {exc}"]
    return diagnostics, []
