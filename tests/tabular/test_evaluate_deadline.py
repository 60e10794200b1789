"""The evaluator's deadline: a trial stops *between* folds once the next fold would not finish in time."""

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


def _evaluator(frame: pd.DataFrame) -> Evaluator:
    """A real evaluator: wine, the inferred problem and feature plan, stratified 5-fold."""
    problem = infer_problem(frame, "target")
    X, y = frame.drop(columns="target"), frame["target"]
    splits = list(StratifiedKFold(N_FOLDS, shuffle=True, random_state=0).split(X, y))
    return Evaluator(X, y, problem, plan_features(frame, problem), get_metric(problem.metric), splits, seed=0)


def _reported_steps(deadline: float | None, evaluator: Evaluator) -> tuple[list[int], BaseException | None]:
    """Evaluate one candidate under a real Optuna trial; the steps it reported, and what it raised."""
    study = optuna.create_study(direction="minimize")
    trial = study.ask()
    raised = None
    try:
        evaluator.evaluate(Candidate("logistic", {}), trial, deadline=deadline)
    except optuna.TrialPruned as exc:
        raised = exc
    return sorted(study.trials[0].intermediate_values), raised


@pytest.mark.parametrize("seconds_left", [0.001, -5.0])  # nearly passed / already passed
def test_a_passed_deadline_stops_the_trial_after_its_first_fold(wine: pd.DataFrame, seconds_left: float) -> None:
    evaluator = _evaluator(wine)
    steps, raised = _reported_steps(time.monotonic() + seconds_left, evaluator)
    assert isinstance(raised, TimeBudgetExceeded), raised
    assert isinstance(raised, optuna.TrialPruned)  # the study records it as pruned, not failed
    assert "time budget" in str(raised)
    assert steps == [1]  # the first fold always runs (some score beats none), then no other starts


@pytest.mark.parametrize("deadline", [None, "far"])
def test_without_a_near_deadline_every_fold_runs(wine: pd.DataFrame, deadline: str | None) -> None:
    evaluator = _evaluator(wine)
    steps, raised = _reported_steps(None if deadline is None else time.monotonic() + 600, evaluator)
    assert raised is None
    assert steps == list(range(1, N_FOLDS + 1))
