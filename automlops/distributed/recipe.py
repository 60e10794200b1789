"""What a worker needs to rebuild a search: the *recipe* and the *data pin*, kept in the study.

A worker starts from nothing but a study name and a storage URL. Everything else comes from the
study's user attributes, written by the coordinator (``automlops train --study``) when it creates
the study and checked by every process that joins it:

* ``recipe`` – the train options that shape the search (task, target, metric, preset, search,
  validation, models, ensemble, seed, time column, the forecasting/clustering/anomaly options...),
  a format ``version``, and ``planning_budget``: the time budget the coordinator's automatic rules
  saw (the tabular ``auto`` validation picks cross-validation or a holdout by data size *per second
  of budget*, so a worker with another budget would otherwise choose other splits);
* ``data`` – ``lake:NAME@vN``, the lake version searched, and ``data_sha256`` – its SHA-256. A
  worker loads that version from its own lake (shared or copied) and refuses bytes that differ.

Per-process settings (``--n-trials``, ``--time-budget``, ``--name``) are not part of the recipe:
each process brings its own.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from automlops.errors import ConfigError

__all__ = ["PIN_KEYS", "RECIPE_VERSION", "TRAIN_OPTIONS", "DataPin", "Recipe", "study_attrs"]

RECIPE_VERSION = 1
TRAIN_OPTIONS = ("task", "target", "metric", "preset", "search", "validation", "models", "ensemble", "select",
                 "seed", "time_column", "refit_full", "series_id", "horizon", "freq", "reference", "n_clusters",
                 "contamination", "label", "select_by_label")
"""The ``automlops train`` options a recipe carries (argparse names; ``models`` as a list)."""
PIN_KEYS = ("recipe", "data", "data_sha256")
"""The study user attributes the coordinator writes, one by one: a study is ready once all are there."""

_DEFAULTS: dict[str, Any] = {"preset": "medium", "search": "tpe", "ensemble": "auto", "select": "best", "seed": 0,
                             "refit_full": True, "contamination": "auto", "select_by_label": False}


def _flag(option: str) -> str:
    from automlops.tasks import option_flag

    return option_flag(option)  # n_clusters -> --clusters


@dataclass(frozen=True)
class Recipe:
    """The train options of a study (see the module docstring); ``options`` holds :data:`TRAIN_OPTIONS`."""

    options: Mapping[str, Any]
    planning_budget: float | None = None
    version: int = RECIPE_VERSION

    @classmethod
    def from_args(cls, args: argparse.Namespace, planning_budget: float | None) -> Recipe:
        """The recipe of an ``automlops train`` command line (``args`` as argparse parsed them)."""
        options = {name: getattr(args, name, _DEFAULTS.get(name)) for name in TRAIN_OPTIONS}
        options["models"] = _models(args.models)
        return cls(options, planning_budget)

    @property
    def task(self) -> str | None:
        return self.options.get("task")  # None: classification or regression, inferred from the target

    def as_attr(self) -> dict[str, Any]:
        """JSON-ready, as stored in the study's ``recipe`` user attribute."""
        return {"version": self.version, "options": dict(self.options), "planning_budget": self.planning_budget}

    @classmethod
    def from_attr(cls, value: Any, study: str) -> Recipe:
        """Read a stored recipe back; refuse one this code cannot rebuild (newer format, vision, unknown task)."""
        if not isinstance(value, Mapping) or not isinstance(value.get("options"), Mapping):
            raise ConfigError(f"study '{study}' has no readable recipe: it was not created by 'automlops train "
                              "--study'")
        version = value.get("version")
        if version != RECIPE_VERSION:
            raise ConfigError(f"study '{study}' has a recipe of format version {version!r}; this studio reads "
                              f"version {RECIPE_VERSION}: run the same studio version as the coordinator")
        options = {name: value["options"].get(name, _DEFAULTS.get(name)) for name in TRAIN_OPTIONS}
        _check_task(options.get("task"), study)
        budget = value.get("planning_budget")
        if budget is not None and not (isinstance(budget, int | float) and math.isfinite(budget) and budget > 0):
            raise ConfigError(f"study '{study}' has a malformed recipe: planning_budget {budget!r}")
        return cls(options, None if budget is None else float(budget), RECIPE_VERSION)

    def differences(self, other: Recipe) -> list[str]:
        """``--preset fast, not medium`` for each option where ``other`` (this command) differs from ``self``."""
        out = []
        for name in TRAIN_OPTIONS:
            mine, theirs = self.options.get(name), other.options.get(name)
            if mine != theirs:
                out.append(f"{_flag(name)} {_shown(mine)}, not {_shown(theirs)}")
        return out

    def train_args(self, *, n_trials: int | None = None, time_budget: float | None = None,
                   name: str | None = None) -> argparse.Namespace:
        """An ``automlops train`` namespace for these options: ``cli_training.check_train_args`` accepts it."""
        values = dict(self.options)
        values["models"] = ",".join(values["models"]) if values.get("models") else None
        return argparse.Namespace(**values, n_trials=n_trials, time_budget=time_budget, name=name, csv=None,
                                  json=False, study=None, storage=None)


@dataclass(frozen=True)
class DataPin:
    """One lake version and its SHA-256: the data every process of a study searches."""

    dataset: str
    version: int
    sha256: str
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ref(self) -> str:
        return f"lake:{self.dataset}@v{self.version}"

    @classmethod
    def from_lineage(cls, lineage: Mapping[str, Any]) -> DataPin:
        """From a committed lake version's lineage (``DatasetVersion.lineage()``)."""
        return cls(str(lineage["name"]), int(lineage["version"]), str(lineage["sha256"]))

    def as_attrs(self) -> dict[str, str]:
        return {"data": self.ref, "data_sha256": self.sha256}

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any], study: str) -> DataPin:
        ref, sha = attrs.get("data"), attrs.get("data_sha256")
        if not isinstance(ref, str) or not isinstance(sha, str):
            raise ConfigError(f"study '{study}' pins no lake version (attributes 'data', 'data_sha256'): it was "
                              "not created by 'automlops train --study'")
        name, sep, version = ref.removeprefix("lake:").partition("@v")
        if not ref.startswith("lake:") or not sep or not version.isdigit() or len(sha) != 64:
            raise ConfigError(f"study '{study}' pins a malformed data version {ref!r}")
        return cls(name, int(version), sha.lower())


def study_attrs(recipe: Recipe, pin: DataPin) -> dict[str, Any]:
    """The study user attributes the coordinator writes (and every later process must match)."""
    return {"recipe": recipe.as_attr(), **pin.as_attrs()}


def _models(text: str | None) -> list[str] | None:
    names = [m.strip() for m in text.split(",") if m.strip()] if text else []
    return names or None


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _check_task(task: Any, study: str) -> None:
    from automlops.tasks import ENGINE_TASKS

    if task == "vision":
        raise ConfigError(f"study '{study}' is an image (vision) study: workers search tables only "
                          "(train-vision searches in one process)")
    if task not in (None, "classification", "regression", *ENGINE_TASKS):
        raise ConfigError(f"study '{study}' has a recipe for an unknown task {task!r}")
