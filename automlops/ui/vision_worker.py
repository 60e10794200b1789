"""A vision training as a worker process runs it: image lake → :class:`VisionRunner` → model store.

This is the vision half of :mod:`automlops.ui.job_worker` (which calls :func:`run_vision_training`
for a request whose task is an image task). The worker process, its progress table, the Cancel
button and the restart recovery are the tabular jobs' own (:mod:`automlops.ui.jobs`); only the
training differs:

1. the image dataset version is loaded from the :class:`~automlops.mlops.image_lake.ImageLake`
   (which checks the SHA-256 of every file first: the model learns from exactly what was stored);
2. :class:`~automlops.vision.runner.VisionRunner` searches architectures and hyperparameters,
   training each candidate for a few epochs; after every epoch it sends an ``"epoch"`` progress
   event (train loss, validation loss, validation metric) that the job table records, so the
   Vision page draws the learning curves *while* the network learns;
3. the best network is saved to the :class:`~automlops.mlops.store.ModelStore` as a state dict
   plus its architecture's name (never a pickle) and the class list, input size and
   normalisation in ``meta.json``.

As for tables, **a cancelled training publishes nothing**: the runner stops after the running
epoch and the worker raises :class:`~automlops.ui.job_worker.JobCancelled` instead of saving.
PyTorch is imported here, in the worker, never by the page that shows the job.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from automlops.config import Settings
from automlops.core.results import ProgressEvent
from automlops.errors import Cancelled
from automlops.ui.job_types import JobResult, TrainRequest

if TYPE_CHECKING:
    from collections.abc import Callable

    from automlops.core.fit import FitResult
    from automlops.mlops.store import StoredModel
    from automlops.mlops.tracking import Tracker

__all__ = ["MAX_REPORTED_TEST_ITEMS", "run_vision_training"]

MAX_REPORTED_TEST_ITEMS = 64  # test-image positions kept in the job's result (the page draws a few)


def _stage(emit: Callable[[ProgressEvent], None], message: str) -> None:
    emit(ProgressEvent("stage", message))


def _prepare(tracker: Tracker | None) -> None:
    """Load torch, torchvision and MLflow before the runner's threads start (see ``job_worker._prepare``)."""
    from automlops.ui import imports

    imports.import_all(("torch", "torchvision", "automlops.vision", "automlops.vision.runner",
                        "automlops.vision.engine", "automlops.mlops.image_lake", "automlops.mlops.persist"))
    if tracker is not None:
        imports.import_all(imports.TRACKING_MODULES)
        tracker.client  # noqa: B018 - open (or create) the store now, not in the logging thread


def run_vision_training(request: TrainRequest, *, settings: Settings, tracker: Tracker | None, tracking_uri: str,
                        emit: Callable[[ProgressEvent], None], stop_event: threading.Event,
                        started_at: float | None = None) -> JobResult:
    """Train, save and summarise one vision request; progress goes to ``emit`` (module docstring)."""
    from automlops.ui.job_worker import JobCancelled, name_run_after_version

    started_at = started_at or time.monotonic()
    _stage(emit, "loading PyTorch and torchvision")
    from automlops.mlops._probe import bound_http_requests

    bound_http_requests(settings)
    _prepare(tracker)
    from automlops.mlops.image_lake import ImageLake
    from automlops.mlops.store import ModelStore
    from automlops.vision.runner import VisionRunner, save_vision_model

    r = request
    lake = ImageLake(settings=settings)
    entry = lake.get_version(r.dataset, r.version)
    images = lake.load(entry.name, entry.version)
    dataset = entry.lineage()
    _stage(emit, f"loaded {entry.name} {entry.id} ({entry.n_images} images, {len(entry.classes)} classes)")
    runner = VisionRunner(
        str(r.task), models=list(r.models) if r.models else None, epochs=r.epochs, preset=r.preset,
        time_budget=r.time_budget, n_trials=r.n_trials, device=r.device, weights=r.weights, search=r.search,
        seed=r.seed, image_size=r.image_size, batch_size=r.batch_size, tracker=tracker, dataset=dataset,
        run_name=r.name, callbacks=[emit], stop_event=stop_event, started_at=started_at)
    try:
        result = runner.fit(images).result_
    except Cancelled:
        raise JobCancelled() from None
    if stop_event.is_set():  # cancelled while the best network was being finished: never publish it
        raise JobCancelled()
    _stage(emit, "saving the model")
    notes: list[str] = []
    stored = save_vision_model(result, ModelStore(settings=settings), r.name, dataset=dataset, tracker=tracker,
                               notes=notes)
    name_run_after_version(tracker, result.run_id, f"{stored.name}-v{stored.version}")
    return _job_result(result, stored, notes, tracking_uri)


def _job_result(result: FitResult, stored: StoredModel, notes: list[str], tracking_uri: str) -> JobResult:
    """What the dashboard shows of a finished vision training (the saved version's meta as the report)."""
    problem = result.problem
    report = dict(stored.meta)
    report["test_items"] = [int(i) for i in list(result.test_rows)[:MAX_REPORTED_TEST_ITEMS]]
    return JobResult(
        task=problem.task.value, metric=problem.metric, direction=problem.direction, best_model=result.best_model,
        val_score=result.val_score, val_std=result.val_std, test_score=result.test_score,
        test_metrics=dict(result.test_metrics), leaderboard=result.leaderboard, trials=result.trials,
        decisions=[str(d) for d in result.decisions], model_name=stored.name, model_version=stored.version,
        run_id=result.run_id, tracking_uri=tracking_uri, diagnostics=None, notes=notes,
        kind=result.artifact.kind, report=report)
