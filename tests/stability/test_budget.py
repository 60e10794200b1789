"""The time budget covers the whole analysis, the randomness probe included.

The probe (two fits on the validation split, the first two seed refits) used to run before the
refits, outside the budget and with no deadline: on a 50k-row model it alone took longer than the
budget, and the refits then all failed at a deadline long past. Real data: breast_cancer, and a
random forest large enough that one fit takes seconds.
"""

from __future__ import annotations

import time

import pytest
from sklearn.datasets import load_breast_cancer

from automlops.errors import ConfigError
from automlops.search.engine import Candidate
from automlops.stability.analysis import analyze
from automlops.stability.tabular import leaderboard_subject
from automlops.tabular.runner import AutoMLRunner

pytestmark = pytest.mark.serial


@pytest.fixture(scope="module")
def big_forest() -> AutoMLRunner:
    frame = load_breast_cancer(as_frame=True).frame
    return AutoMLRunner("target", models=["random_forest"], n_trials=1, ensemble="none", preset="fast").fit(frame)


def test_a_probe_longer_than_the_budget_stops_at_its_deadline_and_says_so(big_forest: AutoMLRunner) -> None:
    subject = leaderboard_subject(big_forest, 0)
    budget = 1.0 + 2 * (subject.fit_seconds or 0.0)  # room for the searched forest: the budget check passes
    subject.members = [Candidate("random_forest", {**subject.members[0].params, "n_estimators": 20_000})]
    started = time.monotonic()
    with pytest.raises(ConfigError, match="too small for even one refit.*still running"):
        analyze(subject, seeds=2, time_budget=budget, n_jobs=1)
    assert time.monotonic() - started < budget + 2.0  # the two 20,000-tree fits alone take many times longer


def test_the_budget_clock_starts_before_the_analysis(big_forest: AutoMLRunner) -> None:
    """A command starts the clock before loading: time already spent counts against the budget."""
    subject = leaderboard_subject(big_forest, 0)
    with pytest.raises(ConfigError, match="too small for even one refit"):
        analyze(subject, splits=3, time_budget=5.0, n_jobs=1, started=time.monotonic() - 5.5)
