"""``DriverConfig``: how a search runs, whatever it searches (strategy, budget, seed, storage, labels).

The engine says *what* is searched (its candidates, validation and metric); this says *how*: which
Optuna sampler, how many trials or seconds, where the study lives when several workers share it,
and what the MLflow run is called. It is checked before any work starts, so a typo in a preset or
strategy name costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from automlops.errors import ConfigError
from automlops.search.engine import Engine
from automlops.search.strategies import STRATEGIES

__all__ = ["DriverConfig"]


@dataclass(frozen=True)
class DriverConfig:
    """How to search, independent of the engine: strategy, budget, seed, storage, tracking labels."""

    preset: str = "medium"
    search: str = "tpe"
    n_trials: int | None = None
    time_budget: float | None = None
    seed: int = 0
    storage: str | None = None
    study_name: str | None = None
    started_at: float | None = None  # monotonic time the budget counts from (default: fit's start)
    run_name: str | None = None
    dataset: Mapping[str, Any] | None = None
    tracking_timeout: float = 30.0  # longest wait for MLflow at the end when there is no time budget
    extra_params: Mapping[str, Any] = field(default_factory=dict)  # more run parameters to log
    study_attrs: Mapping[str, Any] = field(default_factory=dict)  # pinned in a shared study (JSON values)

    def check(self, engine: Engine) -> None:
        """Refuse a bad configuration before any work starts."""
        engine.presets.get(self.preset)
        STRATEGIES.get(self.search)
        if self.n_trials is not None and self.n_trials < 1:
            raise ConfigError("n_trials must be at least 1")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ConfigError("the time budget must be a positive number of seconds")
