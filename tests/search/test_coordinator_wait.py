"""A coordinator whose search closes before any trial finished waits for the trials workers still run.

On another machine a worker may be seconds from the first result when the coordinator's budget ends;
failing with "no trial finished" would throw the whole search away. The coordinator waits while a
trial runs (within the budget's 10 % tolerance) and ships what that worker finds.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import optuna
import pytest
from sklearn.datasets import load_breast_cancer

from automlops.search.driver import DriverConfig, SearchDriver
from automlops.search.storage import open_storage
from automlops.tabular.engine import TabularData, TabularEngine

# study.ask() outside optimize() has no heartbeat thread; Optuna warns about it once per ask
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")


def _coordinator(url: str, budget: float) -> SearchDriver:
    driver = SearchDriver(TabularEngine("target", preset="fast", models=["knn"]),
                          DriverConfig(preset="fast", time_budget=budget, storage=url, study_name="s"))
    driver.plan = driver.engine.prepare(TabularData(load_breast_cancer(as_frame=True).frame), driver.log)
    driver.budget.total = budget
    return driver


def _running_trial(url: str) -> tuple[optuna.Study, optuna.Trial]:
    study = optuna.create_study(storage=open_storage(url), study_name="s", direction="maximize",
                                load_if_exists=True)
    trial = study.ask()  # another worker's trial: running, not finished yet
    trial.set_user_attr("model", "knn")
    trial.set_user_attr("params", {"n_neighbors": 5})
    return study, trial


def test_waits_for_a_trial_another_worker_is_running(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study, trial = _running_trial(url)
    driver = _coordinator(url, budget=60.0)
    finisher = threading.Timer(1.5, lambda: study.tell(trial, 0.93))
    finisher.start()
    started = time.monotonic()
    ranked = driver._await_running(study)
    finisher.join()
    assert [r.model for r in ranked] == ["knn"] and ranked[0].value == pytest.approx(0.93)
    assert 1.0 < time.monotonic() - started < 30
    assert any("waited" in d.message for d in driver.log.items)


def test_gives_up_when_the_budget_tolerance_is_spent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study, _ = _running_trial(url)  # never finishes
    driver = _coordinator(url, budget=1.0)  # 10 % tolerance: waits until 1.1 s after the start at most
    started = time.monotonic()
    assert driver._await_running(study) == []
    assert time.monotonic() - started < 5
