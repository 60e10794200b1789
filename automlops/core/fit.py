"""What every engine's fit returns: a frozen, typed :class:`FitResult`, and its :class:`Artifact`.

The CLI, the dashboard, persistence, tracking and diagnostics all read a ``FitResult`` and nothing
else: they never reach into a runner's attributes. So a new engine (forecasting, clustering,
vision...) plugs into every surface by returning one. It is *frozen*: a result is a record of
what happened, not a working object.

The **artifact** is the thing that gets saved and served: the fitted object plus the ``kind`` of
model it is (``"tabular"``, ``"clustering"``, ``"vision"``...), which tells the model store which
file format to write and the API which predictor to build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from automlops.core.problem import Problem
from automlops.core.results import Decision

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["Artifact", "FitResult", "ValidationSummary"]


@dataclass(frozen=True)
class Artifact:
    """A fitted model ready to save: the object, its kind, and what ``meta.json`` must say about it.

    ``format`` names how the store writes it (``"joblib"``, ``"skops"``, ``"torch-state-dict"``...);
    ``None`` lets the store pick the best format registered for the object.
    """

    kind: str
    obj: Any = field(repr=False)
    meta: Mapping[str, Any] = field(default_factory=dict, repr=False)
    format: str | None = None
    tested_obj: Any = field(default=None, repr=False)  # set when obj was refitted on the test rows too
    files: Mapping[str, str] = field(default_factory=dict, repr=False)  # name -> text (a plot's HTML, a CSV):
    # logged as MLflow artifacts of the run, beside the leaderboard (forecast plot, cluster projection...)

    @property
    def scored_obj(self) -> Any:
        """The object that produced the test score: look at the test rows through this one.

        When the shipped ``obj`` was refitted on every row (test rows included), judging it on the
        test rows would flatter it; ``tested_obj`` is the same recipe fitted without them.
        """
        return self.obj if self.tested_obj is None else self.tested_obj


@dataclass(frozen=True)
class ValidationSummary:
    """How candidates were judged: the scheme, the number of splits and why."""

    kind: str
    n_splits: int
    reason: str


@dataclass(frozen=True)
class FitResult:
    """The complete, immutable record of one engine fit (see the module docstring)."""

    engine: str
    problem: Problem
    best_model: str
    best_params: Mapping[str, Any]
    val_score: float
    val_std: float
    test_score: float
    test_metrics: Mapping[str, float]
    test_rows: np.ndarray = field(repr=False)  # positions of the test rows in the frame given to fit
    validation: ValidationSummary
    leaderboard: pd.DataFrame = field(repr=False)
    trials: pd.DataFrame = field(repr=False)
    decisions: tuple[Decision, ...]
    timings: Mapping[str, float]
    artifact: Artifact
    run_id: str | None = None
    tracking_errors: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)  # preset, search, seed, ... as asked
    study_name: str | None = None
    input_columns: tuple[str, ...] = ()
    feature_schema: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_test_rows(self) -> int:
        return int(len(self.test_rows))

    @property
    def n_trials(self) -> int:
        return int(len(self.trials))

    @property
    def n_pruned(self) -> int:
        return int((self.trials["state"] == "PRUNED").sum()) if len(self.trials) else 0

    @property
    def wall_seconds(self) -> float:
        return float(self.timings.get("wall", float("nan")))

    def summary(self) -> dict[str, Any]:
        """The headline numbers (JSON-friendly)."""
        return {"task": self.problem.task.value, "target": self.problem.target, "metric": self.problem.metric,
                "best_model": self.best_model, "val_score": self.val_score, "val_std": self.val_std,
                "test_score": self.test_score, "test_metrics": dict(self.test_metrics),
                "n_trials": self.n_trials, "n_pruned": self.n_pruned, "wall_seconds": self.wall_seconds,
                "run_id": self.run_id}
