"""A budget that start-up and preparing already spent is refused before any trial, naming one that would do."""

from __future__ import annotations

import time

import pytest
from sklearn.datasets import load_diabetes

from automlops.errors import ConfigError
from automlops.tabular import AutoMLRunner


def test_a_budget_spent_before_the_search_is_refused_with_one_that_would_do() -> None:
    started = time.monotonic() - 10  # the command's start-up took 10 s of a 5 s budget
    with pytest.raises(ConfigError, match=r"5 s is too small here: start-up and preparing the data took 1\d\.\d s"
                                          r".*give at least --time-budget \d+"):
        AutoMLRunner("target", models=["ridge"], time_budget=5, started_at=started).fit(
            load_diabetes(as_frame=True).frame)
    assert time.monotonic() - started < 10 + 5  # refused at once, not when the budget had run out


def test_a_budget_with_time_left_is_not_refused() -> None:
    runner = AutoMLRunner("target", models=["ridge"], time_budget=6, started_at=time.monotonic() - 1).fit(
        load_diabetes(as_frame=True).frame)
    assert runner.best_model_name_ == "ridge"
