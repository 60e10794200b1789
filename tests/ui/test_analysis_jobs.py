"""Background analyses in spawned worker processes: progress, result, cancel, kill, crash, queue, restart.

The job functions below are real ones, registered for the test under their own kinds; the spawned
workers import them from this module (the worker gets the ``"module:function"`` name).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from automlops.config import Settings
from automlops.errors import ConfigError, DataError
from automlops.ui import analysis_jobs
from automlops.ui.analysis_store import AnalysisStore
from automlops.ui.job_process import process_alive

HERE = "tests.ui.test_analysis_jobs"


# ---------------------------------------------------------------------- job functions (run in the worker)
def count_job(params: dict[str, Any], report: Callable[[float, str], None], cancelled: Callable[[], bool]) -> dict:
    """Counts ``steps`` steps of ``sleep`` seconds; stops early when cancelled."""
    done = 0
    for step in range(params["steps"]):
        if cancelled():
            return {"steps": done, "cancelled": True, "pid": os.getpid()}
        time.sleep(params.get("sleep", 0.0))
        done = step + 1
        report(done / params["steps"], f"step {done} of {params['steps']}")
    return {"steps": done, "pid": os.getpid(), "echo": params.get("echo")}


def failing_job(params: dict[str, Any], report: Callable[[float, str], None], cancelled: Callable[[], bool]) -> dict:
    report(0.5, "reading the data")
    raise DataError("column 'petal_width' is gone from the dataset")


def buggy_job(params: dict[str, Any], report: Callable[[float, str], None], cancelled: Callable[[], bool]) -> dict:
    return {"value": 1 / len(params.get("rows", []))}  # ZeroDivisionError: a bug, not a user error


def crashing_job(params: dict[str, Any], report: Callable[[float, str], None], cancelled: Callable[[], bool]) -> dict:
    report(0.2, "about to crash")
    time.sleep(0.3)  # let the progress reach the table
    os._exit(3)  # like an out-of-memory kill: no outcome written


def stubborn_job(params: dict[str, Any], report: Callable[[float, str], None], cancelled: Callable[[], bool]) -> dict:
    """Starts a child process, reports its pid, and never looks at ``cancelled``."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    report(0.1, f"child {child.pid}")
    time.sleep(120)
    return {}


KINDS = {"t-count": count_job, "t-fail": failing_job, "t-bug": buggy_job, "t-crash": crashing_job,
         "t-stubborn": stubborn_job}


@pytest.fixture
def settings(home: Path) -> Settings:
    """A fresh studio home (no dashboard warm-up needed: no page runs here)."""
    return Settings()


@pytest.fixture(autouse=True)
def registered_kinds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for kind, function in KINDS.items():
        monkeypatch.setitem(analysis_jobs.ANALYSES, kind, f"{HERE}:{function.__name__}")
    yield


def _wait(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.05)


def _ended(job_id: str, settings: Settings, timeout: float = 60.0) -> analysis_jobs.AnalysisSnapshot:
    _wait(lambda: not analysis_jobs.get(job_id, settings=settings).running, timeout, f"the end of {job_id}")
    snap = analysis_jobs.get(job_id, settings=settings)
    assert snap is not None
    return snap


# ---------------------------------------------------------------------- tests
def test_an_analysis_runs_in_a_worker_with_progress_and_result_and_a_restart_still_shows_it(
        settings: Settings) -> None:
    job_id = analysis_jobs.submit("t-count", {"steps": 4, "sleep": 0.05, "echo": "é ✓"}, settings=settings)
    first = analysis_jobs.get(job_id, settings=settings)
    assert first is not None and first.kind == "t-count" and first.status in ("queued", "running")
    assert first.params == {"steps": 4, "sleep": 0.05, "echo": "é ✓"}
    snap = _ended(job_id, settings)
    assert snap.status == "finished", snap.error
    assert snap.result is not None and snap.result["steps"] == 4 and snap.result["echo"] == "é ✓"
    assert snap.result["pid"] != os.getpid()
    _wait(lambda: not process_alive(snap.result["pid"], None), timeout=10, what="the worker's exit")
    assert snap.progress == 1.0 and snap.error is None and snap.ended is not None and snap.ended >= snap.created
    assert snap.elapsed > 0
    assert [s.job_id for s in analysis_jobs.recent("t-count", settings=settings)] == [job_id]
    assert analysis_jobs.recent("t-fail", settings=settings) == []
    assert analysis_jobs.get("0123456789ab", settings=settings) is None
    restarted = analysis_jobs._Registry(settings)  # a new dashboard process over the same analyses.db
    assert [r.id for r in restarted.store.recent("t-count")] == [job_id]
    assert analysis_jobs.get(job_id, settings=settings) == snap


def test_cancel_stops_the_job_which_returns_its_partial_result(settings: Settings) -> None:
    job_id = analysis_jobs.submit("t-count", {"steps": 2000, "sleep": 0.02}, settings=settings)
    _wait(lambda: analysis_jobs.get(job_id, settings=settings).progress > 0, what="first progress")
    running = analysis_jobs.get(job_id, settings=settings)
    assert running.status == "running" and running.message.startswith("step ")
    analysis_jobs.cancel(job_id, settings=settings)
    assert analysis_jobs.get(job_id, settings=settings).cancel_requested
    snap = _ended(job_id, settings, timeout=10)
    assert snap.status == "cancelled" and snap.error and snap.error.startswith("cancelled")
    assert snap.result is not None and snap.result["cancelled"] is True and 0 < snap.result["steps"] < 2000
    analysis_jobs.cancel(job_id, settings=settings)  # cancelling an ended analysis changes nothing
    assert analysis_jobs.get(job_id, settings=settings) == snap


def test_a_worker_that_ignores_cancel_is_killed_with_the_processes_it_started(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_jobs, "CANCEL_GRACE_S", 1.0)
    job_id = analysis_jobs.submit("t-stubborn", {}, settings=settings)
    _wait(lambda: analysis_jobs.get(job_id, settings=settings).message.startswith("child "), what="the child")
    child = int(analysis_jobs.get(job_id, settings=settings).message.split()[1])
    assert process_alive(child, None)
    analysis_jobs.cancel(job_id, settings=settings)
    snap = _ended(job_id, settings, timeout=20)
    assert snap.status == "cancelled" and snap.result is None
    assert snap.error is not None and "did not stop within 1 s" in snap.error
    _wait(lambda: not process_alive(child, None), timeout=5, what="the child's end")


def test_errors_and_crashes_end_as_failed_with_a_sentence_and_at_most_two_run_at_once(settings: Settings) -> None:
    ids = {kind: analysis_jobs.submit(kind, {}, settings=settings) for kind in ("t-fail", "t-bug", "t-crash")}
    store = AnalysisStore(settings.home / "analyses.db")
    most, deadline = 0, time.monotonic() + 90
    while any(r.status in ("queued", "running") for r in store.active()):
        most = max(most, sum(r.status == "running" for r in store.active()))
        assert time.monotonic() < deadline, "the three analyses did not end within 90 s"
        time.sleep(0.02)
    assert most == analysis_jobs.MAX_RUNNING == 2
    fail, bug, crash = (analysis_jobs.get(ids[k], settings=settings) for k in ("t-fail", "t-bug", "t-crash"))
    assert (fail.status, fail.error, fail.progress) == ("failed", "column 'petal_width' is gone from the dataset", 0.5)
    assert bug.status == "failed" and bug.error is not None
    assert "ZeroDivisionError" in bug.error and "Traceback" not in bug.error and "dashboard's log" in bug.error
    assert crash.status == "failed" and crash.error is not None and "exit code 3" in crash.error
    assert crash.result is None and crash.message == "failed"


def test_a_queued_analysis_is_cancelled_before_it_starts(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_jobs, "MAX_RUNNING", 0)  # no free slot: it stays queued
    job_id = analysis_jobs.submit("t-count", {"steps": 1}, settings=settings)
    time.sleep(0.5)
    assert analysis_jobs.get(job_id, settings=settings).status == "queued"
    analysis_jobs.cancel(job_id, settings=settings)
    snap = analysis_jobs.get(job_id, settings=settings)
    assert snap.status == "cancelled" and snap.error == "cancelled before it started" and snap.result is None


def test_bad_requests_are_refused_before_anything_is_recorded(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="unknown analysis 'nope'; known: .*stability"):
        analysis_jobs.submit("nope", {}, settings=settings)
    with pytest.raises(ConfigError, match="plain JSON values"):
        analysis_jobs.submit("t-count", {"steps": object()}, settings=settings)
    with pytest.raises(ConfigError, match="must be a dict"):
        analysis_jobs.submit("t-count", ["steps"], settings=settings)  # type: ignore[arg-type]
    assert analysis_jobs.recent("t-count", settings=settings) == []


def test_analyses_a_dead_dashboard_left_are_failed_on_restart(settings: Settings) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = AnalysisStore(settings.home / "analyses.db")
    for job_id, status in (("aaaaaaaaaaaa", "queued"), ("bbbbbbbbbbbb", "running")):
        store.add(job_id, "t-count", f"{HERE}:count_job", "{}", created=time.time(), owner_pid=dead.pid,
                  owner_started=None)
        store.update(job_id, status=status, pid=dead.pid)
    analysis_jobs._Registry(settings)
    queued, running = (analysis_jobs.get(i, settings=settings) for i in ("aaaaaaaaaaaa", "bbbbbbbbbbbb"))
    assert queued.status == running.status == "failed"
    assert queued.error == "the dashboard stopped before this analysis started; start it again"
    assert running.error is not None and "its worker process is gone" in running.error


def test_the_worker_entry_point_needs_no_heavy_import(tmp_path: Path) -> None:
    code = ("import sys; import automlops.ui.analysis_worker; "
            "print(sorted(m for m in ('streamlit', 'sklearn', 'mlflow', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert out.stdout.strip() == "[]"
