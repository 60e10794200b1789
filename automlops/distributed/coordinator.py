"""The coordinator's side of a named study: ``automlops train DATA --study NAME [--storage URL]``.

Before any search work, :func:`open_training_study` opens the storage (a bad URL fails here, in
one line without the password), compares an existing study's pins with this command (a rerun of
the same command resumes the study; other options or other data are refused, naming what
differs), and commits the data to the lake so that workers can load that exact version. The
search itself is the ordinary :class:`~automlops.search.driver.SearchDriver` ``fit`` on the
shared study: it ranks the trials of every process, then ensembles, refits, tests, tracks and saves.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from automlops.distributed.recipe import DataPin, Recipe, study_attrs
from automlops.errors import ConfigError
from automlops.search.engine import DecisionLog, SearchPlan

__all__ = ["STUDY_NAME_RE", "PlannedAs", "TrainingStudy", "check_study_name", "open_training_study",
           "planning_budget", "read_study_attrs"]

STUDY_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def check_study_name(name: str) -> str:
    if not STUDY_NAME_RE.fullmatch(name):
        raise ConfigError(f"invalid study name {name!r}: use 1-128 letters, digits, '_', '.', ':' or '-' "
                          "(starting with a letter or digit)")
    return name


class PlannedAs:
    """An engine that prepares as the study's creator did: its automatic rules see the recipe's budget.

    Only ``prepare`` reads the budget to choose (the tabular ``auto`` validation weighs the data's
    size against it); every other attribute is the wrapped engine's own.
    """

    def __init__(self, engine: Any, budget: float | None) -> None:
        self._engine, self._budget = engine, budget

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def prepare(self, data: Any, log: DecisionLog) -> SearchPlan:
        return self._engine.prepare(data, log.pinned_to(self._budget))  # type: ignore[no-any-return]


def planning_budget(args: argparse.Namespace, engine: Any) -> float | None:
    """The total budget the driver will plan with: ``--time-budget``, else the preset's (as ``SearchDriver``)."""
    if args.time_budget is not None:
        return float(args.time_budget)
    if engine is None:
        from automlops.tabular.presets import PRESETS as presets
    else:
        presets = engine.presets
    budget = presets.get(args.preset).time_budget
    return None if budget is None else float(budget)


def read_study_attrs(storage: Any, name: str) -> dict[str, Any] | None:
    """The study's user attributes, or ``None`` when no study has that name."""
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        return None
    return dict(storage.get_study_user_attrs(study_id))


@dataclass(frozen=True)
class TrainingStudy:
    """A named study the coordinator searches: where it lives, what it pins, the committed data."""

    name: str
    url: str  # the storage URL as given (may hold a password: never print it, see safe_url)
    recipe: Recipe
    pin: DataPin
    dataset: Mapping[str, Any]
    trials_before: int

    @property
    def attrs(self) -> dict[str, Any]:
        return study_attrs(self.recipe, self.pin)

    def commit(self) -> dict[str, Any]:
        """The data is already in the lake (committed before the search): its lineage."""
        return dict(self.dataset)

    def driver_fields(self) -> dict[str, Any]:
        """``DriverConfig`` fields that make a search join this study."""
        return {"storage": self.url, "study_name": self.name, "study_attrs": self.attrs}

    def planned(self, engine: Any) -> PlannedAs:
        return PlannedAs(engine, self.recipe.planning_budget)

    def fit_tabular(self, runner: Any, frame: Any) -> Any:
        """Search, ensemble, refit and test with ``runner``'s configuration (an ``AutoMLRunner``) on the study."""
        from automlops.search.driver import SearchDriver
        from automlops.tabular.engine import TabularData

        config = dataclasses.replace(runner._config(), **self.driver_fields())
        driver = SearchDriver(self.planned(runner._engine()), config, tracker=runner.tracker,
                              callbacks=runner.callbacks, stop_event=runner.stop_event)
        return driver.fit(TabularData(frame))


def open_training_study(args: argparse.Namespace, settings: Any, engine: Any, dataset: Mapping[str, Any],
                        commit: Callable[[], Mapping[str, Any]]) -> TrainingStudy | None:
    """``None`` without ``--study``; else check the study against this command and commit the data.

    Order: the storage is opened first (a bad URL costs nothing), then an existing study's recipe
    and data are compared with this command's (nothing is written when they differ), and only
    then is the data committed to the lake, where the workers find it.
    """
    from automlops.search.storage import open_storage, safe_url

    if getattr(args, "study", None) is None:
        if getattr(args, "storage", None):
            raise ConfigError("--storage needs --study NAME: a search without a study name stays in memory")
        return None
    name = check_study_name(args.study)
    url = args.storage or settings.resolved_hpo_storage_url
    if url.startswith("sqlite:///") and not args.storage:
        settings.home.mkdir(parents=True, exist_ok=True)  # the embedded default lives in the studio's home
    storage = open_storage(url, settings)
    recipe = Recipe.from_args(args, planning_budget(args, engine))
    attrs = read_study_attrs(storage, name)
    trials_before = 0
    if attrs is not None:
        recipe = _check_resume(name, attrs, recipe, dataset)
        trials_before = storage.get_n_trials(storage.get_study_id_from_name(name))
    lineage = commit()  # workers load this exact version from their lake
    study = TrainingStudy(name, url, recipe, DataPin.from_lineage(lineage), lineage, trials_before)
    if attrs is not None:
        print(f"automlops: resuming study '{name}' on {safe_url(url)}: {trials_before} trial(s) so far",
              file=sys.stderr)
    return study


def _check_resume(name: str, attrs: Mapping[str, Any], recipe: Recipe, dataset: Mapping[str, Any]) -> Recipe:
    """The stored recipe when this command matches the study's; else refuse, naming what differs."""
    if "recipe" not in attrs:
        raise ConfigError(f"study '{name}' exists but was not created by 'automlops train --study' (it has no "
                          "recipe): use another study name")
    stored = Recipe.from_attr(attrs["recipe"], name)
    pin = DataPin.from_attrs(attrs, name)
    if str(dataset.get("sha256")) != pin.sha256:
        raise ConfigError(f"study '{name}' was created for {pin.ref} (sha256 {pin.sha256[:12]}), not this data "
                          f"({dataset.get('name')}, sha256 {str(dataset.get('sha256'))[:12]}): use a new study name "
                          "or the same data")
    differences = stored.differences(recipe)
    if differences:
        raise ConfigError(f"study '{name}' was created with " + "; ".join(differences)
                          + ": rerun with the study's options or use a new study name")
    return stored  # keeps the creator's planning budget: every process plans the same splits
