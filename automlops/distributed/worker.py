"""``run_worker``: join a named study and run trials, nothing else.

A worker needs three things: the code (this studio, the same version as the coordinator), a way
to the database holding the study, and the lake version the study pins (a shared or copied
``AUTOMLOPS_HOME/data_lake``). It reads the recipe and the data pin from the study (see
:mod:`~automlops.distributed.recipe`), checks the SHA-256 of its own copy of the data, rebuilds the
very engine ``automlops train`` builds for those options, and runs
:meth:`~automlops.search.driver.SearchDriver.search_only`: trials until its own ``n_trials``, its
time budget, a cancel, or the coordinator closing the search. It never ensembles, refits or saves.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from automlops.distributed.coordinator import PlannedAs, check_study_name, read_study_attrs
from automlops.distributed.recipe import PIN_KEYS, DataPin, Recipe, study_attrs
from automlops.errors import ConfigError, DataError, NotFoundError
from automlops.search.driver import SEARCH_OPEN, WorkerReport

__all__ = ["build_search", "run_worker", "verify_pinned", "wait_for_study"]


def wait_for_study(storage: Any, name: str, wait: float = 0.0, *, poll: float = 0.5,
                   sleep: Callable[[float], None] = time.sleep,
                   on_wait: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The study's user attributes once it exists, carries its recipe and is open (waiting up to ``wait`` s).

    A worker never creates a study. A container may start before the coordinator: ``wait`` covers
    that (and a study whose search has closed, until a coordinator reopens it). After it, an unknown
    name is refused with the names that exist; a closed study's attributes are returned as they are.
    """
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        attrs = read_study_attrs(storage, name)
        if attrs is not None and all(key in attrs for key in PIN_KEYS) and attrs.get(SEARCH_OPEN) is not False:
            return attrs  # ready, and its coordinator searching (or about to)
        if time.monotonic() >= deadline:
            break
        if on_wait is not None:  # said once: a container's log shows why the worker is idle
            on_wait(f"waiting up to {wait:g} s for study '{name}' "
                    + ("to appear" if attrs is None else "to be opened by its coordinator"))
            on_wait = None
        sleep(min(poll, max(0.0, deadline - time.monotonic())))
    if attrs is None:
        names = sorted(s.study_name for s in storage.get_all_studies())
        known = ", ".join(names) if names else "none yet"
        waited = f" after waiting {wait:g} s" if wait > 0 else ""
        raise ConfigError(f"no study named '{name}' in this storage{waited} (studies: {known}); a worker joins "
                          "a study that 'automlops train --study NAME' created (use --wait S to give it time)")
    if str(attrs.get("fingerprint", "")).startswith("vision:"):
        raise ConfigError(f"study '{name}' is an image (vision) study: workers search tables only "
                          "(train-vision searches in one process)")
    return attrs  # no recipe: Recipe.from_attr says so


def verify_pinned(pin: DataPin, lake: Any, study: str) -> None:
    """Refuse unless this worker's lake holds the pinned version with exactly the pinned bytes (SHA-256)."""
    from automlops.mlops._atomic import sha256_file

    try:
        entry = lake.get_version(pin.dataset, pin.version)
    except NotFoundError:
        raise DataError(f"study '{study}' searches {pin.ref}, which this worker's lake ({lake.root}) does not "
                        "hold: share the coordinator's lake or copy that version into this AUTOMLOPS_HOME") from None
    actual = sha256_file(entry.full_path) if entry.full_path.is_file() else "(missing file)"
    if actual != pin.sha256:
        raise DataError(f"dataset {pin.dataset} v{pin.version} in this worker's lake differs from the one study "
                        f"'{study}' searches: sha256 {actual[:12]} here, {pin.sha256[:12]} pinned; copy the exact "
                        "version from the coordinator's lake")


def build_search(recipe: Recipe, frame: Any, *, n_trials: int | None = None,
                 time_budget: float | None = None) -> tuple[Any, Any]:
    """The engine ``automlops train`` builds for the recipe's options, and the data it searches.

    The options go through the train command's own checks (``cli_training.check_train_args``);
    a classification/regression recipe builds the ``AutoMLRunner``'s engine.
    """
    from automlops.cli_training import check_train_args, model_names

    args = recipe.train_args(n_trials=n_trials, time_budget=time_budget)
    engine = check_train_args(args)
    if engine is not None:
        return PlannedAs(engine, recipe.planning_budget), frame
    from automlops.tabular.engine import TabularData
    from automlops.tabular.runner import AutoMLRunner

    runner = AutoMLRunner(args.target, task=args.task, metric=args.metric, preset=args.preset, search=args.search,
                          validation=args.validation, models=model_names(args), ensemble=args.ensemble,
                          seed=args.seed, time_column=args.time_column, refit_full=args.refit_full,
                          select=args.select)
    return PlannedAs(runner._engine(), recipe.planning_budget), TabularData(frame)


def run_worker(study: str, *, storage_url: str | None = None, n_trials: int | None = None,
               time_budget: float | None = None, wait: float = 0.0, settings: Any = None,
               callbacks: Sequence[Callable[[Any], None]] = (), stop_event: Any = None,
               on_wait: Callable[[str], None] | None = None) -> Any:
    """Join ``study`` and run trials (see the module docstring); returns the driver's ``WorkerReport``.

    ``time_budget`` counts from the moment the study is ready (after any ``wait``), not from the start.
    """
    from automlops.config import get_settings
    from automlops.mlops.lake import DataLake
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.search.storage import open_storage

    began = time.monotonic()
    settings = settings or get_settings()
    check_study_name(study)
    if n_trials is not None and n_trials < 1:
        raise ConfigError(f"--n-trials must be at least 1, got {n_trials}")
    url = storage_url or settings.resolved_hpo_storage_url
    storage = open_storage(url, settings)
    attrs = wait_for_study(storage, study, wait, on_wait=on_wait)
    recipe = Recipe.from_attr(attrs.get("recipe"), study)
    pin = DataPin.from_attrs(attrs, study)
    lake = DataLake(settings=settings)
    verify_pinned(pin, lake, study)  # a broken set-up is said even when there is nothing left to search
    if attrs.get(SEARCH_OPEN) is False:  # its coordinator has finished: no trial to run
        return WorkerReport(study, 0, 0, 0, 0, round(time.monotonic() - began, 3), "search closed")
    frame = lake.load(pin.dataset, pin.version, check=False)  # verified just above, against the study's pin
    engine, data = build_search(recipe, frame, n_trials=n_trials, time_budget=time_budget)
    options: Mapping[str, Any] = recipe.options
    # the engine keeps the recipe's seed (same splits, same models: the study's fingerprint); the *sampler*
    # gets one of its own: workers seeded alike would propose the very same configurations
    sampler_seed = random.SystemRandom().randrange(1, 2**31)
    config = DriverConfig(preset=options["preset"], search=options["search"], n_trials=n_trials,
                          time_budget=time_budget, seed=sampler_seed, storage=url, study_name=study,
                          study_attrs=study_attrs(recipe, pin))
    return SearchDriver(engine, config, callbacks=callbacks, stop_event=stop_event).search_only(data)
