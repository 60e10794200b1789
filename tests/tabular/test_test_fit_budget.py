"""The fit for the test score keeps to the time budget: boosting inside a blend wraps up in time."""

from __future__ import annotations

import time

import pandas as pd

from automlops.search.budget import TimeBudget
from automlops.search.engine import Candidate, Choice, DecisionLog
from automlops.tabular import AutoMLRunner, final_fit


def test_a_blends_slow_boosting_member_wraps_up_within_the_budget(cancer: pd.DataFrame) -> None:
    """A LightGBM at learning rate 0.0005 would run its 10,000 early-stopping rounds (~10 s here);
    fitted for the test score with 4 s left, it stops adding trees at half the time left."""
    rows = pd.concat([cancer] * 6, ignore_index=True)  # 2,700 training rows: boosting early-stops (>= 2,000)
    runner = AutoMLRunner("target", preset="fast", models=["logistic", "lightgbm"], n_trials=2,
                          ensemble="voting").fit(rows)
    engine = runner.engine_
    engine.refit_full = False  # the refit has its own deadline (tested elsewhere): only the test fit here
    slow = Candidate("lightgbm", {"learning_rate": 0.0005})
    choice = Choice("weighted(lightgbm, logistic)", {"weights": [0.5, 0.5]}, 0.0, 0.0,
                    recipe=[slow, Candidate("logistic", {})])
    log = DecisionLog(lambda event: None, lambda: 0.0, lambda: 60.0)
    budget = TimeBudget(4.0, fixed_tail=0.3)
    started = time.monotonic()
    finalized = final_fit.fit_final(engine, choice, log, budget)
    assert time.monotonic() - started < 4.0
    booster = finalized.artifact.obj.named_estimators_["lightgbm"].steps[-1][1]
    booster = booster if hasattr(booster, "n_rounds_") else booster.estimator_  # through a label-encoding wrapper
    assert booster.stopped_for_time_ and 0 < booster.n_rounds_ < 10_000
