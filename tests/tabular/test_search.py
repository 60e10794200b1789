"""Each search mode behaves as its name says, on real data with tiny budgets."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from sklearn.datasets import load_iris

from automlops.core.problem import infer_problem
from automlops.errors import ConfigError
from automlops.tabular import AutoMLRunner
from automlops.tabular.search import STRATEGIES, SearchSpace, create_study
from automlops.tabular.zoo import available_models, get_model


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame



def _fit(df: pd.DataFrame, **kw) -> AutoMLRunner:  # type: ignore[no-untyped-def]
    kw.setdefault("preset", "fast")
    kw.setdefault("validation", "holdout")
    return AutoMLRunner("target", **kw).fit(df)


def _sequence(runner: AutoMLRunner) -> list[tuple[str, dict]]:
    return [(t.user_attrs["model"], t.user_attrs["params"]) for t in runner.study_.trials]


def test_strategies_registered() -> None:
    assert STRATEGIES.names() == ["tpe", "random", "grid", "hyperband", "cmaes", "qmc"]
    with pytest.raises(ConfigError, match="unknown search strategy 'bayes'"):
        STRATEGIES.get("bayes")


@pytest.mark.parametrize(("search", "sampler", "pruner"), [
    ("tpe", optuna.samplers.TPESampler, optuna.pruners.NopPruner),
    ("random", optuna.samplers.RandomSampler, optuna.pruners.NopPruner),
    ("grid", optuna.samplers.GridSampler, optuna.pruners.NopPruner),
    ("hyperband", optuna.samplers.TPESampler, optuna.pruners.HyperbandPruner),
    ("cmaes", optuna.samplers.CmaEsSampler, optuna.pruners.NopPruner),
    ("qmc", optuna.samplers.QMCSampler, optuna.pruners.NopPruner),
])
def test_study_uses_the_named_sampler_and_pruner(search: str, sampler: type, pruner: type) -> None:
    study, note = create_study(STRATEGIES.get(search), direction="maximize", seed=0, n_trials=20, n_steps=5,
                               grid_size=10)
    assert type(study.sampler) is sampler and type(study.pruner) is pruner
    assert note is None


def test_one_study_searches_across_models(iris: pd.DataFrame) -> None:
    runner = _fit(iris, models=["logistic", "knn", "decision_tree"], n_trials=8, search="random")
    models = {t.params["model"] for t in runner.study_.trials}
    assert models == {"logistic", "knn", "decision_tree"}
    # warm start: every model's defaults first, in the documented order
    first = _sequence(runner)[:3]
    problem = runner.problem_
    assert first == [(m, get_model(m).defaults(problem)) for m in ("logistic", "knn", "decision_tree")]


def test_grid_visits_grid_points_only_and_stops_when_exhausted(iris: pd.DataFrame) -> None:
    runner = _fit(iris, models=["logistic", "knn"], search="grid", n_trials=40)
    problem = runner.problem_
    grid = {m: get_model(m).grid_points(problem) for m in ("logistic", "knn")}
    size = sum(len(v) for v in grid.values())  # 5 + 8
    trials = runner.study_.trials
    assert len(trials) == size, "grid search must stop once every point was tried"
    seen = []
    for model, params in _sequence(runner):
        assert params in grid[model], f"{model} {params} is not a grid point"
        seen.append((model, tuple(sorted(params.items()))))
    assert len(set(seen)) == len(seen) == size  # every point exactly once
    assert not any("random" in d.message for d in runner.decisions_ if d.topic == "search")
    assert any(f"grid of {size} points" in d.message for d in runner.decisions_)


def test_grid_without_trial_count_walks_the_whole_grid(iris: pd.DataFrame) -> None:
    runner = _fit(iris, models=["logistic"], search="grid")
    assert sorted(p["C"] for _, p in _sequence(runner)) == [0.01, 0.1, 1.0, 10.0, 100.0]


def test_grid_larger_than_budget_falls_back_to_random(iris: pd.DataFrame) -> None:
    runner = _fit(iris, models=["logistic", "knn"], search="grid", n_trials=5)
    problem = runner.problem_
    assert len(runner.study_.trials) == 5
    for model, params in _sequence(runner):
        assert params in get_model(model).grid_points(problem)
    notes = [d.message for d in runner.decisions_ if d.topic == "search"]
    assert any("13 points" in n and "5 trials" in n and "random" in n for n in notes), notes
    assert "without repeats" in " ".join(notes)
    other = _fit(iris, models=["logistic", "knn"], search="grid", n_trials=5, seed=1)
    assert _sequence(other) != _sequence(runner)  # the subset is drawn at random, per seed


def test_grid_fallback_does_not_repeat_points(iris: pd.DataFrame) -> None:
    """Random order over the grid, but each point at most once: a repeat is a wasted trial."""
    runner = _fit(iris, models=["logistic", "knn"], search="grid", n_trials=12)  # 13 grid points
    seen = [(m, tuple(sorted(p.items()))) for m, p in _sequence(runner)]
    repeats = len(seen) - len(set(seen))
    assert repeats == 0, f"{repeats} of {len(seen)} trials re-evaluated a grid point already tried: {seen}"


def test_grid_space_is_the_union_of_model_grids(iris: pd.DataFrame) -> None:
    problem = infer_problem(iris, "target")
    specs = available_models(problem.task, names=["logistic", "decision_tree"])
    space = SearchSpace(specs, problem, grid=True)
    assert space.grid_points is not None and len(space.grid_points) == 5 + 12
    assert space.warm_start(optuna.create_study()) == []  # a grid is walked as is


def test_hyperband_prunes(cancer: pd.DataFrame) -> None:
    runner = _fit(cancer, models=["logistic", "knn", "decision_tree"], n_trials=12, search="hyperband",
                  validation="stratified", seed=0, study_name="hb-stratified")  # name pins the brackets
    trials = runner.study_.trials
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(pruned) >= 2 and complete
    steps = runner.evaluator_.n_steps
    assert steps == 5
    for t in pruned:  # stopped before the last fold: that is the saving
        assert 1 <= len(t.intermediate_values) < steps
    for t in complete:
        assert sorted(t.intermediate_values) == list(range(1, steps + 1))
    assert runner.leaderboard_["pruned"].sum() == len(pruned)
    assert runner.summary()["n_pruned"] == len(pruned)


def test_hyperband_on_holdout_uses_a_learning_curve(cancer: pd.DataFrame) -> None:
    runner = _fit(cancer, models=["logistic", "knn", "decision_tree"], n_trials=12, search="hyperband",
                  validation="holdout", seed=0, study_name="hb-holdout")
    assert runner.evaluator_.learning_curve and runner.evaluator_.n_steps == 3
    pruned = [t for t in runner.study_.trials if t.state is TrialState.PRUNED]
    assert pruned
    # pruning after the last step saves nothing and throws a finished score away
    late = [(t.number, t.user_attrs.get("note")) for t in pruned if len(t.intermediate_values) >= 3]
    assert not late, f"trials pruned after their final step: {late}"


def test_non_pruning_modes_never_prune(iris: pd.DataFrame) -> None:
    for search in ("tpe", "random"):
        runner = _fit(iris, models=["logistic", "knn"], n_trials=4, search=search, validation="stratified")
        assert all(t.state is TrialState.COMPLETE for t in runner.study_.trials)


def test_random_and_tpe_propose_different_sequences(iris: pd.DataFrame) -> None:
    kw = dict(models=["logistic", "knn"], n_trials=12, seed=0)
    tpe = _sequence(_fit(iris, search="tpe", **kw))
    rnd = _sequence(_fit(iris, search="random", **kw))
    assert tpe[:2] == rnd[:2]  # both start from the same warm-start defaults
    assert tpe != rnd
    differing = sum(a != b for a, b in zip(tpe, rnd, strict=True))
    assert differing >= 3, (tpe, rnd)


@pytest.mark.parametrize("search", ["tpe", "random", "hyperband"])
def test_same_seed_same_results(iris: pd.DataFrame, search: str) -> None:
    """No study name given: Hyperband's bracket of a trial must not depend on a random study name."""
    kw = dict(models=["logistic", "knn", "decision_tree"], n_trials=6, search=search, seed=3,
              validation="stratified")
    a, b = _fit(iris, **kw), _fit(iris, **kw)
    assert _sequence(a) == _sequence(b)
    assert [t.value for t in a.study_.trials] == [t.value for t in b.study_.trials]
    assert [t.state for t in a.study_.trials] == [t.state for t in b.study_.trials]
    assert a.test_metrics_ == b.test_metrics_


def test_different_seed_changes_the_search(iris: pd.DataFrame) -> None:
    kw = dict(models=["logistic", "knn"], n_trials=8, search="random")
    assert _sequence(_fit(iris, seed=0, **kw)) != _sequence(_fit(iris, seed=1, **kw))
