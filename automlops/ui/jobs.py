"""Training jobs that outlive a page run: queued, run in worker processes, remembered in SQLite.

Streamlit re-runs the page script on every interaction, so a training cannot run inside it. Each
training runs in its own **worker process** (:mod:`automlops.ui.job_process` explains why a
process and why *spawn*), started and watched by a :class:`JobRegistry`, one per studio home in
this dashboard process. The browser session only remembers a job id (through ``ui.state``):
reruns, page switches and a second browser tab all find the same job.

* **Queue.** At most ``MAX_TRAINING_JOBS`` workers run at once (default: one per CPU core; two
  trainings on one core only make both slower). Later jobs wait as ``queued``, with their
  position, and a small monitor thread starts the oldest one when a slot frees.
* **Progress.** The worker writes its stage, each finished trial and its result into
  ``<home>/jobs.db`` (:mod:`automlops.ui.job_store`); :meth:`TrainingJob.snapshot` reads them
  back as a :class:`JobSnapshot`, which the Train page polls about once a second.
* **Cancel** first asks for a clean stop (a ``multiprocessing.Event``): the search ends after
  the running trial and the worker exits **without saving a model version** (a cancelled
  search is never published); its MLflow run is tagged ``automlops.cancelled`` and ends KILLED.
  A worker that has not exited ``grace_period`` seconds later is killed, with the same outcome
  (``cancelled``). Killing never leaves half a model: the model store and the lake write to a
  temporary name and rename at the end.
* **Restart.** The table outlives the dashboard. When a registry starts it looks at the jobs an
  earlier dashboard left ``queued``/``running``: if that dashboard is gone and so is the worker,
  the job is marked ``failed`` and its MLflow run, left RUNNING, is marked FAILED; a worker
  still alive is adopted and watched until it ends. Finished jobs keep their results.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util  # noqa: F401 - its exit hook must be registered before ours (ours runs first)
import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automlops.config import Settings
from automlops.core.redact import URL_USERINFO
from automlops.errors import ConfigError
from automlops.mlops.store import NAME_PATTERN
from automlops.ui import job_process, job_recovery
from automlops.ui.job_process import WorkerHandle, process_started
from automlops.ui.job_store import JobRow, JobStore
from automlops.ui.job_types import (
    CANCELLED_TEXT,
    TERMINAL,
    JobResult,
    JobSnapshot,
    TrainRequest,
    TrialPoint,
)

if TYPE_CHECKING:
    from automlops.mlops.tracking import Tracker

__all__ = ["JobRegistry", "JobResult", "JobSnapshot", "TrainRequest", "TrainingJob", "TrialPoint", "get",
           "recent_jobs", "registry", "running_jobs", "submit"]

log = logging.getLogger(__name__)
START_METHOD = "spawn"
CANCEL_GRACE_S = 20.0  # after a cancel, how long a worker may take to finish its trial and exit
SHUTDOWN_GRACE_S = 3.0  # when the dashboard exits
POLL_S = 0.2
MAX_JOBS = 30  # ended jobs kept in memory (the table keeps them all)


def _validate(request: TrainRequest) -> None:
    if not NAME_PATTERN.fullmatch(request.name):  # the model store's rule, checked before anything runs
        raise ConfigError(f"invalid model name {request.name!r}: use 1-64 letters, digits, '_' or '-'")
    if request.n_trials is not None and request.n_trials < 1:
        raise ConfigError("the number of trials must be at least 1")
    if request.time_budget is not None and request.time_budget <= 0:
        raise ConfigError("the time budget must be a positive number of seconds")


class TrainingJob:
    """One training: queued, then running in a worker process, then ended (see the module docstring).

    ``phase`` is this dashboard's view of it: ``queued``, ``running`` (a worker it started or
    adopted), ``ending`` (the worker exited, being recorded), ``done``, or ``foreign`` (still
    active but watched by another dashboard process on the same home).
    """

    def __init__(self, registry: JobRegistry, job_id: str, request: TrainRequest, *, created: float,
                 tracker: Tracker | None = None, payload: tuple[Any, ...] = ()) -> None:
        self.id, self.request, self.created = job_id, request, created
        self.tracker = tracker  # this dashboard's tracker: marks the run KILLED if the worker is killed
        self.phase = "queued"
        self.worker: WorkerHandle | None = None
        self.kill_at: float | None = None  # when a cancelled worker gets killed
        self.grace = 0.0
        self.killed = False
        self.done = threading.Event()
        self._registry, self._payload = registry, payload
        self._final: JobSnapshot | None = None

    # ------------------------------------------------------------------ public
    def cancel(self, grace_period: float | None = None) -> None:
        """Stop after the running trial (nothing is saved); kill after ``grace_period`` s."""
        self._registry.cancel(self, grace_period)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended and been recorded; False on timeout."""
        if self.phase != "foreign":
            return self.done.wait(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.snapshot().running:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    def snapshot(self) -> JobSnapshot:
        return self._registry.snapshot(self)

    # ------------------------------------------------------------------ worker (registry lock held)
    def _launch(self, ctx: Any, db: Path) -> None:
        self.worker = WorkerHandle.spawn(ctx, f"train-{self.id}", (self.id, str(db), self.request, *self._payload))
        self.phase = "running"

    def _exited(self) -> bool:
        return self.worker is None or self.worker.exited()

    def _ask_to_stop(self, grace: float) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.kill_at is None:
            self.kill_at, self.grace = time.monotonic() + grace, grace

    def _kill(self) -> None:
        self.killed = True
        if self.worker is not None:
            self.worker.kill()


class JobRegistry:
    """The jobs of one studio home: queue, workers, monitor thread and the job table."""

    def __init__(self, settings: Settings, *, grace_period: float = CANCEL_GRACE_S) -> None:
        self.settings = settings
        self.store = JobStore(settings.home.resolve() / "jobs.db")
        self.max_jobs = settings.max_training_jobs
        self.grace_period = grace_period
        self.recovered = threading.Event()  # set once left-over MLflow runs are marked FAILED
        self._ctx = multiprocessing.get_context(START_METHOD)
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._monitor: threading.Thread | None = None
        self._owner = (os.getpid(), process_started(os.getpid()))
        self._recover()
        atexit.register(self.shutdown)

    # ------------------------------------------------------------------ submit, read, cancel
    def submit(self, request: TrainRequest, *, settings: Settings | None = None, tracker: Tracker | None = None,
               tracking_uri: str = "") -> TrainingJob:
        """Validate, record and queue a job; it starts at once when a slot is free."""
        _validate(request)
        settings = settings or self.settings
        payload = (job_process.settings_payload(settings), job_process.tracking_spec(tracker, tracking_uri))
        job = TrainingJob(self, uuid.uuid4().hex[:12], request, created=time.time(), tracker=tracker,
                          payload=payload)
        stored_uri = URL_USERINFO.sub(r"\1", tracker.tracking_uri) if tracker else ""  # never a password
        self.store.add(job.id, request.to_json(), created=job.created, tracking_uri=stored_uri,
                       owner_pid=self._owner[0], owner_started=self._owner[1])
        with self._lock:
            self.max_jobs = settings.max_training_jobs
            self._prune()
            self._jobs[job.id] = job
            self._start_queued()
            self._ensure_monitor()
        return job

    def get(self, job_id: str) -> TrainingJob | None:
        """The job ``job_id``: one of this dashboard's, or one recorded by an earlier one."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job
        row = self.store.get(job_id)
        return self._view(row) if row is not None else None

    def recent(self, limit: int = 10) -> list[TrainingJob]:
        """The newest jobs of this home, newest first (any status, any dashboard run)."""
        rows = self.store.recent(limit)
        with self._lock:
            known = dict(self._jobs)
        return [known.get(row.id) or self._view(row) for row in rows]

    def running(self) -> list[TrainingJob]:
        with self._lock:
            return [j for j in self._jobs.values() if j.phase in ("queued", "running")]

    def cancel(self, job: TrainingJob, grace_period: float | None = None) -> None:
        grace = self.grace_period if grace_period is None else grace_period
        with self._lock:
            if job.phase == "queued":
                self.store.update(job.id, only_active=True, status="cancelled", stage="cancelled",
                                  cancel_requested=1, ended=time.time(), error="cancelled before it started")
                job.phase = "done"
                job.done.set()
                return
            if job.phase not in ("running", "foreign"):
                return
            self.store.update(job.id, cancel_requested=1)
            job._ask_to_stop(grace)
        self._wake.set()

    def snapshot(self, job: TrainingJob) -> JobSnapshot:
        if job._final is not None:
            return job._final
        row = self.store.get(job.id)
        if row is None:
            raise ConfigError(f"job {job.id} is no longer in {self.store.path}")
        with self._lock:
            queued = sorted((j for j in self._jobs.values() if j.phase == "queued"), key=lambda j: j.created)
        position = next((i for i, j in enumerate(queued, 1) if j is job), None) if row.status == "queued" else None
        epochs = self.store.epochs(job.id) if job.request.is_vision else ()
        snap = JobSnapshot.from_row(row, job.request, self.store.trials(job.id), position, epochs)
        if row.status in TERMINAL and job.phase == "foreign":  # another dashboard's job has ended
            job.phase = "done"
            job.done.set()
        if row.status in TERMINAL and job.done.is_set():
            job._final = snap  # an ended job's row never changes again
        return snap

    def _view(self, row: JobRow) -> TrainingJob:
        """A handle on a job this registry does not run (recorded earlier, or by another dashboard)."""
        job = TrainingJob(self, row.id, TrainRequest.from_json(row.request), created=row.created)
        job.worker = WorkerHandle(row.pid, row.pid_started) if row.pid else None
        job.phase = "foreign" if row.active else "done"
        if not row.active:
            job.done.set()
        with self._lock:
            job = self._jobs.setdefault(row.id, job)
            self._prune()
        return job

    def _prune(self) -> None:
        """Forget the oldest ended jobs beyond :data:`MAX_JOBS` (they stay in the table)."""
        ended = sorted((j for j in self._jobs.values() if j.phase == "done"), key=lambda j: j.created)
        for job in ended[: max(0, len(self._jobs) - MAX_JOBS)]:
            self._jobs.pop(job.id, None)

    # ------------------------------------------------------------------ the monitor thread
    def _ensure_monitor(self) -> None:
        if self._monitor is None and any(j.phase in ("queued", "running") for j in self._jobs.values()):
            self._monitor = threading.Thread(target=self._watch, name="training-jobs", daemon=True)
            self._monitor.start()

    def _watch(self) -> None:
        """Every :data:`POLL_S`: kill workers past their grace, record ended ones, then start queued ones."""
        while True:
            self._wake.wait(POLL_S)
            self._wake.clear()
            with self._lock:
                ended = self._reap()
            for job in ended:  # outside the lock: closing an MLflow run may take a moment
                self._record_end(job)
            with self._lock:
                self._start_queued()
                if not any(j.phase in ("queued", "running", "ending") for j in self._jobs.values()):
                    self._monitor = None
                    return

    def _reap(self) -> list[TrainingJob]:
        """Kill the workers whose grace period is over; return those that exited."""
        ended = []
        for job in self._jobs.values():
            if job.phase != "running":
                continue
            if job.kill_at is not None and not job.killed and time.monotonic() >= job.kill_at and not job._exited():
                job._kill()
            if job._exited():
                job.phase = "ending"
                ended.append(job)
        return ended

    def _start_queued(self) -> None:
        running = sum(j.phase in ("running", "ending") for j in self._jobs.values())
        queued = sorted((j for j in self._jobs.values() if j.phase == "queued"), key=lambda j: j.created)
        for job in queued[: max(0, self.max_jobs - running)]:
            try:
                job._launch(self._ctx, self.store.path)
            except Exception as exc:
                log.exception("could not start the worker of job %s", job.id)
                self._end(job, "failed", f"could not start a worker process: {exc}")
                continue
            assert job.worker is not None
            self.store.update(job.id, only_active=True, status="running", started=time.time(), pid=job.worker.pid,
                              pid_started=job.worker.started, stage="starting the worker process")

    def _end(self, job: TrainingJob, status: str, error: str) -> bool:
        changed = self.store.update(job.id, only_active=True, status=status, stage=status, error=error,
                                    ended=time.time())
        job.phase = "done"
        job.done.set()
        return changed

    def _record_end(self, job: TrainingJob) -> None:
        """A worker exited: if it did not record its own end (killed, crashed), record it and close its run."""
        if job.killed:
            status, run_status = "cancelled", "KILLED"
            error = (f"{CANCELLED_TEXT} (the training did not stop within {job.grace:g} s of the cancel "
                     "request, so its worker process was ended)")
        else:
            note = job.worker.exit_note if job.worker is not None else ""
            status, run_status = "failed", "FAILED"
            error = f"the training's worker process ended without a result{note}; the details are in the dashboard's log"
        row = self.store.get(job.id)
        if row is not None and row.active and row.run_id:
            tracker = job.tracker or job_recovery.tracker_for(self.settings, row.tracking_uri)
            if tracker is not None:
                job_recovery.terminate_run(tracker, row.run_id, run_status)
        with self._lock:
            self._end(job, status, error)

    # ------------------------------------------------------------------ restart and exit
    def _recover(self) -> None:
        """Jobs an earlier dashboard left queued/running: adopt live workers, fail the rest (job_recovery)."""
        adopt, lost = job_recovery.triage(self.store)
        for row in adopt:
            self._view(row).phase = "running"
        with self._lock:
            self._ensure_monitor()
        if not lost:
            self.recovered.set()
            return

        def fail_runs() -> None:
            try:
                job_recovery.fail_runs(self.settings, lost)
            finally:
                self.recovered.set()

        threading.Thread(target=fail_runs, name="job-recovery", daemon=True).start()

    def shutdown(self, wait: float = SHUTDOWN_GRACE_S) -> None:
        """At exit: ask this dashboard's workers to stop, and kill those still running after ``wait`` s.

        Rows left ``running`` are marked failed by the next dashboard (``job_recovery``).
        """
        with self._lock:
            workers = [j.worker for j in self._jobs.values() if j.phase == "running" and j.worker is not None]
        for worker in workers:
            worker.stop()
        deadline = time.monotonic() + wait
        for worker in workers:
            worker.join(deadline - time.monotonic())
            if not worker.exited():
                worker.kill(wait=1.0)


# ---------------------------------------------------------------------- module-level API
_registries: dict[Path, JobRegistry] = {}
_registries_lock = threading.Lock()


def registry(settings: Settings | None = None) -> JobRegistry:
    """The job registry of ``settings.home`` in this process (created, and recovered, on first use)."""
    settings = settings or Settings()
    key = settings.home.resolve()
    with _registries_lock:
        if key not in _registries:
            _registries[key] = JobRegistry(settings)
        return _registries[key]


def submit(request: TrainRequest, *, settings: Settings | None = None, tracker: Tracker | None = None,
           tracking_uri: str = "") -> TrainingJob:
    """Validate, record and queue a job; returns it at once (the work runs in a worker process)."""
    return registry(settings).submit(request, settings=settings, tracker=tracker, tracking_uri=tracking_uri)


def get(job_id: str | None, *, settings: Settings | None = None) -> TrainingJob | None:
    return registry(settings).get(job_id) if job_id else None


def running_jobs(*, settings: Settings | None = None) -> list[TrainingJob]:
    """This dashboard's queued and running jobs."""
    return registry(settings).running()


def recent_jobs(limit: int = 10, *, settings: Settings | None = None) -> list[TrainingJob]:
    """The newest jobs of the studio home, newest first (including those of earlier dashboard runs)."""
    return registry(settings).recent(limit)
