"""The plain data a training job is made of: what was asked, how it goes, what it produced.

A job crosses two boundaries. It crosses a *process* boundary: the dashboard hands the request
to a worker process (Python pickles it through a pipe) and reads its progress back. And it
crosses *time*: the request, the progress and the result are written to SQLite, so a dashboard
restarted tomorrow can still show today's results. So everything here is a frozen dataclass
that turns into JSON and back: data frames as ``{"columns": [...], "records": [...]}``, an
ensemble configuration as its fields.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import TYPE_CHECKING, Any

from automlops.core.jsonable import jsonable

if TYPE_CHECKING:
    import pandas as pd

    from automlops.ui.job_store import JobRow

__all__ = ["CANCELLED_TEXT", "EpochPoint", "JobResult", "JobSnapshot", "TERMINAL", "TrainRequest", "TrialPoint",
           "VISION_TASKS"]

VISION_TASKS = ("image_classification", "segmentation", "detection")  # trained by automlops.vision's runner
_VISION_HEADLINES = {"image_classification": "classifying images", "segmentation": "segmenting images",
                     "detection": "detecting objects"}
TERMINAL = ("finished", "stopped", "cancelled", "failed")  # "stopped": older jobs that saved after a cancel
CANCELLED_TEXT = "cancelled: nothing was saved"
_ENSEMBLE = "__ensemble__"


@dataclass(frozen=True)
class TrainRequest:
    """Everything the Train (or Vision) page chose (plain data; the runner gets it as keyword arguments).

    A vision request (``task`` one of :data:`VISION_TASKS`) names an image dataset of the image
    lake in ``dataset``/``version``, its architectures in ``models``, and uses the vision fields
    at the end (``epochs``, ``device``, ``weights``, ``image_size``, ``batch_size``).
    """

    dataset: str
    version: int
    target: str | None  # None: clustering and anomaly detection have no target
    task: str | None = None
    metric: str | None = None
    preset: str = "fast"
    search: str = "tpe"
    validation: str | None = None
    models: tuple[str, ...] | None = None
    ensemble: Any = "auto"  # "auto" (the preset's choice) | "none" | "voting" | "stacking" | EnsembleConfig
    select: str = "best"  # "best" | "robust": the simplest model statistically tied with the best
    n_trials: int | None = None
    time_budget: float | None = None
    seed: int = 0
    model_name: str | None = None
    # forecasting, clustering and anomaly detection (see automlops.tasks.TrainOptions)
    time_column: str | None = None
    series_id: str | None = None
    horizon: int | None = None
    freq: str | None = None
    reference: str | None = None
    n_clusters: int | None = None
    contamination: float | str = "auto"
    label: str | None = None
    select_by_label: bool = False
    # vision (see automlops.vision.runner.VisionRunner)
    epochs: int | None = None
    device: str = "auto"  # auto | cpu | cuda
    weights: str | None = None  # a local weights file (the machine may have no internet)
    image_size: int | None = None
    batch_size: int | None = None

    @property
    def name(self) -> str:
        return self.model_name or self.dataset

    @property
    def is_vision(self) -> bool:
        """Trained by the vision runner on an image dataset (not on a CSV of the data lake)."""
        return self.task in VISION_TASKS

    @property
    def uses_engine(self) -> bool:
        """Trained by an engine of its own (forecasting, clustering, anomaly), not the tabular runner."""
        from automlops.tasks import ENGINE_TASKS

        return self.task in ENGINE_TASKS

    @property
    def headline(self) -> str:
        """What the training is about, in words: "predicting 'y'", "forecasting 'y'", "finding clusters"."""
        if self.task in _VISION_HEADLINES:
            return _VISION_HEADLINES[self.task]
        if self.task == "clustering":
            return "finding clusters"
        if self.task == "anomaly":
            return "detecting anomalies"
        return f"{'forecasting' if self.task == 'timeseries' else 'predicting'} '{self.target}'"

    def to_json(self) -> str:
        data = asdict(self)
        if is_dataclass(self.ensemble):
            data["ensemble"] = {_ENSEMBLE: asdict(self.ensemble)}  # type: ignore[arg-type]
        return json.dumps(jsonable(data))

    @classmethod
    def from_json(cls, text: str) -> TrainRequest:
        data = json.loads(text)
        ensemble = data.get("ensemble")
        if isinstance(ensemble, dict) and _ENSEMBLE in ensemble:
            from automlops.tabular.ensemble import EnsembleConfig

            config: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                      for k, v in ensemble[_ENSEMBLE].items()}
            data["ensemble"] = EnsembleConfig(**config)
        if data.get("models") is not None:
            data["models"] = tuple(data["models"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class TrialPoint:
    """One finished trial, as the live chart shows it."""

    number: int
    model: str | None
    state: str
    value: float | None
    best: float | None


@dataclass(frozen=True)
class EpochPoint:
    """One finished epoch of a vision trial, as the live loss and metric curves show it."""

    trial: int
    epoch: int
    train_loss: float | None
    val_loss: float | None
    metric: str | None
    value: float | None
    model: str | None = None  # the trial's architecture


def _frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    records = json.loads(frame.to_json(orient="records", default_handler=str))
    return {"columns": [str(c) for c in frame.columns], "records": records}


def _frame_from_json(data: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame.from_records(data["records"], columns=data["columns"])


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
    kind: str = "tabular"  # the saved model's kind: tabular, clustering, anomaly, forecasting
    report: dict[str, Any] | None = None  # the artifact's meta (plots and tables of a non-tabular kind)

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["leaderboard"], data["trials"] = _frame_to_json(self.leaderboard), _frame_to_json(self.trials)
        return json.dumps(jsonable(data))

    @classmethod
    def from_json(cls, text: str) -> JobResult:
        data = json.loads(text)
        data["leaderboard"], data["trials"] = _frame_from_json(data["leaderboard"]), _frame_from_json(data["trials"])
        return cls(**data)


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
    queue_position: int | None = None  # 1 = next to start, while queued
    pid: int | None = None  # the worker process, once started
    created: float = 0.0  # seconds since the epoch
    epochs: tuple[EpochPoint, ...] = ()  # vision jobs: every finished epoch of every trial

    @classmethod
    def from_row(cls, row: JobRow, request: TrainRequest, history: tuple[TrialPoint, ...],
                 position: int | None, epochs: tuple[EpochPoint, ...] = ()) -> JobSnapshot:
        """The snapshot of a job's table row (``jobs.db``), its trials and epochs, and its place in the queue."""
        elapsed = max(0.0, (row.ended or time.time()) - row.started) if row.started else 0.0
        return cls(
            id=row.id, request=request, status=row.status, stage=row.stage, trials_done=len(history),
            n_trials=row.n_trials if row.n_trials is not None else request.n_trials, elapsed=elapsed,
            budget=row.budget if row.budget is not None else request.time_budget, best_score=row.best_score,
            best_model=row.best_model, history=history, error=row.error,
            result=JobResult.from_json(row.result) if row.result else None,
            cancel_requested=bool(row.cancel_requested), queue_position=position, pid=row.pid, created=row.created,
            epochs=epochs)

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
        if self.status == "queued":
            where = f"position {self.queue_position}" if self.queue_position else "waiting"
            return f"queued ({where}): it starts when a running training finishes"
        trials = f"{self.trials_done}/{self.n_trials} trials" if self.n_trials else f"{self.trials_done} trials"
        if self.epochs:
            trials += f" · {len(self.epochs)} epochs"
        seconds = f"{self.elapsed:.1f} s" + (f" of {self.budget:.0f} s" if self.budget else "")
        best = f" · best {self.best_score:.4f} ({self.best_model})" if self.best_score is not None else ""
        return f"{trials} · {seconds}{best}"
