"""The worker process of a training job: how it starts, reports its progress and stops.

**Why a process, not a thread.** A training changes process-wide state: scikit-learn and the
runner silence warnings with ``warnings.catch_warnings()`` (which swaps the *interpreter's*
global filter list, so two overlapping threads can leave the whole dashboard ignoring warnings),
threadpoolctl limits the OpenMP/BLAS threads of the whole process, and MLflow reads credentials
from ``os.environ``. In its own process a training can do all that without touching the
dashboard, use its own CPU core, and be *killed* if it will not stop, which no thread can be.

**Spawn, not fork.** ``fork`` copies the parent process as it is, including locks held by its
other threads at that instant (Streamlit's server, our warm-up and logging threads): a child
that needs such a lock waits forever. ``spawn`` starts a fresh Python interpreter that imports
this module and calls :func:`main` with pickled arguments: slower to start (the ML stack is
imported again, a few seconds) but nothing half-locked is inherited.

The worker writes its progress straight into the job table (:mod:`automlops.ui.job_store`): its
stage, each finished trial (and each finished epoch of a vision trial), the MLflow run id as soon as the run opens, and its final status with
the result. The dashboard only reads it; so a worker outlives a dashboard restart and its job
still ends up with the right status. Stopping: the dashboard sets a ``multiprocessing.Event``
(or sends SIGTERM); the runner checks it between trials and finishes the running one; the worker
then saves **nothing**, tags the MLflow run cancelled, ends it KILLED, and records the job as
``cancelled`` ("cancelled: nothing was saved").
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from automlops.config import Settings
from automlops.core.results import ProgressEvent
from automlops.errors import AutoMLOpsError
from automlops.mlops.tracking import Tracker
from automlops.ui.job_store import JobStore
from automlops.ui.job_types import CANCELLED_TEXT, EpochPoint, TrainRequest, TrialPoint

__all__ = ["GENERIC_ERROR", "JobReporter", "RecordingTracker", "TrackingSpec", "WorkerHandle", "epoch_point", "main",
           "process_alive", "process_started", "settings_payload", "tracking_spec"]

log = logging.getLogger(__name__)
GENERIC_ERROR = "training stopped on an unexpected error; the details are in the dashboard's log"
_ENV_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
_SECRET_FIELDS = {"tracking_username", "tracking_password", "api_key"}


@dataclass(frozen=True)
class TrackingSpec:
    """Where the worker logs: the URI, the experiment and the tracker's settings (with credentials).

    It reaches the worker pickled through the process pipe, never through the environment; the
    settings are kept out of ``repr`` because they hold the token.
    """

    uri: str
    experiment: str
    display_uri: str
    settings: dict[str, Any] = field(repr=False)


def tracking_spec(tracker: Tracker | None, display_uri: str = "") -> TrackingSpec | None:
    """What a worker needs to rebuild ``tracker`` (``None``: the job is not tracked)."""
    if tracker is None:
        return None
    return TrackingSpec(tracker.tracking_uri, tracker.experiment_name, display_uri, tracker.settings.model_dump())


def settings_payload(settings: Settings) -> dict[str, Any]:
    """The studio settings a worker needs (paths, limits), without any secret."""
    return settings.model_dump(exclude=_SECRET_FIELDS)


class RecordingTracker(Tracker):
    """A :class:`Tracker` that reports the id of each top-level run it opens, the moment it opens.

    The job row gets the MLflow run id long before the training ends, so a dashboard that finds
    the worker dead can still mark that run FAILED instead of leaving it RUNNING forever.
    """

    def __init__(self, spec: TrackingSpec, on_run: Callable[[str], None]) -> None:
        super().__init__(spec.uri, spec.experiment, settings=Settings(**spec.settings))
        self._on_run = on_run
        self.run_id: str | None = None  # the last top-level run opened

    def start_run(self, name: str, *, tags: dict[str, Any] | None = None, parent_run_id: str | None = None) -> str:
        run_id = super().start_run(name, tags=tags, parent_run_id=parent_run_id)
        if parent_run_id is None:
            self.run_id = run_id
            self._on_run(run_id)
        return run_id


def _trial_model(message: str) -> str | None:
    """The model name in a runner's trial message ("trial 3 lightgbm COMPLETE")."""
    parts = message.split()
    return parts[2] if len(parts) >= 4 and parts[0] == "trial" else None


def search_stage(point: TrialPoint, planned: int | None) -> str:
    """The "Now:" line while the search runs: the trial that just ended, not the last decision."""
    of = f" of {planned}" if planned else ""
    outcome = {"COMPLETE": "finished", "PRUNED": "stopped early", "FAIL": "failed"}.get(point.state, point.state.lower())
    return f"searching: trial {point.number}{of} ({point.model or 'model'}) {outcome}"


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def epoch_point(event: ProgressEvent) -> EpochPoint:
    """A vision runner's "epoch" event (``extra``: trial, epoch, train_loss, val_loss, metric, model;
    the metric's value in ``event.value`` or ``extra["value"]``)."""
    extra = event.extra or {}
    return EpochPoint(trial=int(extra.get("trial") or event.trial or 0), epoch=int(extra.get("epoch") or 0),
                      train_loss=_number(extra.get("train_loss")), val_loss=_number(extra.get("val_loss")),
                      metric=str(extra["metric"]) if extra.get("metric") is not None else None,
                      value=_number(extra.get("value", event.value)),
                      model=str(extra["model"]) if extra.get("model") is not None else None)


class JobReporter:
    """The runner's progress callback: every event becomes an update of the job's row."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store, self.job_id = store, job_id
        self._trials = 0

    def __call__(self, event: ProgressEvent) -> None:
        try:
            self._write(event)
        except sqlite3.Error as exc:  # progress reporting must never stop a training
            log.warning("job %s: progress not recorded: %s", self.job_id, exc)

    def _write(self, event: ProgressEvent) -> None:
        run_id = (event.extra or {}).get("run_id")
        if run_id:
            self.run_started(str(run_id))
        values: dict[str, Any] = {} if event.budget is None else {"budget": event.budget}
        if event.kind == "epoch":
            self.store.add_epoch(self.job_id, epoch_point(event), stage=event.message, **values)
            return
        if event.kind != "trial":
            self.store.update(self.job_id, stage=event.message, **values)
            return
        self._trials += 1
        if event.n_trials is not None:
            values["n_trials"] = event.n_trials
        point = TrialPoint(int(event.trial or self._trials), _trial_model(event.message), event.state or "COMPLETE",
                           event.value, event.best_score)
        self.store.add_trial(self.job_id, point, best_score=event.best_score, best_model=event.best_model,
                             stage=search_stage(point, event.n_trials), **values)

    def run_started(self, run_id: str) -> None:
        try:
            self.store.update(self.job_id, run_id=run_id)
        except sqlite3.Error as exc:
            log.warning("job %s: MLflow run id not recorded: %s", self.job_id, exc)


def _stop_signals(stop: Any) -> threading.Event:
    """A thread-local stop flag set by the dashboard's event or by SIGTERM; Ctrl+C is ignored.

    Ctrl+C in a terminal reaches every process of the group: the dashboard decides what happens
    to its workers, so they ignore it.
    """
    flag = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: flag.set())

    def relay() -> None:
        stop.wait()
        flag.set()

    threading.Thread(target=relay, name="stop-relay", daemon=True).start()
    return flag


def _outcome(job_id: str, request: TrainRequest, settings: Settings, tracking: TrackingSpec | None,
             reporter: JobReporter, stop: threading.Event, started_at: float) -> dict[str, Any]:
    """Run the training; return the columns of its final state."""
    from automlops.ui.job_worker import run_training

    tracker: RecordingTracker | None = None
    try:
        tracker = RecordingTracker(tracking, reporter.run_started) if tracking is not None else None
        result = run_training(request, settings=settings, tracker=tracker,
                              tracking_uri=tracking.display_uri if tracking else "", emit=reporter,
                              stop_event=stop, started_at=started_at)
    except AutoMLOpsError as exc:
        if not stop.is_set():
            return {"status": "failed", "error": str(exc)}
        _cancel_run(tracker)
        return {"status": "cancelled", "error": CANCELLED_TEXT}
    except Exception:
        log.exception("training job %s failed", job_id)
        return {"status": "failed", "error": GENERIC_ERROR}
    final = {"status": "finished", "result": result.to_json()}  # a cancel too late to matter: it was saved
    return {**final, "run_id": result.run_id} if result.run_id else final


def _cancel_run(tracker: RecordingTracker | None) -> None:
    """Tag the cancelled job's MLflow run and end it KILLED; tracking trouble never hides the cancel."""
    from automlops.search.tracking_sink import mark_cancelled

    if tracker is None or tracker.run_id is None:
        return
    try:
        mark_cancelled(tracker, tracker.run_id)
    except AutoMLOpsError as exc:
        log.warning("MLflow run %s not marked cancelled: %s", tracker.run_id, exc)


def main(job_id: str, db_path: str, request: TrainRequest, settings: dict[str, Any],
         tracking: TrackingSpec | None, stop: Any) -> None:
    """The worker process's entry point (``stop`` is the dashboard's ``multiprocessing.Event``)."""
    started_at = time.monotonic()
    flag = _stop_signals(stop)
    for var in _ENV_VARS:  # inherited from the dashboard: this worker gets its target explicitly
        os.environ.pop(var, None)
    store = JobStore(Path(db_path))
    reporter = JobReporter(store, job_id)
    final = _outcome(job_id, request, Settings(**settings), tracking, reporter, flag, started_at)
    stage = {"finished": "done", "cancelled": CANCELLED_TEXT}.get(final["status"], final["status"])
    store.update(job_id, only_active=True, stage=stage, ended=time.time(), **final)
    # Everything is committed: skip the interpreter's teardown of the loaded ML stack (~1 s), which
    # also skips the clean-ups that would have deleted the model's serialisation: do that first.
    from automlops.mlops.skops_snapshot import release_all

    release_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# ---------------------------------------------------------------------- the dashboard's side
def process_started(pid: int | None) -> float | None:
    """When process ``pid`` started: with the pid, it identifies a process (pids are reused)."""
    try:
        return psutil.Process(pid).create_time() if pid else None
    except psutil.Error:
        return None


def process_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (a zombie does not)."""
    try:
        proc = psutil.Process(pid) if pid else None
        if proc is None or proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 1.0
    except psutil.Error:
        return False


_main_lock = threading.Lock()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """Let a worker start without re-running the dashboard's ``__main__``.

    A spawned child first imports its parent's ``__main__`` module (functions defined there may
    have to be unpickled). Under Streamlit, ``__main__`` is the app script itself (each page run
    is installed as ``__main__``): the worker would run the whole dashboard before training. The
    worker's entry point lives in this module and needs nothing from ``__main__``, so while
    ``start()`` describes the parent, ``__main__`` is a bare module with no file to re-run.
    """
    with _main_lock:
        saved, bare = sys.modules.get("__main__"), types.ModuleType("__main__")
        sys.modules["__main__"] = bare
        try:
            yield
        finally:
            if saved is not None and sys.modules.get("__main__") is bare:  # unless a page run replaced it
                sys.modules["__main__"] = saved


class WorkerHandle:
    """The dashboard's handle on one worker: start it, ask it to stop, kill it, see that it ended.

    A worker this dashboard started is a ``multiprocessing`` child, stopped through the shared
    ``multiprocessing.Event``. One adopted after a dashboard restart is only a pid: it is stopped
    with SIGTERM, which the worker treats the same way, and its start time guards against a
    recycled pid.
    """

    def __init__(self, pid: int | None, started: float | None, process: Any = None, stop: Any = None) -> None:
        self.pid, self.started, self.process, self._stop = pid, started, process, stop

    @classmethod
    def spawn(cls, ctx: Any, name: str, args: tuple[Any, ...]) -> WorkerHandle:
        """Start ``main(*args, stop)`` in a new process of the ``ctx`` start method."""
        stop = ctx.Event()
        process = ctx.Process(target=main, name=name, daemon=True, args=(*args, stop))
        with _bare_main():
            process.start()
        return cls(process.pid, process_started(process.pid), process, stop)

    def exited(self) -> bool:
        if self.process is not None:
            return not self.process.is_alive()
        return not process_alive(self.pid, self.started)

    def stop(self) -> None:
        """Ask for a clean stop: the search ends after the running trial and the model is saved."""
        if self._stop is not None:
            self._stop.set()
        elif self.pid and process_alive(self.pid, self.started):
            os.kill(self.pid, signal.SIGTERM)

    def kill(self, wait: float = 5.0) -> None:
        """End the process at once (SIGKILL), and wait up to ``wait`` s for it to be gone."""
        if self.process is not None:
            self.process.kill()
            self.process.join(wait)
        elif self.pid and process_alive(self.pid, self.started):
            os.kill(self.pid, signal.SIGKILL)

    def join(self, timeout: float) -> None:
        if self.process is not None:
            self.process.join(max(0.0, timeout))

    @property
    def exit_note(self) -> str:
        code = self.process.exitcode if self.process is not None else None
        return "" if code is None else f" (exit code {code})"
