"""The Search lab page (AppTest): empty lake, the form, a finished lab read back from the analysis
table, a failed one, and (slow) a real lab started from the page, followed, cancelled."""

from __future__ import annotations

import json
import math
import os
import time

import pytest
from streamlit.testing.v1 import AppTest

from automlops.config import Settings
from automlops.lab.runner import _result
from automlops.lab.types import LabResult, LabRun, TrialPoint
from automlops.mlops.lake import DataLake
from automlops.ui import analysis_jobs
from automlops.ui.analysis_store import AnalysisStore
from tests.ui.helpers import REPO, assert_clean, run_until, texts

PAGE = str(REPO / "automlops/ui/pages/lab.py")
JOB_KEY = "automlops.lab_job_id"


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


def _run(strategy: str, seed: int, test: float) -> LabRun:
    history, best = [], -math.inf
    for i, (sec, value) in enumerate([(0.5, 0.90), (1.5, 0.93 + seed / 100)]):
        best = max(best, value)
        history.append(TrialPoint(i, sec, "COMPLETE", value, best, 5, "logistic"))
    return LabRun(strategy, seed, test, best, "logistic", 3.2, 3.0, 2, 2, 0, 0, 0, 0.0, 5, tuple(history))


def _finished_lab() -> LabResult:
    runs = [_run(s, seed, 0.95 + seed / 100 + (0.004 if s == "tpe" else 0.0)) for seed in range(3)
            for s in ("tpe", "random")]
    return _result(runs, ["tpe", "random"], [0, 1, 2], metric="roc_auc", direction="maximize", budget=4.0,
                   repeats=3, decisions=["two strategies × three seeds"], seconds=21.0, cancelled=False,
                   dataset="iris@v1", target="target")


def _store_job(settings: Settings, status: str, *, result: LabResult | None = None, error: str | None = None) -> str:
    store = AnalysisStore(settings.home.resolve() / "analyses.db")
    job_id = f"{os.getpid():x}{time.time_ns() % 10**8:x}"[:12]
    params = {"dataset": "iris", "version": 1, "target": "target", "budget": 4.0, "repeats": 3,
              "strategies": ["tpe", "random"], "seed": 0, "preset": "fast", "models": None}
    store.add(job_id, "lab", analysis_jobs.ANALYSES["lab"], json.dumps(params), created=time.time(),
              owner_pid=os.getpid(), owner_started=None)
    store.update(job_id, status=status, progress=1.0, ended=time.time(), error=error,
                 result=json.dumps(result.to_dict()) if result is not None else None)
    return job_id


def test_empty_lake_says_what_to_do(settings: Settings) -> None:
    at = _page().run()
    assert_clean(at)
    assert any("data lake is empty" in t for t in texts(at.info))
    assert not [b for b in at.button if b.key == "lab_start"]


def test_form_estimates_the_time_and_refuses_no_strategy(iris_lake: DataLake, settings: Settings) -> None:
    at = _page().run()
    assert_clean(at)
    assert at.selectbox(key="lab_target_iris").value == "target"
    at.number_input(key="lab_budget").set_value(10.0)
    at.number_input(key="lab_repeats").set_value(2)
    at.multiselect(key="lab_strategies").set_value(["tpe", "hyperband"])
    at.run()
    assert any("2 strategies × 2 seeds = 4 runs of 10 s" in t for t in texts(at.caption))
    at.multiselect(key="lab_strategies").set_value([])
    at.run()
    at.button(key="lab_start").click().run()
    assert "Pick at least one strategy." in texts(at.error)
    assert analysis_jobs.recent("lab", settings=settings) == []


def test_finished_lab_shows_verdict_table_curves_and_downloads(settings: Settings) -> None:
    lab = _finished_lab()
    at = _page()
    at.session_state[JOB_KEY] = _store_job(settings, "finished", result=lab)
    at.run()
    assert_clean(at)
    assert lab.verdict in texts(at.success)
    table = at.dataframe[0].value
    assert list(table["strategy"]) == ["tpe", "random"]
    assert len(at.get("plotly_chart")) == 3  # convergence vs time, vs trials, test scores
    assert len(at.get("download_button")) == 2
    assert at.button(key="lab_hide").click().run().session_state[JOB_KEY] is None


def test_failed_lab_shows_its_message_not_a_traceback(settings: Settings) -> None:
    at = _page()
    at.session_state[JOB_KEY] = _store_job(settings, "failed", error="target column 'x' is not in the data")
    at.run()
    assert_clean(at)
    assert any("target column 'x' is not in the data" in t for t in texts(at.error))


def _start(at: AppTest, budget: float, strategies: list[str]) -> AppTest:
    at.number_input(key="lab_budget").set_value(budget)
    at.number_input(key="lab_repeats").set_value(2)
    at.selectbox(key="lab_preset").set_value("fast")
    at.multiselect(key="lab_strategies").set_value(strategies)
    at.run()
    return at.button(key="lab_start").click().run()


@pytest.mark.slow
def test_start_follow_and_finish_a_real_lab(iris_lake: DataLake, settings: Settings) -> None:
    at = _start(_page().run(), 3.0, ["random", "qmc"])
    assert_clean(at)
    job_id = at.session_state[JOB_KEY]
    assert job_id and [b for b in at.button if b.key == "lab_cancel"]
    run_until(at, lambda a: bool(a.success) or bool(a.error), timeout=240)
    assert_clean(at)
    snap = analysis_jobs.get(job_id, settings=settings)
    assert snap is not None and snap.status == "finished"
    assert len(LabResult.from_dict(snap.result).runs) == 4
    assert list(at.dataframe[0].value["strategy"]) == ["random", "qmc"]


@pytest.mark.slow
def test_cancel_keeps_the_runs_that_finished(iris_lake: DataLake, settings: Settings) -> None:
    at = _start(_page().run(), 6.0, ["tpe", "random"])
    job_id = at.session_state[JOB_KEY]
    deadline = time.monotonic() + 180
    while "run 2/" not in ((snap := analysis_jobs.get(job_id, settings=settings)).message or ""):
        assert snap.running and time.monotonic() < deadline, snap
        time.sleep(0.5)
    at.run()
    at.button(key="lab_cancel").click().run()
    run_until(at, lambda a: not any(b.key == "lab_cancel" for b in a.button), timeout=60)
    snap = analysis_jobs.get(job_id, settings=settings)
    assert snap is not None and snap.status == "cancelled"
    result = LabResult.from_dict(snap.result)
    assert result.cancelled and 1 <= len(result.runs) < 4
    assert any("comparison below covers the runs that finished" in t for t in texts(at.warning))
