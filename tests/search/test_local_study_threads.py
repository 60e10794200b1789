"""Processes sharing a study on this machine share its cores: their boosting fits take one thread each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from automlops.search.storage import is_local_storage
from automlops.tabular import AutoMLRunner


@pytest.mark.parametrize(("url", "local"), [
    ("sqlite:////home/me/.automlops/hpo.db", True), ("postgresql://hpo:pw@127.0.0.1:5432/hpo", True),
    ("postgresql+psycopg2://hpo@localhost/hpo", True), ("postgresql:///hpo", True),
    ("postgresql://hpo:pw@db.example.com:5432/hpo", False), ("postgresql://hpo:pw@postgres/hpo", False),
])
def test_which_storages_are_on_this_machine(url: str, local: bool) -> None:
    assert is_local_storage(url) is local


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: a fit never takes more than one thread")
def test_a_study_on_this_machine_fits_lightgbm_on_one_thread(tmp_path: Path) -> None:
    """A LightGBM trial on 16k rows takes every core when it runs alone; in a study whose storage is on this
    machine (`automlops worker` "as many as you have cores") each process would then run a thread per core,
    and LightGBM's threads spin-wait on each other (a 4 s fit took 50 s beside one other process)."""
    import statsmodels.api as sm

    data = sm.datasets.randhie.load_pandas().data
    options = dict(preset="fast", models=["lightgbm"], n_trials=1, ensemble="none", validation="holdout")
    alone = AutoMLRunner("mdvis", **options).fit(data)
    shared = AutoMLRunner("mdvis", storage=f"sqlite:///{tmp_path / 'hpo.db'}", study_name="threads",
                          **options).fit(data)

    def threads(runner: AutoMLRunner) -> int:
        return int(runner.scored_estimator_[-1].estimator_.booster_.params["num_threads"])

    assert threads(alone) == min(len(os.sched_getaffinity(0)), 4) and threads(shared) == 1
