"""Cross-validation is kept only when timing the warm start's first fits says the budget affords it
(automlops.tabular.validation_cost), and those fits are never made twice."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from automlops.core.metrics import get_metric, score
from automlops.search.engine import DecisionLog
from automlops.tabular.engine import TabularEngine

BUDGET = 600.0  # digits: 1,437 rows × 64 columns × 10 classes = 919k cells, "small" for 600 s


@pytest.fixture(scope="module")
def digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    data = load_digits(as_frame=True)
    return data.frame.rename(columns={"target": "digit"})


def _prepared(frame: pd.DataFrame, seconds_left: float, *, shared: bool = False) -> TabularEngine:
    engine = TabularEngine("digit", models=["lightgbm", "logistic"])
    engine.shared_study = shared
    engine.prepare(frame, DecisionLog(lambda event: None, lambda: BUDGET - seconds_left, lambda: BUDGET))
    return engine


def test_affordable_folds_are_kept_and_the_probe_fits_serve_their_trials(digits: pd.DataFrame) -> None:
    engine = _prepared(digits, BUDGET)
    assert engine.validation.kind == "stratified" and engine.validation.n_splits == 5
    assert "took" in engine.validation.reason and "fit in 25%" in engine.validation.reason
    ready = dict(engine.evaluator.ready)
    assert {key[0] for key in ready} == {"lightgbm", "logistic"} and {key[2] for key in ready} == {0}

    study = optuna.create_study(direction="minimize")
    engine.warm_start(study)
    candidate = engine.suggest(study.ask())  # the warm start's first trial, as the search would run it
    assert candidate.model == "lightgbm"
    evaluation = engine.evaluate(candidate, None, None)
    ahead = next(fit for key, fit in ready.items() if key[0] == "lightgbm")
    _, val = engine.evaluator.splits[0]
    fold0 = score(get_metric("log_loss"), engine.y.iloc[val].to_numpy(), ahead.pred, ahead.proba,
                  list(engine.problem.classes))
    assert evaluation.fold_scores[0] == pytest.approx(fold0)  # fold 1 of 5 is the fit made ahead...
    assert len(evaluation.fold_scores) == 5
    assert not any(key[0] == "lightgbm" for key in engine.evaluator.ready)  # ...used once, then released


def test_folds_the_budget_cannot_afford_become_one_holdout_the_first_fold(digits: pd.DataFrame) -> None:
    engine = _prepared(digits, 0.5)  # 0.5 s left: the first defaults cannot fit in a quarter of it
    plan = engine.validation
    assert plan.kind == "holdout_stratified" and plan.first_fold_of == "stratified"
    assert "first of the 5 folds is one 20% holdout" in plan.reason
    (train, val), = engine.evaluator.splits
    first = next(iter(StratifiedKFold(5, shuffle=True, random_state=0).split(engine.X, engine.y)))
    assert np.array_equal(train, first[0]) and np.array_equal(val, first[1])
    assert [np.array_equal(v, val) for _, v in plan.splits(engine.X, engine.y, 0)] == [True]


def test_a_shared_study_keeps_the_folds_its_workers_agree_on(digits: pd.DataFrame) -> None:
    engine = _prepared(digits, 0.5, shared=True)  # timings differ between workers: no probe
    assert engine.validation.kind == "stratified" and engine.evaluator.ready == {}
