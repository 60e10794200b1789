"""Long analyses (stability, the search lab) in the background: progress, cancel, survive reruns.

A stability analysis refits a model tens of times; a search-strategy lab runs whole AutoML
searches one after another. Neither fits in a Streamlit script run (every click reruns the
page), so each runs in its own **worker process** (:mod:`automlops.ui.analysis_worker`; why a
process, and why *spawned*: :mod:`automlops.ui.job_process`). A page only submits an analysis,
remembers its id, and reads snapshots of it:

* ``submit(kind, params)`` records the analysis in ``<home>/analyses.db``
  (:mod:`automlops.ui.analysis_store`) and starts its worker when a slot is free: at most
  :data:`MAX_RUNNING` analyses run at once on one studio home (each one already uses every core
  through joblib); the others wait as ``queued`` and a small monitor thread starts them in order.
* ``get(job_id)`` / ``recent(kind)`` read :class:`AnalysisSnapshot`\\ s from the table: status,
  progress (0..1), the job's last sentence, its result (a JSON-able dict) or its error. A rerun,
  a page switch, another tab and a restarted dashboard all read the same rows.
* ``cancel(job_id)`` asks for a clean stop (the job function returns what it measured so far,
  status ``cancelled``); a worker still running :data:`CANCEL_GRACE_S` seconds later is killed,
  with every process it started (joblib's workers).
* A worker that dies without writing its outcome (a crash, an out-of-memory kill) is found by the
  monitor and the analysis becomes ``failed`` with a sentence saying so. A dashboard that starts
  finds the analyses an earlier one left ``running``: a live worker is adopted and watched, the
  others are marked ``failed``.

Which function runs an analysis of each kind is the :data:`ANALYSES` table (``"module:function"``
names, imported only inside the worker, so this module stays light).
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import multiprocessing
import multiprocessing.util  # noqa: F401 - its exit hook must be registered before ours (ours runs first)
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from automlops.config import Settings
from automlops.errors import ConfigError
from automlops.ui import analysis_worker
from automlops.ui.analysis_store import ACTIVE, AnalysisRow, AnalysisStore
from automlops.ui.job_process import _bare_main, process_alive, process_started

__all__ = ["ANALYSES", "CANCEL_GRACE_S", "MAX_RUNNING", "AnalysisSnapshot", "cancel", "get", "recent", "submit"]

log = logging.getLogger(__name__)
ANALYSES: dict[str, str] = {"stability": "automlops.stability.jobs:run_job", "lab": "automlops.lab.jobs:run_job"}
MAX_RUNNING = 2  # analyses running at once on one studio home (each may use every core)
CANCEL_GRACE_S = 15.0  # after Cancel, how long a worker may take to return its partial result
SHUTDOWN_GRACE_S = 2.0
POLL_S = 0.2
TERMINAL = ("finished", "cancelled", "failed")


@dataclass(frozen=True)
class AnalysisSnapshot:
    """One analysis as the table shows it now (frozen: read it again for news)."""

    job_id: str
    kind: str
    params: dict[str, Any]
    status: str  # "queued" | "running" | "finished" | "cancelled" | "failed"
    progress: float  # 0..1
    message: str
    result: dict[str, Any] | None
    error: str | None
    created: float
    ended: float | None
    started: float | None = None
    cancel_requested: bool = False

    @property
    def running(self) -> bool:
        """Queued or running: not ended yet."""
        return self.status in ACTIVE

    @property
    def elapsed(self) -> float:
        """Seconds since the worker started (until it ended)."""
        return max(0.0, (self.ended or time.time()) - self.started) if self.started else 0.0


def _snapshot(row: AnalysisRow) -> AnalysisSnapshot:
    return AnalysisSnapshot(job_id=row.id, kind=row.kind, params=json.loads(row.params), status=row.status,
                            progress=float(row.progress), message=row.message,
                            result=json.loads(row.result) if row.result else None, error=row.error,
                            created=row.created, ended=row.ended, started=row.started,
                            cancel_requested=bool(row.cancel_requested))


def _params_json(kind: str, params: dict[str, Any]) -> str:
    if not isinstance(params, dict):
        raise ConfigError(f"the parameters of a {kind} analysis must be a dict, not {type(params).__name__}")
    try:
        return json.dumps(params, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the parameters of a {kind} analysis must be plain JSON values: {exc}") from None


class _Worker:
    """The dashboard's handle on one worker process (started here, or adopted after a restart).

    Stopping is a SIGTERM (the worker turns it into ``cancelled() == True``) plus the table's flag,
    never a ``multiprocessing.Event``: setting an event that a dead process was waiting on blocks
    forever, and a worker may die at any moment.
    """

    def __init__(self, pid: int | None, started: float | None, process: Any = None) -> None:
        self.pid, self.started, self.process = pid, started, process
        self.kill_at: float | None = None
        self.killed = False

    def exited(self) -> bool:
        if self.process is not None:
            return not self.process.is_alive()
        return not process_alive(self.pid, self.started)

    def ask_to_stop(self, grace: float) -> None:
        if self.kill_at is None:
            self.kill_at = time.monotonic() + grace
        if self.pid and not self.exited() and process_alive(self.pid, self.started):
            try:
                os.kill(self.pid, signal.SIGTERM)
            except OSError:  # it ended meanwhile
                pass

    def kill(self) -> None:
        """SIGKILL the worker and every process it started (joblib's pool would outlive it)."""
        self.killed = True
        try:
            proc = psutil.Process(self.pid) if self.pid and process_alive(self.pid, self.started) else None
            family = [*proc.children(recursive=True), proc] if proc is not None else []
        except psutil.Error:
            family = []
        for member in family:
            try:
                member.kill()
            except psutil.Error:
                pass
        if self.process is not None:  # our own child: multiprocessing reaps it (psutil must not)
            self.process.join(5)
            family = family[:-1]
        psutil.wait_procs(family, timeout=5)


class _Registry:
    """The analyses of one studio home in this dashboard process: its workers and the monitor thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = AnalysisStore(settings.home.resolve() / "analyses.db")
        self.grace_period = CANCEL_GRACE_S
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._monitor: threading.Thread | None = None
        self._owner = (os.getpid(), process_started(os.getpid()))
        self._recover()
        atexit.register(self.shutdown)

    # ------------------------------------------------------------------ called by the page
    def submit(self, kind: str, params: dict[str, Any]) -> str:
        target = ANALYSES.get(kind)
        if target is None:
            raise ConfigError(f"unknown analysis {kind!r}; known: {', '.join(sorted(ANALYSES))}")
        job_id = uuid.uuid4().hex[:12]
        self.store.add(job_id, kind, target, _params_json(kind, params), created=time.time(),
                       owner_pid=self._owner[0], owner_started=self._owner[1])
        with self._lock:
            self._start_queued()
            self._ensure_monitor()
        return job_id

    def cancel(self, job_id: str) -> None:
        """Queued: cancelled at once. Running: ask for a clean stop, kill after the grace period.

        The table's ``cancel_requested`` flag reaches the worker wherever it runs (the worker polls
        it; the dashboard that watches it also sets its event and starts the grace period).
        """
        with self._lock:
            if not self.store.update(job_id, only_active=True, cancel_requested=1):
                return  # unknown, or already ended
            row = self.store.get(job_id)
            if row is not None and row.status == "queued":
                self.store.update(job_id, only_active=True, status="cancelled", ended=time.time(),
                                  message="cancelled before it started", error="cancelled before it started")
                return
            worker = self._workers.get(job_id)
            if worker is not None:
                worker.ask_to_stop(self.grace_period)
        self._wake.set()

    # ------------------------------------------------------------------ the monitor thread
    def _ensure_monitor(self) -> None:
        if self._monitor is None and (self._workers or self._own_queued()):
            self._monitor = threading.Thread(target=self._watch, name="analysis-jobs", daemon=True)
            self._monitor.start()

    def _own_queued(self) -> list[AnalysisRow]:
        return [r for r in self.store.active() if r.status == "queued" and r.owner_pid == self._owner[0]
                and _same_time(r.owner_started, self._owner[1])]

    def _watch(self) -> None:
        """Every :data:`POLL_S`: pass on cancels, kill workers past their grace, record ended ones, start queued."""
        while True:
            self._wake.wait(POLL_S)
            self._wake.clear()
            try:
                with self._lock:
                    self._tick()
                    if not self._workers and not self._own_queued():
                        self._monitor = None
                        return
            except Exception:  # the monitor must outlive a locked database or a vanished process
                log.exception("analysis monitor")

    def _tick(self) -> None:
        for job_id, worker in list(self._workers.items()):
            if worker.kill_at is None and self.store.cancel_requested(job_id):  # asked by another dashboard
                worker.ask_to_stop(self.grace_period)
            if worker.kill_at is not None and not worker.killed and time.monotonic() >= worker.kill_at \
                    and not worker.exited():
                worker.kill()
            if worker.exited():
                self._record_end(job_id, worker)
                del self._workers[job_id]
        self._start_queued()

    def _record_end(self, job_id: str, worker: _Worker) -> None:
        """A worker exited: if it did not write its own outcome (killed, crashed), write it."""
        if worker.killed or worker.kill_at is not None:  # ended after a cancel, without a partial result
            error = (f"cancelled: the analysis did not stop within {self.grace_period:g} s of the cancel "
                     "request, so its worker process was ended") if worker.killed else "cancelled"
            self.store.update(job_id, only_active=True, status="cancelled", error=error, message="cancelled",
                              ended=time.time())
            return
        code = worker.process.exitcode if worker.process is not None else None
        note = f" (exit code {code})" if code is not None else ""
        self.store.update(job_id, only_active=True, status="failed", message="failed", ended=time.time(),
                          error=f"the analysis's worker process ended without a result{note}; the details "
                                "are in the dashboard's log")

    def _start_queued(self) -> None:
        running = sum(r.status == "running" for r in self.store.active())
        for row in self._own_queued()[: max(0, MAX_RUNNING - running)]:
            try:
                self._launch(row)
            except Exception as exc:
                log.exception("could not start the worker of analysis %s", row.id)
                self.store.update(row.id, only_active=True, status="failed", ended=time.time(), message="failed",
                                  error=f"could not start a worker process: {exc}")

    def _launch(self, row: AnalysisRow) -> None:
        args = (row.id, str(self.store.path), row.target, json.loads(row.params))
        # not a daemon: joblib runs its loky workers only under a process that may have children
        process = self._ctx.Process(target=analysis_worker.main, name=f"analysis-{row.id}", args=args, daemon=False)
        with _bare_main():
            process.start()
        worker = _Worker(process.pid, process_started(process.pid), process)
        self._workers[row.id] = worker
        if not self.store.update(row.id, only_active=True, status="running", started=time.time(), pid=worker.pid,
                                 pid_started=worker.started):  # cancelled by another dashboard meanwhile
            worker.ask_to_stop(self.grace_period)

    # ------------------------------------------------------------------ restart and exit
    def _recover(self) -> None:
        """Analyses an earlier dashboard left active: adopt live workers, fail the rest."""
        for row in self.store.active():
            if process_alive(row.owner_pid, row.owner_started):
                continue  # another dashboard on this home watches it
            if row.status == "running" and process_alive(row.pid, row.pid_started):
                self._workers[row.id] = _Worker(row.pid, row.pid_started)
                continue
            why = ("the dashboard stopped before this analysis started" if row.status == "queued" else
                   "the dashboard stopped while this analysis was running, and its worker process is gone")
            self.store.update(row.id, only_active=True, status="failed", message="failed", ended=time.time(),
                              error=f"{why}; start it again")
        with self._lock:
            self._ensure_monitor()

    def shutdown(self, wait: float = SHUTDOWN_GRACE_S) -> None:
        """At exit: ask this dashboard's workers to stop and kill those still running after ``wait`` s."""
        with self._lock:
            workers = dict(self._workers)
        for worker in workers.values():
            worker.ask_to_stop(wait)
        deadline = time.monotonic() + wait
        for job_id, worker in workers.items():
            while not worker.exited() and time.monotonic() < deadline:
                time.sleep(0.05)
            if not worker.exited():
                worker.kill()
            self.store.update(job_id, only_active=True, status="failed", message="failed", ended=time.time(),
                              error="the dashboard stopped while this analysis was running; start it again")


def _same_time(a: float | None, b: float | None) -> bool:
    return a is None or b is None or math.isclose(a, b, abs_tol=1.0)


# ---------------------------------------------------------------------- the public API
_registries: dict[Path, _Registry] = {}
_registries_lock = threading.Lock()


def _registry(settings: Settings | None) -> _Registry:
    settings = settings or Settings()
    key = settings.home.resolve()
    with _registries_lock:
        if key not in _registries:
            _registries[key] = _Registry(settings)
        return _registries[key]


def submit(kind: str, params: dict[str, Any], *, settings: Settings | None = None) -> str:
    """Record an analysis of ``kind`` with JSON-able ``params`` and start it when a slot is free; its id."""
    return _registry(settings).submit(kind, params)


def get(job_id: str, *, settings: Settings | None = None) -> AnalysisSnapshot | None:
    """The analysis ``job_id`` as it stands now (``None``: no such analysis on this home)."""
    row = _registry(settings).store.get(job_id) if job_id else None
    return _snapshot(row) if row is not None else None


def recent(kind: str, limit: int = 10, *, settings: Settings | None = None) -> list[AnalysisSnapshot]:
    """The newest analyses of ``kind``, newest first (any status, from any dashboard run)."""
    return [_snapshot(r) for r in _registry(settings).store.recent(kind, limit)]


def cancel(job_id: str, *, settings: Settings | None = None) -> None:
    """Ask the analysis to stop (it keeps what it measured); killed if still running after the grace period."""
    _registry(settings).cancel(job_id)
