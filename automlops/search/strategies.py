"""Search strategies: how the next trial is chosen (the *sampler*) and whether a weak one may stop
early (the *pruner*). They are task-agnostic: every engine's study is built here.

* **TPE** (Tree-structured Parzen Estimator, the default) – Bayesian optimisation. It splits the
  trials so far into "good" and "bad" by score, fits a density to each, and proposes points where
  good/bad is highest. After a few random start-up trials it concentrates on promising regions.
* **Random** – every trial is an independent random draw: an unbiased baseline.
* **Grid** – walks a finite list of points, each once. When the grid has more points than the
  budget allows, a random subset of the same grid is drawn (without repeats) instead.
* **Hyperband** – TPE proposes and a *pruner* stops weak trials early, from the intermediate scores
  an engine reports after each unit of resource (a fold, a slice of boosting rounds, an epoch).
* **CMA-ES** – an evolution strategy: it samples a population from a multivariate normal
  distribution over the numeric hyperparameters and moves and reshapes that distribution towards
  the best members. It only handles numeric parameters shared by every trial: the categorical
  ``model`` choice (and, when several models are searched, each model's own hyperparameters, which
  other models' trials lack) fall back to Optuna's independent sampler (random). It is CMA-ES proper
  when one model is searched; with several it behaves much like random search.
* **QMC** – quasi-Monte Carlo: a scrambled, seeded Sobol sequence covers the space more evenly than
  independent random draws (no clumps, no holes) but learns nothing from the scores. Its space is
  that of the study's first trial; parameters outside it are drawn at random.

The study can live in memory, in a SQLite file or in PostgreSQL (``storage``): with a storage and a
``study_name``, several processes can search one study together.
"""

from __future__ import annotations

import contextlib
import logging
import random
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import optuna
from optuna.storages import BaseStorage

from automlops.core.registry import Registry
from automlops.errors import ConfigError

__all__ = ["STRATEGIES", "SearchStrategy", "create_study", "grid_points", "join_study", "quiet_optuna"]


@dataclass(frozen=True)
class SearchStrategy:
    name: str
    label: str
    explanation: str
    make_sampler: Callable[[int, int | None], optuna.samplers.BaseSampler]
    prunes: bool = False


def _tpe(seed: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    startup = 5 if n_trials is None else max(3, min(10, n_trials // 3))
    with warnings.catch_warnings():  # multivariate/group TPE is flagged "experimental" by Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, group=True)


def _random(seed: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _cmaes(seed: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():  # some CMA-ES options are flagged "experimental" by Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)


def _qmc(seed: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():  # QMCSampler is flagged "experimental" by Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=seed,
                                          warn_independent_sampling=False, warn_asynchronous_seeding=False)


STRATEGIES: Registry[SearchStrategy] = Registry("search strategy")
STRATEGIES.add("tpe", SearchStrategy(
    "tpe", "Bayesian optimisation (TPE)",
    "learns from finished trials which regions score well and samples there more often", _tpe))
STRATEGIES.add("random", SearchStrategy(
    "random", "Random search", "draws every trial independently at random: a fair, unbiased baseline", _random))
STRATEGIES.add("grid", SearchStrategy(
    "grid", "Grid search", "tries every combination of a small fixed grid, each exactly once", _random))
STRATEGIES.add("hyperband", SearchStrategy(
    "hyperband", "Hyperband (TPE + early stopping)",
    "stops weak trials after their first resource steps so many more configurations fit in the budget", _tpe,
    prunes=True))
STRATEGIES.add("cmaes", SearchStrategy(
    "cmaes", "CMA-ES (evolution strategy)",
    "moves a multivariate normal distribution over the numeric hyperparameters towards the best trials; the "
    "categorical model choice, and hyperparameters not shared by every trial, fall back to random sampling "
    "(so with several models it behaves much like random search)", _cmaes))
STRATEGIES.add("qmc", SearchStrategy(
    "qmc", "Quasi-Monte Carlo (scrambled Sobol)",
    "covers the search space evenly with a seeded, scrambled Sobol sequence (no clumps or holes like random "
    "draws) and learns nothing from the scores; parameters outside the first trial's space are drawn at random",
    _qmc))


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's own logging for the duration of a search, then restore the level.

    Optuna prints a line per trial (INFO) and, for a trial that raised, a WARNING with the whole
    traceback ("Trial 4 failed with parameters ... because of the following error"), which a user
    would read as a crash. The driver records why each trial failed and says it in plain words
    (the ``search`` decision and the leaderboard's notes), so Optuna's copies are not needed."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def grid_points(grid_size: int, n_trials: int | None, seed: int) -> tuple[list[int], str | None]:
    """The grid points a search walks (all, or a seeded random subset when the budget is smaller)."""
    points = list(range(grid_size))
    if n_trials is not None and grid_size > n_trials:
        points = sorted(random.Random(seed).sample(points, n_trials))
        return points, (f"the grid has {grid_size} points but the budget allows {n_trials} trials, so {n_trials} "
                        "points of the same grid are drawn at random (without repeats) instead of walking all of it")
    return points, None


def create_study(strategy: SearchStrategy, *, direction: str, seed: int, n_trials: int | None,
                 n_steps: int, grid_size: int | None = None, storage: str | BaseStorage | None = None,
                 study_name: str | None = None, create: bool = True) -> tuple[optuna.Study, str | None]:
    """Build (or join) the study for ``strategy``; returns it and a note when grid search sampled.

    With a ``storage`` the study is shared: it is created, or joined when it exists (``create=False``:
    only joined – a worker never creates a study – and a missing one is a :class:`ConfigError` listing
    the studies there are). A shared grid is not walked by Optuna's ``GridSampler``, which may run a
    point twice when several workers draw at once: the driver enqueues every point once instead and
    workers pop them (see :mod:`automlops.search.storage`); the sampler here only serves the rare
    trial that finds the queue empty.
    """
    note = None
    if strategy.name == "grid":
        if grid_size is None:
            raise ValueError("grid search needs the grid's size")
        points, note = grid_points(grid_size, n_trials, seed)
        sampler: optuna.samplers.BaseSampler = optuna.samplers.GridSampler({"grid_point": points}, seed=seed) \
            if storage is None else optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = strategy.make_sampler(seed, n_trials)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if strategy.prunes:
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(n_steps, 1), reduction_factor=3)
    if study_name is None and storage is None:
        study_name = f"automl-seed{seed}"  # Hyperband assigns brackets by hashing the study name
    if not create:
        if storage is None or study_name is None:
            raise ValueError("joining a study needs its storage and name")
        return join_study(study_name, storage, sampler=sampler, pruner=pruner), note
    study = optuna.create_study(direction=direction, sampler=sampler,  # type: ignore[arg-type]
                                pruner=pruner, storage=storage, study_name=study_name,
                                load_if_exists=storage is not None)
    return study, note


def join_study(study_name: str, storage: str | BaseStorage, *, sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """Load an existing shared study; a missing one is a :class:`ConfigError` naming the ones there are."""
    from automlops.search.storage import study_names

    try:
        return optuna.load_study(study_name=study_name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        backend = optuna.storages.get_storage(storage)
        names = study_names(backend)
        there = ", ".join(f"'{n}'" for n in names[:20]) + (" ..." if len(names) > 20 else "") if names else "none"
        raise ConfigError(f"study '{study_name}' does not exist in this storage (studies there: {there}); a "
                          "worker only joins a study that `automlops train --study` created") from None
