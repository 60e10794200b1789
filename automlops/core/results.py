"""Small result types shared by engines, UI, API and CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Decision", "ProgressEvent"]


@dataclass(frozen=True)
class Decision:
    """One automatic (or user) choice, in plain words: the studio's audit trail."""

    topic: str  # task, metric, data, features, validation, models, search, budget, ensemble, result
    message: str

    def __str__(self) -> str:
        return f"[{self.topic}] {self.message}"


@dataclass(frozen=True)
class ProgressEvent:
    """Sent to progress callbacks: after each trial, and at each stage of a run."""

    kind: str  # "stage" | "trial"
    message: str
    trial: int | None = None
    n_trials: int | None = None  # planned trials, None when the time budget decides
    elapsed: float = 0.0
    budget: float | None = None
    best_score: float | None = None
    best_model: str | None = None
    state: str | None = None  # COMPLETE | PRUNED | FAIL for trial events
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
