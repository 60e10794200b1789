"""The time budget: what the search may spend, and what is kept for the work after it."""

from __future__ import annotations

import time

import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import StackingClassifier

from automlops.search.budget import TimeBudget
from automlops.tabular import AutoMLRunner


def test_the_first_trial_may_run_until_half_the_budget_then_the_search_deadline_rules() -> None:
    budget = TimeBudget(total=60.0, fixed_tail=1.5)
    first = budget.trial_deadline()
    assert first is not None and first == pytest.approx(budget.started + 30.0)
    budget.record("ridge", 0.5)
    assert budget.trial_deadline() == budget.search_deadline()
    assert TimeBudget(total=None).trial_deadline() is None


def test_when_the_first_half_went_without_a_result_trials_may_run_to_the_search_deadline() -> None:
    late = TimeBudget(total=8.0, started=time.monotonic() - 4.5, fixed_tail=0.3)  # start-up ate 4.5 s of 8
    assert late.trial_deadline() == late.search_deadline() > time.monotonic()


def test_a_short_budget_still_ships_a_model_when_the_first_trial_is_cut(cancer) -> None:  # type: ignore[no-untyped-def]
    """Half of a 4 s budget is gone before the search starts (as start-up can take on a cold machine):
    the first trial is stopped at half the budget, yet a later one finishes and is shipped."""
    runner = AutoMLRunner("target", time_budget=4.0, started_at=time.monotonic() - 1.9, refit_full=False).fit(cancer)
    assert runner.best_model_name_ and runner.test_score_ > 0.9


def test_first_trial_always_starts_then_expected_durations_decide() -> None:
    budget = TimeBudget(total=1.0, started=time.monotonic() - 5.0)  # already over budget
    assert budget.can_start("ridge")  # nothing measured yet: one result beats none
    budget.record("ridge", 0.1)
    assert not budget.can_start("ridge")
    fresh = TimeBudget(total=30.0)
    fresh.record("forest", 40.0)
    fresh.record("ridge", 0.1)
    assert fresh.can_start("ridge") and not fresh.can_start("forest")
    assert fresh.can_start("never_seen")


def test_search_deadline_keeps_room_for_the_tail_and_queued_logging() -> None:
    budget = TimeBudget(total=60.0, fixed_tail=1.5)
    plain = budget.search_deadline()
    budget.tail_estimate = 4.0
    budget.backlog = lambda: 3.0
    assert plain is not None and budget.search_deadline() == plain - 7.0
    assert TimeBudget(total=None).search_time_left() == float("inf")


def test_refit_full_trains_the_saved_model_on_train_and_test_rows() -> None:
    df = load_iris(as_frame=True).frame
    runner = AutoMLRunner("target", preset="fast", models=["knn"], n_trials=2).fit(df)  # the default
    assert runner.best_estimator_.named_steps["model"].n_samples_fit_ == len(df)
    assert any("refitted the final model on all 150 rows" in d.message for d in runner.decisions_)
    # the test score and the diagnostics come from the model that had not seen the test rows
    tested = runner.result_.artifact.scored_obj
    assert tested.named_steps["model"].n_samples_fit_ == len(df) - runner.n_test_rows_
    assert runner.result_.artifact.meta["refit_on_all_rows"] is True
    plain = AutoMLRunner("target", preset="fast", models=["knn"], n_trials=2, refit_full=False).fit(df)
    assert plain.best_estimator_.named_steps["model"].n_samples_fit_ == len(df) - plain.n_test_rows_
    assert plain.result_.artifact.scored_obj is plain.best_estimator_


def test_budget_is_kept_by_the_runner_with_an_ensemble() -> None:
    """Light members leave time to stack them: the stack is built, fitted, and the budget still holds."""
    df = load_iris(as_frame=True).frame
    budget = 8.0  # the promise's 10 % is 0.8 s: room for the start-up jitter of busy CI cores, none for a stray fit
    started = time.monotonic()
    runner = AutoMLRunner("target", preset="medium", time_budget=budget, ensemble="stacking",
                          models=["logistic", "knn", "decision_tree"]).fit(df)
    wall = time.monotonic() - started
    assert wall <= budget * 1.1 and runner.wall_seconds_ <= budget * 1.1, wall
    assert len(runner.study_.trials) >= 3
    est = runner.best_estimator_
    assert isinstance(est, StackingClassifier), runner.decisions_
    assert runner.best_model_name_.startswith("stacking(")
    assert est.final_estimator_.n_features_in_ == len(est.estimators_) * 3  # fitted: 3 class probabilities each
    assert any(d.topic == "ensemble" and "the ensemble is the final model" in d.message for d in runner.decisions_)



def test_a_logging_backlog_cannot_starve_the_search() -> None:
    """Queued MLflow calls reserve at most a tenth of the budget (the final wait is cut at the deadline)."""
    budget = TimeBudget(total=30.0, fixed_tail=1.0, backlog=lambda: 100.0)
    assert budget.search_time_left() == pytest.approx(30.0 - 1.0 - 3.0 - 0.9, abs=0.05)


def test_the_tail_keeps_time_to_save_a_forest_and_a_boosted_model() -> None:
    """Saving a 300-tree forest (skops writes each tree apart), or the thousands of trees early stopping
    kept in a boosted model (one per class and round), is part of the time kept after the search."""
    from types import SimpleNamespace

    from automlops.core.problem import Problem, TaskType
    from automlops.search.engine import TrialOutcome
    from automlops.tabular.finalize import _save_seconds
    from automlops.tabular.zoo_boosting import BOOSTED_TREE_SAVE

    engine = SimpleNamespace(problem=Problem(TaskType.CLASSIFICATION, "y", "log_loss", "minimize", classes=(0, 1, 2)),
                             rounds_by_trial={2: 4000})
    forest = TrialOutcome(0, "random_forest", {"n_estimators": 300}, 0.9, 0.0, 1.0, 0.1, None)
    linear = TrialOutcome(1, "logistic", {"C": 1.0}, 0.9, 0.0, 0.1, 0.01, None)
    boosted = TrialOutcome(2, "lightgbm", {"n_estimators": 300}, 0.9, 0.0, 1.0, 0.1, None)
    assert _save_seconds(engine, [forest]) == pytest.approx(300 * 0.0035)
    assert _save_seconds(engine, [forest, linear]) == pytest.approx(300 * 0.0035)
    assert _save_seconds(engine, [linear]) == 0.0
    # the rounds it kept (4,000), not the searched n_estimators (300), times one tree per class
    assert _save_seconds(engine, [boosted]) == pytest.approx(4000 * 3 * BOOSTED_TREE_SAVE)


def test_the_tail_keeps_time_to_save_scikit_learns_boosted_trees() -> None:
    """HistGradientBoosting keeps each tree as a Python object with its own arrays: the rounds it ran are
    recorded like early stopping's, and its trees cost more to save than a LightGBM tree."""
    from types import SimpleNamespace

    from sklearn.datasets import load_wine

    from automlops.core.problem import Problem, TaskType
    from automlops.search.engine import Candidate, TrialOutcome
    from automlops.tabular import finalize
    from automlops.tabular.evaluate import boosted_trees, boosting_rounds, build_pipeline
    from automlops.tabular.preprocessing import plan_features
    from automlops.tabular.zoo_boosting import HIST_GB_TREE_SAVE

    frame = load_wine(as_frame=True).frame
    problem = Problem(TaskType.CLASSIFICATION, "target", "log_loss", "minimize", classes=(0, 1, 2))
    plan = plan_features(frame, problem)
    pipe = build_pipeline(Candidate("hist_gb", {"max_iter": 40, "early_stopping": False}), plan, problem,
                          seed=0).fit(frame[plan.input_columns], frame["target"])
    assert boosting_rounds(pipe) == 40
    assert boosted_trees(pipe, 3) == 40 * 3  # one tree per class and round
    engine = SimpleNamespace(problem=problem, rounds_by_trial={0: boosting_rounds(pipe)})
    assert finalize.boosted_save_seconds(engine, pipe) == pytest.approx(120 * HIST_GB_TREE_SAVE)
    searched = TrialOutcome(0, "hist_gb", {"max_iter": 40}, 0.9, 0.0, 1.0, 0.1, None)
    assert finalize._save_seconds(engine, [searched]) == pytest.approx(120 * HIST_GB_TREE_SAVE)


def test_the_save_time_of_a_fitted_boosted_model_follows_its_leaves() -> None:
    """Writing a LightGBM or XGBoost model costs per leaf, and the trees of a many-class model are small
    (a class of few rows has little to split): the estimate reads the fitted trees instead of charging
    every tree as if it had grown to its ceiling."""
    from types import SimpleNamespace

    from sklearn.datasets import load_digits

    from automlops.core.problem import Problem, TaskType
    from automlops.search.engine import Candidate
    from automlops.tabular import finalize
    from automlops.tabular.boosting_size import LEAF_SAVE_SECONDS, fitted_leaves_per_tree
    from automlops.tabular.evaluate import boosted_trees, boosters, build_pipeline
    from automlops.tabular.preprocessing import plan_features
    from automlops.tabular.zoo_boosting import BOOSTED_TREE_SAVE

    frame = load_digits(as_frame=True).frame
    classes = tuple(range(10))
    problem = Problem(TaskType.CLASSIFICATION, "target", "log_loss", "minimize", classes=classes)
    plan = plan_features(frame, problem)
    engine = SimpleNamespace(problem=problem, rounds_by_trial={})
    for model, params in [("xgboost", {"n_estimators": 40, "max_depth": 2}),
                          ("lightgbm", {"n_estimators": 40, "num_leaves": 4})]:
        pipe = build_pipeline(Candidate(model, params), plan, problem, seed=0).fit(frame[plan.input_columns],
                                                                                   frame["target"])
        (booster,) = boosters(pipe)
        leaves = fitted_leaves_per_tree(booster.estimator_)
        assert leaves is not None and 1 < leaves <= 4
        trees = boosted_trees(pipe, len(classes))
        assert finalize.boosted_save_seconds(engine, pipe) == pytest.approx(trees * leaves * LEAF_SAVE_SECONDS)
        assert finalize.boosted_save_seconds(engine, pipe) < trees * BOOSTED_TREE_SAVE / 5  # the old ceiling


def test_a_catboost_model_is_charged_its_own_binary_save_not_a_tree_by_tree_one() -> None:
    """CatBoost writes its model as one binary blob: one symmetric tree a round, a value per class at each
    of its 2^depth leaves. Charging it LightGBM's text-per-node cost made a 549-round 12-class model
    "cost" 2.0 s to save (0.14 s measured), and on males at 30 s that refused the refit on all rows."""
    from types import SimpleNamespace

    from sklearn.datasets import load_wine

    from automlops.core.problem import Problem, TaskType
    from automlops.search.engine import Candidate, TrialOutcome
    from automlops.tabular import finalize
    from automlops.tabular.boosting_size import CATBOOST_ROUND_SAVE_SECONDS, CATBOOST_VALUE_SAVE_SECONDS
    from automlops.tabular.evaluate import boosted_trees, boosting_rounds, build_pipeline
    from automlops.tabular.preprocessing import plan_features
    from automlops.tabular.zoo_boosting import BOOSTED_TREE_SAVE, CATBOOST_TREE_SAVE

    frame = load_wine(as_frame=True).frame
    problem = Problem(TaskType.CLASSIFICATION, "target", "log_loss", "minimize", classes=(0, 1, 2))
    plan = plan_features(frame, problem)
    engine = SimpleNamespace(problem=problem, rounds_by_trial={})
    estimates = {}
    for depth in (4, 6):
        pipe = build_pipeline(Candidate("catboost", {"n_estimators": 40, "depth": depth}), plan, problem,
                              seed=0).fit(frame[plan.input_columns], frame["target"])
        assert boosting_rounds(pipe) == 40 and boosted_trees(pipe, 3) == 120  # counted as one tree per class
        estimates[depth] = finalize.boosted_save_seconds(engine, pipe)
        # per round: a fixed share and one value per class at each leaf
        expected = 40 * (CATBOOST_ROUND_SAVE_SECONDS + CATBOOST_VALUE_SAVE_SECONDS * 2**depth * 3)
        assert estimates[depth] == pytest.approx(expected)
        assert estimates[depth] < 120 * BOOSTED_TREE_SAVE / 10  # the per-tree charge it replaces
    assert estimates[6] > estimates[4]  # the fitted model's depth is read
    # the tail kept while searching charges the rounds a CatBoost trial kept, at its own price
    engine.rounds_by_trial = {0: 500}
    trial = TrialOutcome(0, "catboost", {"n_estimators": 300}, 0.9, 0.0, 1.0, 0.1, None)
    assert finalize._save_seconds(engine, [trial]) == pytest.approx(500 * 3 * CATBOOST_TREE_SAVE)
