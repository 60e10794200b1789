"""Training jobs that outlive a page run.

Streamlit re-runs the page script on every interaction and would stop a training loop that ran
inside it. So a training runs in its own thread, owned by a :class:`TrainingJob` kept in a
process-wide registry keyed by job id; the browser session only remembers the id (through
``ui.state``). Reruns, page switches and a second browser tab all find the same job, and two
sessions can train at the same time: each job has its own runner, tracker and stop event.

The runner reports through callbacks (one :class:`~automlops.core.results.ProgressEvent` per
stage and per trial); the job turns them into a thread-safe :class:`JobSnapshot` that the page
polls about once a second (progress, elapsed time, best so far, the trial history for the live
chart). *Cancel* sets the runner's ``stop_event``: the search stops after the running trial and
the best model found so far is still refitted, tested, tracked and saved. At the end the model
is saved to the :class:`~automlops.mlops.store.ModelStore` and the test diagnostics are logged
to the MLflow run as ``diagnostics.json``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from automlops.config import Settings
from automlops.errors import AutoMLOpsError, ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from automlops.core.results import ProgressEvent
    from automlops.mlops.tracking import Tracker

__all__ = ["JobResult", "JobSnapshot", "TrainRequest", "TrainingJob", "get", "running_jobs", "submit"]

log = logging.getLogger(__name__)
MAX_JOBS = 30
_MODEL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
GENERIC_ERROR = "training stopped on an unexpected error; the details are in the dashboard's log"


@dataclass(frozen=True)
class TrainRequest:
    """Everything the Train page chose (plain data; the runner gets it as keyword arguments)."""

    dataset: str
    version: int
    target: str
    task: str | None = None
    metric: str | None = None
    preset: str = "fast"
    search: str = "tpe"
    validation: str | None = None
    models: tuple[str, ...] | None = None
    ensemble: Any = "none"  # "none" | "voting" | "stacking" | EnsembleConfig
    n_trials: int | None = None
    time_budget: float | None = None
    seed: int = 0
    model_name: str | None = None

    @property
    def name(self) -> str:
        return self.model_name or self.dataset


@dataclass(frozen=True)
class TrialPoint:
    number: int
    model: str | None
    state: str
    value: float | None
    best: float | None


@dataclass(frozen=True)
class JobResult:
    """What a finished job produced (shown on the Train page)."""

    task: str
    metric: str
    direction: str
    best_model: str
    val_score: float
    val_std: float
    test_score: float
    test_metrics: dict[str, float]
    leaderboard: pd.DataFrame
    trials: pd.DataFrame
    decisions: list[str]
    model_name: str
    model_version: int
    run_id: str | None
    tracking_uri: str
    diagnostics: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress, safe to read from the page thread."""

    id: str
    request: TrainRequest
    status: str  # queued | running | finished | stopped | cancelled | failed
    stage: str
    trials_done: int
    n_trials: int | None
    elapsed: float
    budget: float | None
    best_score: float | None
    best_model: str | None
    history: tuple[TrialPoint, ...]
    error: str | None
    result: JobResult | None
    cancel_requested: bool

    @property
    def running(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def fraction(self) -> float:
        """Share of the budget used: trials when they are planned, else seconds."""
        if self.n_trials:
            return min(1.0, self.trials_done / self.n_trials)
        if self.budget:
            return min(1.0, self.elapsed / self.budget)
        return 0.0

    @property
    def progress_text(self) -> str:
        trials = f"{self.trials_done}/{self.n_trials} trials" if self.n_trials else f"{self.trials_done} trials"
        seconds = f"{self.elapsed:.1f} s" + (f" of {self.budget:.0f} s" if self.budget else "")
        best = f" · best {self.best_score:.4f} ({self.best_model})" if self.best_score is not None else ""
        return f"{trials} · {seconds}{best}"


class TrainingJob:
    """One AutoML training running in a background thread (see the module docstring)."""

    def __init__(self, request: TrainRequest, *, settings: Settings, tracker: Tracker | None,
                 tracking_uri: str = "") -> None:
        self.id = uuid.uuid4().hex[:12]
        self.request, self.settings, self.tracker, self.tracking_uri = request, settings, tracker, tracking_uri
        self.stop_event = threading.Event()
        self.created = time.time()
        self._lock = threading.Lock()
        self._status, self._stage = "queued", "starting"
        self._error: str | None = None
        self._history: list[TrialPoint] = []
        self._n_trials: int | None = request.n_trials
        self._budget: float | None = request.time_budget
        self._best: tuple[float | None, str | None] = (None, None)
        self._t0 = time.monotonic()
        self._t_end: float | None = None
        self._result: JobResult | None = None
        self._thread = threading.Thread(target=self._run, name=f"train-{self.id}", daemon=True)

    # ------------------------------------------------------------------ control
    def start(self) -> TrainingJob:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop the search after the running trial (the best model so far is still saved)."""
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            end = self._t_end if self._t_end is not None else time.monotonic()
            return JobSnapshot(
                id=self.id, request=self.request, status=self._status, stage=self._stage,
                trials_done=len(self._history), n_trials=self._n_trials, elapsed=end - self._t0,
                budget=self._budget, best_score=self._best[0], best_model=self._best[1],
                history=tuple(self._history), error=self._error, result=self._result,
                cancel_requested=self.stop_event.is_set())

    # ------------------------------------------------------------------ thread
    def _on_event(self, event: ProgressEvent) -> None:
        with self._lock:
            if event.budget is not None:
                self._budget = event.budget
            if event.kind == "stage":
                self._stage = event.message
                return
            if event.n_trials is not None:
                self._n_trials = event.n_trials
            self._best = (event.best_score, event.best_model)
            self._history.append(TrialPoint(int(event.trial or len(self._history) + 1),
                                            _trial_model(event.message), event.state or "COMPLETE",
                                            event.value, event.best_score))

    def _finish(self, status: str, *, error: str | None = None, result: JobResult | None = None) -> None:
        with self._lock:
            self._status, self._error, self._result = status, error, result
            self._t_end = time.monotonic()
            self._stage = {"finished": "done", "stopped": "stopped early: best model so far saved"}.get(status, status)

    def _run(self) -> None:
        with self._lock:
            self._status = "running"
        try:
            result = self._train()
        except AutoMLOpsError as exc:
            self._finish("cancelled" if self.stop_event.is_set() else "failed", error=str(exc))
        except Exception:
            log.exception("training job %s failed", self.id)
            self._finish("failed", error=GENERIC_ERROR)
        else:
            self._finish("stopped" if self.stop_event.is_set() else "finished", result=result)

    def _prepare(self) -> None:
        """Load what this thread and the runner's MLflow thread will import, one importer at a time."""
        from automlops.ui import imports

        with imports.serialized():
            imports.import_all(("automlops.tabular.runner", "automlops.tabular.persist",
                                "automlops.tabular.diagnostics"))
            if self.tracker is not None:
                imports.import_all(imports.TRACKING_MODULES)
                self.tracker.client  # noqa: B018 - open (or create) the store now, not in the logging thread

    def _train(self) -> JobResult:
        self._prepare()
        from automlops.mlops.lake import DataLake
        from automlops.mlops.store import ModelStore
        from automlops.tabular.leaderboard import trials_frame
        from automlops.tabular.persist import save_model
        from automlops.tabular.runner import AutoMLRunner

        r = self.request
        lake = DataLake(settings=self.settings)
        entry = lake.get_version(r.dataset, r.version)
        frame = lake.load(entry.dataset, entry.version)
        dataset = {"name": entry.dataset, "version": entry.version, "sha256": entry.sha256, "rows": entry.rows,
                   "columns": dict(entry.dtypes), "source": str(entry.full_path)}
        self._on_stage(f"loaded {entry.dataset} v{entry.version:04d} ({entry.rows} rows)")
        runner = AutoMLRunner(
            r.target, task=r.task, metric=r.metric, preset=r.preset, search=r.search, validation=r.validation,
            models=list(r.models) if r.models else None, ensemble=r.ensemble, n_trials=r.n_trials,
            time_budget=r.time_budget, seed=r.seed, tracker=self.tracker, dataset=dataset, run_name=r.name,
            callbacks=[self._on_event], started_at=self._t0, stop_event=self.stop_event)
        runner.fit(frame)
        self._on_stage("saving the model")
        stored = save_model(runner, ModelStore(settings=self.settings), r.name, dataset=dataset)
        diagnostics, notes = self._diagnostics(runner, frame)
        problem = runner.problem_
        return JobResult(
            task=problem.task.value, metric=problem.metric, direction=problem.direction,
            best_model=runner.best_model_name_, val_score=runner.val_score_, val_std=runner.val_std_,
            test_score=runner.test_score_, test_metrics=dict(runner.test_metrics_),
            leaderboard=runner.leaderboard_, trials=trials_frame(runner.study_),
            decisions=[str(d) for d in runner.decisions_], model_name=stored.name, model_version=stored.version,
            run_id=runner.run_id_, tracking_uri=self.tracking_uri, diagnostics=diagnostics, notes=notes)

    def _on_stage(self, message: str) -> None:
        with self._lock:
            self._stage = message

    def _diagnostics(self, runner: Any, frame: Any) -> tuple[dict[str, Any] | None, list[str]]:
        """Test-set diagnostics, also logged to the MLflow run; a failure here only adds a note."""
        from automlops.tabular.diagnostics import diagnose_runner

        self._on_stage("computing test diagnostics")
        try:
            diagnostics = diagnose_runner(runner, frame)
        except Exception:
            log.exception("diagnostics of job %s failed", self.id)
            return None, ["the test diagnostics (confusion matrix, ROC, residuals) could not be computed"]
        if self.tracker is not None and runner.run_id_:
            try:
                self.tracker.log_text(runner.run_id_, json.dumps(diagnostics), "diagnostics.json")
            except AutoMLOpsError as exc:
                return diagnostics, [f"diagnostics were not logged to MLflow: {exc}"]
        return diagnostics, []


def _trial_model(message: str) -> str | None:
    """The model name in a runner's trial message ("trial 3 lightgbm COMPLETE")."""
    parts = message.split()
    return parts[2] if len(parts) >= 4 and parts[0] == "trial" else None


# ---------------------------------------------------------------------- registry
_jobs: dict[str, TrainingJob] = {}
_registry_lock = threading.Lock()


def submit(request: TrainRequest, *, settings: Settings | None = None, tracker: Tracker | None = None,
           tracking_uri: str = "") -> TrainingJob:
    """Validate, register and start a job; returns it at once (the work runs in its thread)."""
    if not _MODEL_NAME.match(request.name):
        raise ConfigError(f"invalid model name {request.name!r}: use 1-64 letters, digits, '_' or '-'")
    if request.n_trials is not None and request.n_trials < 1:
        raise ConfigError("the number of trials must be at least 1")
    if request.time_budget is not None and request.time_budget <= 0:
        raise ConfigError("the time budget must be a positive number of seconds")
    job = TrainingJob(request, settings=settings or Settings(), tracker=tracker, tracking_uri=tracking_uri)
    with _registry_lock:
        _prune()
        _jobs[job.id] = job
    return job.start()


def _prune() -> None:
    """Forget the oldest finished jobs beyond :data:`MAX_JOBS` (running ones are always kept)."""
    finished = sorted((j for j in _jobs.values() if not j.snapshot().running), key=lambda j: j.created)
    for job in finished[: max(0, len(_jobs) - MAX_JOBS + 1)]:
        _jobs.pop(job.id, None)


def get(job_id: str | None) -> TrainingJob | None:
    if not job_id:
        return None
    with _registry_lock:
        return _jobs.get(job_id)


def running_jobs() -> list[TrainingJob]:
    with _registry_lock:
        return [j for j in _jobs.values() if j.snapshot().running]
