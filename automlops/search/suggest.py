"""``Suggest``: one study, many models, each with its own search space.

One Optuna study searches across models: a trial first picks a model, then that model's
hyperparameters. If two models both had a parameter called ``max_depth``, Optuna would treat
them as one dimension and learn about one model from trials of the other. Prefixing every
parameter with the model's name (``lightgbm__num_leaves``, ``kmeans__n_clusters``) keeps each
model's space separate. Every engine (tables, series, clusters, anomalies) suggests through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Suggest"]


class Suggest:
    """Optuna's ``trial.suggest_*`` with the model's name as a prefix on every parameter."""

    def __init__(self, trial: Any, prefix: str) -> None:
        self.trial, self.prefix = trial, prefix

    def int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        return int(self.trial.suggest_int(f"{self.prefix}__{name}", low, high, log=log))

    def float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        return float(self.trial.suggest_float(f"{self.prefix}__{name}", low, high, log=log))

    def cat(self, name: str, choices: Sequence[Any]) -> Any:
        return self.trial.suggest_categorical(f"{self.prefix}__{name}", list(choices))
