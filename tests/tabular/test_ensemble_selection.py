"""Caruana's ensemble selection: learned weights over out-of-fold predictions, never worse than the best
single model there, and the shipped ensemble is the weighted soft vote that was scored."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import VotingClassifier, VotingRegressor

from automlops.core.metrics import get_metric, score
from automlops.core.problem import Problem, TaskType
from automlops.tabular import AutoMLRunner
from automlops.tabular.ensemble import ensemble_selection
from automlops.tabular.evaluate import OutOfFold


def _regression_problem() -> Problem:
    return Problem(task=TaskType.REGRESSION, target="y", metric="rmse", direction="minimize")


def test_selection_finds_the_weights_that_cancel_two_opposite_errors() -> None:
    """Two members err by +1 and -1 on every row, a third is pure noise: the best blend is an equal
    mix of the first two, and the noisy one is never picked."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    rows, folds = np.arange(400), np.zeros(400, dtype=int)
    members = [OutOfFold(rows, folds, y + 1.0, None), OutOfFold(rows, folds, y - 1.0, None),
               OutOfFold(rows, folds, y + rng.normal(scale=3.0, size=400), None)]
    counts = ensemble_selection(members, _regression_problem(), y, get_metric("rmse"))
    assert counts[2] == 0
    assert counts[0] == counts[1] > 0  # equal weights: the errors cancel exactly


def test_selection_keeps_a_single_member_when_no_blend_helps() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    rows, folds = np.arange(300), np.zeros(300, dtype=int)
    perfect = OutOfFold(rows, folds, y.copy(), None)
    noisy = OutOfFold(rows, folds, y + rng.normal(size=300), None)
    counts = ensemble_selection([noisy, perfect], _regression_problem(), y, get_metric("rmse"))
    assert counts.tolist() == [0, 1]  # the best round is the first: the perfect member alone


@pytest.mark.parametrize("loader,estimator", [("wine", VotingClassifier), ("diabetes", VotingRegressor)])
def test_the_default_preset_ships_the_selected_weighted_vote(request: pytest.FixtureRequest, loader: str,
                                                              estimator: type) -> None:
    frame: pd.DataFrame = request.getfixturevalue(loader)
    models = ["logistic", "knn", "decision_tree"] if loader == "wine" else ["ridge", "knn", "decision_tree"]
    runner = AutoMLRunner("target", models=models, n_trials=6, ensemble="weighted", refit_full=False).fit(frame)
    row = runner.leaderboard_[runner.leaderboard_["model"].str.startswith("weighted(")]
    assert len(row) == 1, runner.decisions_
    params = row["params"].iloc[0]
    assert sum(params["weights"]) == pytest.approx(1.0) and len(params["weights"]) == len(params["members"]) >= 2
    single = runner.leaderboard_[~runner.leaderboard_["model"].str.contains(r"\(")]["score"]
    best_single = single.max() if runner.problem_.direction == "maximize" else single.min()
    ensemble_score = float(row["score"].iloc[0])
    assert (ensemble_score >= best_single) if runner.problem_.direction == "maximize" else (ensemble_score <= best_single)
    assert any("ensemble selection" in d.message for d in runner.decisions_)
    est = runner.best_estimator_
    assert isinstance(est, estimator) and list(est.weights) == pytest.approx(params["weights"])
    assert [name for name, _ in est.estimators] == params["members"]
    # the shipped vote is what was tested: its test score is reproduced from its own predictions
    test = frame.iloc[runner.test_rows_]
    X = test[runner.plan_.input_columns]
    proba = est.predict_proba(X) if loader == "wine" else None
    got = score(get_metric(runner.problem_.metric), test["target"].to_numpy(), est.predict(X), proba,
                list(runner.problem_.classes))
    assert got == pytest.approx(runner.test_score_, abs=1e-9)


def test_time_reserved_for_the_blend_follows_what_the_selection_keeps(diabetes: pd.DataFrame) -> None:
    """The budget's tail plans the refit of the members ensemble selection keeps now, not of "the top
    three": a slow model the selection leaves out must not hold back search time."""
    import dataclasses

    from automlops.search.trials import best_per_model
    from automlops.tabular import finalize

    runner = AutoMLRunner("target", models=["ridge", "knn", "decision_tree"], n_trials=6, ensemble="weighted",
                          refit_full=False).fit(diabetes)
    engine = runner.engine_
    ranked = best_per_model(runner.study_, maximize=False)
    engine.selection_plan = finalize.SelectionPlan()
    kept = {o.model for o in engine.selection_plan.members_of(engine, list(ranked))}
    assert kept == set(runner.leaderboard_.query("model.str.startswith('weighted(')")["params"].iloc[0]["members"])
    assert len(kept) < len(ranked)  # the selection left a model out (else this test proves nothing)
    # make every model the selection left out look very slow: the tail must not change
    slow = [o if o.model in kept else dataclasses.replace(o, fit_seconds=1e4) for o in ranked]
    engine.selection_plan = finalize.SelectionPlan()
    assert finalize.tail_seconds(engine, slow) == pytest.approx(finalize.tail_seconds(engine, ranked))
    assert finalize.tail_seconds(engine, slow) < 1e4


def test_members_left_out_for_time_are_named_with_what_the_best_model_costs(diabetes: pd.DataFrame) -> None:
    """When the blend's fits for the test would overrun, its costliest members leave one by one; the decision names
    them and what the best model's own fits take of the time left (on caravan the best model, a late
    random forest, was the real cost, and the note read as if 0.2 s logistic fits had been too slow)."""
    import dataclasses
    import time

    from automlops.search.budget import TimeBudget
    from automlops.search.trials import best_per_model
    from automlops.tabular import finalize

    runner = AutoMLRunner("target", models=["ridge", "knn", "decision_tree"], n_trials=6, ensemble="weighted",
                          refit_full=False).fit(diabetes)
    engine = runner.engine_
    ranked = list(best_per_model(runner.study_, maximize=False))
    best = ranked[0]
    pool = [o if o is best else dataclasses.replace(o, fit_seconds=1e4) for o in ranked]  # too slow for the time left
    engine.selection_plan = finalize.SelectionPlan()
    decisions: list[tuple[str, str]] = []
    budget = TimeBudget(total=60.0, started=time.monotonic() - 30.0)  # 30 s left
    members, weights = finalize._affordable_selection(engine, pool, lambda kind, text: decisions.append((kind, text)),
                                                      budget)
    assert [o.model for o in members] == [best.model] and weights == (1.0,)
    (text,) = [t for kind, t in decisions if kind == "ensemble"]
    found = re.search(r"left out for time \(fitting them for the test would overrun the budget\): (.+) \(the best model, (\w+), "
                      r"alone needs ~([\d.]+) s of the ([\d.]+) s left\)", text)
    assert found is not None, text
    assert found.group(1) and best.model not in found.group(1).split(", ")  # a slow member left, never the best
    assert found.group(2) == best.model and float(found.group(3)) < 5  # a cheap model, and it says so
    assert 25 < float(found.group(4)) <= 28  # 30 s to the deadline, less the fixed tail (saving, logging)


def test_a_member_is_kept_when_its_fit_for_the_test_fits_even_if_its_refit_would_not(diabetes: pd.DataFrame) -> None:
    """The refit on all rows is done member by member under the deadline (blend_refit), so the selection
    only pays for what a blend cannot do without: fitting the members for the test score and saving
    them. A member whose test fit takes ~70 % of the time left stays (counting its refit as well, it
    would take ~150 % and leave: on diamonds that cost the blend CatBoost and 1.5 % RMSE)."""
    import dataclasses
    import time

    from automlops.search.budget import TimeBudget
    from automlops.search.trials import best_per_model
    from automlops.tabular import finalize

    runner = AutoMLRunner("target", models=["ridge", "knn", "decision_tree"], n_trials=6, ensemble="weighted",
                          refit_full=True).fit(diabetes)
    engine = runner.engine_
    ranked = list(best_per_model(runner.study_, maximize=False))
    engine.selection_plan = finalize.SelectionPlan()
    unlimited, _ = finalize._affordable_selection(engine, ranked, lambda kind, text: None, TimeBudget(total=None))
    assert len(unlimited) >= 2, "the test needs a blend of two or more members"

    def slowed(seconds: float) -> list:
        return [o if o is ranked[0] else dataclasses.replace(o, fit_seconds=seconds, predict_seconds=0.0)
                for o in ranked]

    budget = TimeBudget(total=60.0, started=time.monotonic() - 30.0)
    left = budget.deadline - time.monotonic() - budget.fixed_tail  # type: ignore[operator]
    members_of = {o.model for o in unlimited}

    def required(seconds: float) -> float:  # fitting the members for the test score, and saving them
        members = [o for o in slowed(seconds) if o.model in members_of]
        return finalize._fit_seconds(engine, members, "weighted") + finalize._save_seconds(engine, members)

    # the estimate is linear in the members' fit time: solve for a blend that takes 70 % of the time left
    base, per_second = required(0.0), required(1.0) - required(0.0)
    pool = slowed((0.7 * left - base) / per_second)
    decisions: list[tuple[str, str]] = []
    engine.selection_plan = finalize.SelectionPlan()
    members, _ = finalize._affordable_selection(engine, pool, lambda kind, text: decisions.append((kind, text)),
                                                budget)
    assert {o.model for o in members} == members_of
    assert not any("left out for time" in text for _, text in decisions), decisions
    refit_too = finalize._fit_seconds(engine, [o for o in pool if o.model in members_of], "weighted") \
        * finalize.all_rows_ratio(engine)
    assert 0.7 * left + refit_too > left  # counting the refit too, the blend would not have fitted
