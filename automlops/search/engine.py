"""The contract between the search driver and an engine (tabular, clustering, forecasting, vision...).

Every AutoML engine does the same five things, in the same order, and differs only in *how*:

1. **prepare** – understand the data: infer the problem, keep test rows aside, choose how candidates
   will be validated, choose which models to search. Returns a :class:`SearchPlan`.
2. **suggest** – turn an Optuna trial into a :class:`Candidate` (a model name and its hyperparameters).
3. **evaluate** – score one candidate on the validation plan and report an intermediate score after
   each unit of *resource* (a CV fold, a slice of boosting rounds, an epoch), so that a pruner such
   as Hyperband can stop a weak trial early, whatever the resource is.
4. **choose** – look at the best trial of every model (from the study, so trials run by *other*
   workers count too) and pick what to ship: the best single model or an ensemble of several.
5. **finalize** – fit the choice for real, score it once on the test rows, and return an
   :class:`~automlops.core.fit.Artifact` the model store can save.

The :class:`~automlops.search.driver.SearchDriver` owns everything that is the same for every engine:
the Optuna study, the time budget, cancel, progress callbacks, MLflow tracking and the final record
(:class:`~automlops.core.fit.FitResult`). An engine never touches those, and the driver never imports
an engine. This split follows FLAML's ``Task`` (a task owns its estimators, data preparation, split
and metric) and Optuna's small sampler/pruner protocols, kept smaller and typed.

An engine keeps its own **scoped registries** – ``models``, ``presets``, ``metrics`` – so the
``fast`` preset of a vision engine is not the tabular one, and a clustering metric (silhouette, which
needs the features) lives beside the clustering models rather than in a global table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from automlops.core.fit import Artifact, ValidationSummary
from automlops.core.problem import Problem
from automlops.core.registry import Registry
from automlops.core.results import Decision, ProgressEvent

if TYPE_CHECKING:
    import optuna

    from automlops.search.budget import TimeBudget

__all__ = ["Candidate", "Choice", "DecisionLog", "Engine", "Evaluation", "Finalized", "PresetLike", "SearchPlan",
           "TrialOutcome"]


@dataclass(frozen=True)
class Candidate:
    """One configuration to evaluate: a model name (a key of the engine's model registry) and its
    hyperparameters."""

    model: str
    params: Mapping[str, Any]


@dataclass
class Evaluation:
    """How one candidate scored on the validation plan.

    ``payload`` is whatever the engine needs later to combine this trial with others (for tables:
    the out-of-fold predictions), already encoded as text so it can live in the study's storage
    and be read back by any worker (see :mod:`automlops.search.trials`).
    """

    mean: float
    std: float
    fold_scores: list[float]
    fit_seconds: float  # mean per step
    predict_seconds: float  # mean per step
    payload: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrialOutcome:
    """A finished trial as read back from the study: it may come from any worker process."""

    number: int
    model: str
    params: Mapping[str, Any]
    value: float
    std: float
    fit_seconds: float
    predict_seconds: float
    payload: str | None
    fold_scores: tuple[float, ...] = ()  # the score on each validation fold (same folds for every trial)

    @property
    def candidate(self) -> Candidate:
        return Candidate(self.model, self.params)


@dataclass(frozen=True)
class Choice:
    """What the engine decided to ship: a label for people, the validation score it earned, and the
    engine's own recipe (a candidate, or an ensemble of candidates) that ``finalize`` will fit."""

    label: str
    params: Mapping[str, Any]
    val_score: float
    val_std: float
    recipe: Any = field(repr=False)
    extra_rows: tuple[Mapping[str, Any], ...] = ()  # leaderboard rows the choice added (an ensemble)


@dataclass(frozen=True)
class Finalized:
    """The fitted choice, scored once on the untouched test rows."""

    artifact: Artifact
    test_metrics: Mapping[str, float]
    test_score: float
    refit_seconds: float
    input_example: Any = field(default=None, repr=False)  # a few input rows, for MLflow's signature


@dataclass(frozen=True)
class SearchPlan:
    """What ``prepare`` learned about the data and decided about the search."""

    problem: Problem
    validation: ValidationSummary
    test_rows: np.ndarray  # positions of the test rows in the data given to fit
    n_steps: int  # resource steps one evaluation reports (folds, rounds, epochs): Hyperband's max
    models: tuple[str, ...]
    fingerprint: str  # identifies data + splits: workers may only share a study with the same one
    grid_size: int | None = None  # number of grid points, for grid search
    input_columns: tuple[str, ...] = ()
    feature_schema: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class PresetLike(Protocol):
    """What the driver reads from an engine's preset (each engine defines its own preset type)."""

    name: str
    n_trials: int | None
    time_budget: float | None


class DecisionLog:
    """The plain-language audit trail of a fit: every automatic choice, also sent as a progress event."""

    def __init__(self, emit: Callable[[ProgressEvent], None], clock: Callable[[], float],
                 budget: Callable[[], float | None]) -> None:
        self.items: list[Decision] = []
        self._emit, self._clock, self._budget = emit, clock, budget

    def __call__(self, topic: str, message: str) -> None:
        self.items.append(Decision(topic, message))
        self._emit(ProgressEvent("stage", f"{topic}: {message}", elapsed=self._clock(), budget=self._budget()))

    def emit(self, event: ProgressEvent) -> None:
        """Send an engine's own progress event (an epoch finished...) to the fit's callbacks."""
        self._emit(replace(event, elapsed=self._clock(), budget=self._budget()))

    def time_budget(self) -> float | None:
        """The fit's time budget in seconds (None: no time limit), for an engine that sizes its work to it."""
        return self._budget()

    def elapsed(self) -> float:
        """Seconds spent since the budget's clock started (the command's start, loading included)."""
        return self._clock()

    def pinned_to(self, budget: float | None) -> DecisionLog:
        """A log that reports ``budget`` as the time budget and writes into this log's decisions and events
        (a distributed worker plans with the whole study's budget, not its own share)."""
        pinned = DecisionLog(self._emit, self._clock, lambda: budget)
        pinned.items = self.items
        return pinned


class Engine(Protocol):
    """One task family's AutoML logic (see the module docstring for the five steps)."""

    name: str
    kind: str  # the artifact kind it produces: "tabular", "clustering", ...
    models: Registry[Any]
    presets: Registry[Any]
    metrics: Registry[Any]

    def prepare(self, data: Any, log: DecisionLog) -> SearchPlan:
        """Infer the problem, set test rows aside, plan validation and models."""
        ...

    def suggest(self, trial: optuna.Trial) -> Candidate:
        """The candidate this trial evaluates (define-by-run search space, or a grid point)."""
        ...

    def warm_start(self, study: optuna.Study) -> list[str]:
        """Enqueue strong default configurations first; return the models enqueued, in order."""
        ...

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        """Score ``candidate``; call ``trial.report(value, step)`` after each resource step."""
        ...

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        """Expected seconds of the work after the search (refit, ensemble) if it stopped now."""
        ...

    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: TimeBudget) -> Choice:
        """Best single model or an ensemble, from the best trial of each model (best first)."""
        ...

    def finalize(self, choice: Choice, log: DecisionLog, budget: TimeBudget) -> Finalized:
        """Fit the choice, score it on the test rows, and package it as an artifact."""
        ...

    def run_params(self) -> dict[str, Any]:
        """Engine settings worth logging as MLflow parameters."""
        ...
