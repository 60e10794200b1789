"""A trial whose worker dies before Optuna's heartbeat thread writes anything is still found and retried.

Optuna starts a trial, then a thread that writes its heartbeats. A worker killed in between (a
``kill -9`` right after a trial finished lands there) used to leave a RUNNING trial with no
heartbeat row, which Optuna's stale-trial check skips for ever: it was never failed nor retried, and
a coordinator could wait on it. ``study.ask()`` without ``optimize`` is exactly that state – a
started trial, no heartbeat thread – so these tests ask, never tell, and let the grace period pass.
Both databases the studio supports: the embedded SQLite file and PostgreSQL.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from automlops.config import Settings
from automlops.search.storage import open_storage

GRACE = 1.0
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")


@pytest.fixture(params=["sqlite", "postgresql"])
def study(request: pytest.FixtureRequest, tmp_path: Path) -> optuna.Study:
    url = f"sqlite:///{tmp_path / 'hpo.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_database")
    settings = Settings(hpo_heartbeat_interval=1, hpo_grace_period=GRACE, hpo_max_retry=1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="s", storage=open_storage(url, settings))


def _after_the_grace_period(study: optuna.Study) -> dict[int, optuna.trial.FrozenTrial]:
    time.sleep(GRACE + 1.5)  # the database's clock has whole-second resolution on SQLite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # what every process does before it starts a trial
    return {t.number: t for t in study.get_trials()}


def test_a_new_trial_abandoned_before_its_first_heartbeat_is_failed_and_retried(study: optuna.Study) -> None:
    dead = study.ask()
    dead.suggest_int("depth", 2, 12)
    trials = _after_the_grace_period(study)
    assert trials[dead.number].state is TrialState.FAIL
    retry = [t for t in trials.values() if t.system_attrs.get("failed_trial") == dead.number]
    assert len(retry) == 1 and retry[0].state is TrialState.WAITING and retry[0].params == dead.params


def test_a_queued_trial_taken_and_abandoned_before_its_first_heartbeat_is_retried(study: optuna.Study) -> None:
    study.enqueue_trial({"depth": 7})
    dead = study.ask()  # takes the queued trial: WAITING -> RUNNING
    assert dead.suggest_int("depth", 2, 12) == 7
    trials = _after_the_grace_period(study)
    assert trials[dead.number].state is TrialState.FAIL
    retry = [t for t in trials.values() if t.system_attrs.get("failed_trial") == dead.number]
    assert len(retry) == 1 and retry[0].state is TrialState.WAITING and retry[0].params == {"depth": 7}
    again = study.ask()  # and the retry is taken like any queued trial, once
    assert again.number == retry[0].number and again.suggest_int("depth", 2, 12) == 7
    assert [t.number for t in study.get_trials(states=(TrialState.WAITING,))] == []


def test_a_live_trial_is_not_failed(study: optuna.Study) -> None:
    def objective(trial: optuna.Trial) -> float:
        running = _after_the_grace_period(study)  # checked while this trial runs, longer than the grace period
        assert running[trial.number].state is TrialState.RUNNING  # its heartbeat thread kept it alive
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, n_trials=1)
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE]
