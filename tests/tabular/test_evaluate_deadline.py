"""The evaluator's deadline: a trial stops *between* folds once the next fold would not finish in time,
and a fold still fitting at the deadline is interrupted."""

from __future__ import annotations

import time

import optuna
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from automlops.core.metrics import get_metric
from automlops.core.problem import infer_problem
from automlops.tabular.evaluate import Evaluator, TimeBudgetExceeded
from automlops.tabular.preprocessing import plan_features
from automlops.tabular.search import Candidate

N_FOLDS = 5
LOGISTIC = Candidate("logistic", {})


def _evaluator(frame: pd.DataFrame) -> Evaluator:
    """A real evaluator: wine, the inferred problem and feature plan, stratified 5-fold."""
    problem = infer_problem(frame, "target")
    X, y = frame.drop(columns="target"), frame["target"]
    splits = list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(X, y))
    return Evaluator(X, y, problem, plan_features(frame, problem), get_metric(problem.metric), splits, seed=0)


def _reported_steps(deadline: float | None, evaluator: Evaluator, candidate: Candidate = LOGISTIC
                    ) -> tuple[list[int], BaseException | None]:
    """Evaluate one candidate under a real Optuna trial; the steps it reported, and what it raised."""
    study = optuna.create_study(direction="minimize")
    trial = study.ask()
    raised = None
    try:
        evaluator.evaluate(candidate, trial, deadline=deadline)
    except optuna.TrialPruned as exc:
        raised = exc
    return sorted(study.trials[0].intermediate_values), raised


def test_a_passed_deadline_stops_the_trial_before_any_fold(wine: pd.DataFrame) -> None:
    steps, raised = _reported_steps(time.monotonic() - 5.0, _evaluator(wine))
    assert isinstance(raised, TimeBudgetExceeded), raised
    assert isinstance(raised, optuna.TrialPruned)  # the study records it as pruned, not failed
    assert "time budget" in str(raised)
    assert steps == []


def test_a_fold_still_fitting_at_the_deadline_is_interrupted(wine: pd.DataFrame) -> None:
    """5,000 trees take several seconds even on wine; the deadline comes after 0.3 s."""
    huge_forest = Candidate("random_forest", {"n_estimators": 5000, "max_features": 1.0, "min_samples_leaf": 1})
    started = time.monotonic()
    steps, raised = _reported_steps(started + 0.3, _evaluator(wine), huge_forest)
    stopped_after = time.monotonic() - started
    assert isinstance(raised, TimeBudgetExceeded) and "stopped at the time budget's deadline" in str(raised)
    assert steps == []  # the first fold never finished
    assert stopped_after < 1.5, stopped_after


def test_a_fold_that_would_not_finish_is_not_started(wine: pd.DataFrame) -> None:
    """After one fold, the deadline is nearer than one fold's fit time: the trial stops between folds."""
    evaluator = _evaluator(wine)
    forest = Candidate("random_forest", {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 1})
    t0 = time.monotonic()
    evaluator._fit_predict(forest, *evaluator.splits[0])
    one_fold = time.monotonic() - t0
    steps, raised = _reported_steps(time.monotonic() + 1.5 * one_fold, evaluator, forest)
    assert isinstance(raised, TimeBudgetExceeded), raised
    assert steps == [1]


@pytest.mark.parametrize("deadline", [None, "far"])
def test_without_a_near_deadline_every_fold_runs(wine: pd.DataFrame, deadline: str | None) -> None:
    evaluator = _evaluator(wine)
    steps, raised = _reported_steps(None if deadline is None else time.monotonic() + 600, evaluator)
    assert raised is None
    assert steps == list(range(1, N_FOLDS + 1))


def test_a_boosting_trial_near_its_deadline_finishes_with_fewer_trees() -> None:
    """Boosting is asked to wrap up before the deadline: a trial that would have been thrown away
    at the deadline finishes, scored fairly on its validation rows, instead of being pruned."""
    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True).frame.rename(columns={"target": "digit"})
    digits = pd.concat([digits, digits], ignore_index=True)  # 3,594 rows: enough for early stopping
    digits["target"] = digits.pop("digit") >= 5
    problem = infer_problem(digits, "target")
    X, y = digits.drop(columns="target"), digits["target"]
    splits = list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(X, y))[:1]  # one holdout
    evaluator = Evaluator(X, y, problem, plan_features(digits, problem), get_metric(problem.metric), splits, seed=0)
    slow = Candidate("lightgbm", {"learning_rate": 0.001, "num_leaves": 63, "min_child_samples": 5})
    started = time.monotonic()
    result = evaluator.evaluate(slow, None, deadline=started + 2.0)
    assert time.monotonic() - started < 2.0
    assert 0.5 < result.mean <= 1.0  # ROC-AUC of a real model, not of a constant
    model = evaluator.take_fitted().named_steps["model"]  # the early-stopped LightGBM
    assert model.stopped_for_time_ and model.n_rounds_ < model.max_rounds
