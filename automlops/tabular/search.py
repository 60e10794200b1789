"""Hyperparameter search with Optuna: four strategies, one study.

A *study* is a sequence of *trials*; each trial picks a model and its hyperparameters, is
scored by cross-validation, and reports back. The strategies differ in **how the next trial
is chosen** (the *sampler*) and **whether a bad trial may be stopped early** (the *pruner*):

* **TPE** (Tree-structured Parzen Estimator, the default) – Bayesian optimisation. It splits the
  trials so far into "good" and "bad" by score, fits a density to each, and proposes points
  where good/bad is highest. After a few random start-up trials it concentrates on promising
  regions, so it usually needs far fewer trials than random or grid search.
* **Random** – every trial is an independent random draw. No learning, but no bias either:
  a fair baseline, and surprisingly strong when only a few hyperparameters matter.
* **Grid** – walks a finite list of points, every combination once. Exhaustive and reproducible,
  but it cannot walk a continuous range (a learning rate between 0.01 and 0.3 has infinitely
  many values), so each model declares a small grid. When the grid has more points than the
  budget allows, the search samples the same grid at random instead, and says so.
* **Hyperband** – TPE proposes, and a *pruner* kills weak trials early. Each trial reports an
  intermediate score after every CV fold (or, with one holdout split, after learning on 25 %
  and 50 % of the rows). Hyperband runs several "successive halving" brackets: at each rung
  only the best third of trials earn more resources. Bad configurations cost a fraction of a
  full evaluation, so many more fit in the same time. Pruned trials show as PRUNED.

The whole search is one study, with the model itself as a categorical parameter ("model"),
so the sampler also learns *which algorithm* works here. Each model's defaults are enqueued
first: a strong baseline is always in the leaderboard, even with a tiny budget.
"""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from automlops.core.problem import Problem
from automlops.core.registry import Registry
from automlops.tabular.zoo import ModelSpec, Suggest, get_model

__all__ = ["DEFAULT_ORDER", "STRATEGIES", "Candidate", "SearchSpace", "SearchStrategy", "create_study"]

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
logging.getLogger("optuna").setLevel(logging.WARNING)

# Which defaults are evaluated first: strong and cheap before slow or fragile.
DEFAULT_ORDER = ("lightgbm", "logistic", "ridge", "hist_gb", "random_forest", "xgboost", "extra_trees",
                 "elasticnet", "svm", "knn", "lasso", "mlp", "decision_tree")


@dataclass(frozen=True)
class SearchStrategy:
    name: str
    label: str
    explanation: str
    make_sampler: Callable[[int, int | None], optuna.samplers.BaseSampler]
    prunes: bool = False


def _tpe(seed: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    startup = 5 if n_trials is None else max(3, min(10, n_trials // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, group=True)


def _random(seed: int, n_trials: int | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


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
    "stops weak trials after their first folds so many more configurations fit in the budget", _tpe,
    prunes=True))


@dataclass(frozen=True)
class Candidate:
    """One configuration to evaluate: a model name and its hyperparameters."""

    model: str
    params: dict[str, Any]

    @property
    def spec(self) -> ModelSpec:
        return get_model(self.model)


class SearchSpace:
    """Turns an Optuna trial into a :class:`Candidate` (define-by-run, or a grid point)."""

    def __init__(self, specs: Sequence[ModelSpec], problem: Problem, *, grid: bool = False) -> None:
        self.specs = list(specs)
        self.problem = problem
        self.grid_points: list[Candidate] | None = None
        if grid:
            self.grid_points = [Candidate(s.name, p) for s in self.specs for p in s.grid_points(problem)]

    @property
    def model_names(self) -> list[str]:
        return [s.name for s in self.specs]

    def suggest(self, trial: optuna.Trial) -> Candidate:
        if self.grid_points is not None:
            index = trial.suggest_categorical("grid_point", list(range(len(self.grid_points))))
            return self.grid_points[int(index)]
        model = trial.suggest_categorical("model", self.model_names)
        spec = get_model(str(model))
        return Candidate(spec.name, spec.search_space(Suggest(trial, spec.name), self.problem))

    def warm_start(self, study: optuna.Study) -> list[str]:
        """Enqueue each model's default configuration, in :data:`DEFAULT_ORDER`."""
        if self.grid_points is not None:
            return []
        rank = {name: i for i, name in enumerate(DEFAULT_ORDER)}
        ordered = sorted(self.specs, key=lambda s: rank.get(s.name, len(rank)))
        for spec in ordered:
            params = {f"{spec.name}__{k}": v for k, v in spec.defaults(self.problem).items()}
            study.enqueue_trial({"model": spec.name, **params}, skip_if_exists=True)
        return [s.name for s in ordered]


def create_study(strategy: SearchStrategy, *, direction: str, seed: int, n_trials: int | None,
                 n_steps: int, grid_size: int | None = None, storage: str | None = None,
                 study_name: str | None = None) -> tuple[optuna.Study, str | None]:
    """Build the study for ``strategy``; returns it and a note when grid search fell back to random."""
    note = None
    if strategy.name == "grid":
        assert grid_size is not None
        points = list(range(grid_size))
        if n_trials is not None and grid_size > n_trials:
            points = sorted(random.Random(seed).sample(points, n_trials))
            note = (f"the grid has {grid_size} points but the budget allows {n_trials} trials, so {n_trials} "
                    "points of the same grid are drawn at random (without repeats) instead of walking all of it")
        sampler: optuna.samplers.BaseSampler = optuna.samplers.GridSampler({"grid_point": points}, seed=seed)
    else:
        sampler = strategy.make_sampler(seed, n_trials)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if strategy.prunes:
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(n_steps, 1), reduction_factor=3)
    if study_name is None and storage is None:
        study_name = f"automl-seed{seed}"  # Hyperband assigns brackets by hashing the study name
    study = optuna.create_study(direction=direction, sampler=sampler,  # type: ignore[arg-type]
                                pruner=pruner, storage=storage, study_name=study_name,
                                load_if_exists=storage is not None)
    return study, note
