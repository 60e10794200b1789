"""The time budget: what the search may spend, and what is kept for the work after it."""

from __future__ import annotations

import time

from sklearn.datasets import load_iris
from sklearn.ensemble import StackingClassifier

from automlops.search.budget import TimeBudget
from automlops.tabular import AutoMLRunner


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
    runner = AutoMLRunner("target", preset="fast", models=["knn"], n_trials=2, refit_full=True).fit(df)
    assert runner.best_estimator_.named_steps["model"].n_samples_fit_ == len(df)
    assert any("refitted the final model on all 150 rows" in d.message for d in runner.decisions_)
    plain = AutoMLRunner("target", preset="fast", models=["knn"], n_trials=2).fit(df)
    assert plain.best_estimator_.named_steps["model"].n_samples_fit_ == len(df) - plain.n_test_rows_


def test_budget_is_kept_by_the_runner_with_an_ensemble() -> None:
    """Light members leave time to stack them: the stack is built, fitted, and the budget still holds."""
    df = load_iris(as_frame=True).frame
    budget = 4.0
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

