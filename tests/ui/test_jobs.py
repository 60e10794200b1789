"""Training jobs in worker processes: concurrency, queue, stop, kill, restart and recovery.

Real lake, real spawned workers (each imports the ML stack: a few seconds), tiny budgets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from automlops.config import Settings
from automlops.errors import ConfigError
from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from automlops.search.tracking_sink import CANCELLED_TAG
from automlops.ui import jobs, tracking
from automlops.ui.job_process import process_alive, process_started
from automlops.ui.job_store import JobStore
from automlops.ui.job_types import CANCELLED_TEXT


def _request(name: str, dataset: str = "iris", **kw: object) -> jobs.TrainRequest:
    base: dict[str, object] = {"models": ("logistic",), "n_trials": 2, "preset": "fast", "model_name": name}
    return jobs.TrainRequest(dataset, 1, "target", **{**base, **kw})  # type: ignore[arg-type]


def _wait(condition: Callable[[], bool], timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.02)


def _first_trial(job: jobs.TrainingJob) -> bool:
    snap = job.snapshot()
    assert snap.running, f"the job ended early: {snap.status} {snap.error}"
    return snap.trials_done >= 1


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_two_jobs_on_one_dataset_train_at_once_in_workers_and_a_restart_still_shows_them(
        iris_lake: DataLake, settings: Settings) -> None:
    tracker = tracking.new_tracker()
    tracker.client  # noqa: B018 - create the SQLite store once, before two writers
    filters = list(warnings.filters)
    two = Settings(MAX_TRAINING_JOBS=2)
    a = jobs.submit(_request("flowers"), settings=two, tracker=tracking.new_tracker(), tracking_uri="local")
    b = jobs.submit(_request("flowers", search="random"), settings=two, tracker=tracking.new_tracker())
    while not (a.done.is_set() and b.done.is_set()):  # the runners' catch_warnings never reach this process
        assert warnings.filters == filters
        time.sleep(0.01)
    assert a.join(120) and b.join(120)
    versions, runs = set(), set()
    for job in (a, b):
        snap = job.snapshot()
        assert snap.status == "finished", snap.error
        assert snap.pid not in (None, os.getpid()) and not process_alive(snap.pid, None)
        assert snap.trials_done == 2 and snap.n_trials == 2 and snap.fraction == 1.0
        assert [p.model for p in snap.history] == ["logistic", "logistic"]
        assert snap.result is not None and snap.result.model_name == "flowers"
        assert snap.result.diagnostics and snap.result.diagnostics["confusion"]["labels"]
        run = tracker.get_run(snap.result.run_id)
        assert "diagnostics.json" in run.artifacts
        assert run.run_name == f"flowers-v{snap.result.model_version}"  # runs of one dataset told apart
        versions.add(snap.result.model_version)
        runs.add(snap.result.run_id)
        # the worker ends with os._exit, which skips the clean-ups: its model's skops file went first
        assert not list(Path(tempfile.gettempdir()).glob(f"automlops-skops-{snap.pid}-*"))
    rows = [JobStore(settings.home / "jobs.db").get(j.id) for j in (a, b)]
    assert rows[0] and rows[1] and rows[0].started < rows[1].ended and rows[1].started < rows[0].ended  # overlapped
    assert versions == {1, 2} and len(runs) == 2
    assert [s.version for s in ModelStore(settings=settings).versions("flowers")] == [1, 2]
    assert jobs.get(a.id) is a and jobs.get(None) is None
    _assert_a_restart_shows(settings, a, b)


def _assert_a_restart_shows(settings: Settings, a: jobs.TrainingJob, b: jobs.TrainingJob) -> None:
    restarted = jobs.JobRegistry(settings)  # a new dashboard over the same jobs.db
    assert restarted.recovered.wait(10)
    assert {j.id for j in restarted.recent()} == {a.id, b.id}
    again = restarted.get(a.id)
    assert again is not None and again is not a and again.join(0)
    old, new = a.snapshot(), again.snapshot()
    assert new.result is not None and old.result is not None
    assert (new.status, new.request, new.history, new.result.model_version, new.result.run_id) == \
        (old.status, old.request, old.history, old.result.model_version, old.result.run_id)
    assert new.result.leaderboard["model"].tolist() == old.result.leaderboard["model"].tolist()
    assert new.result.trials["value"].tolist() == pytest.approx(old.result.trials["value"].tolist())
    assert new.result.tracking_uri == "local" and new.elapsed == pytest.approx(old.elapsed)


def test_cancel_stops_the_search_and_publishes_nothing(iris_lake: DataLake, settings: Settings, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    app = tmp_path / "app.py"  # under Streamlit, __main__ is the app script: a worker must not run it
    app.write_text("raise SystemExit('the dashboard ran inside the worker')\n")
    dashboard = types.ModuleType("__main__")
    dashboard.__file__ = str(app)
    monkeypatch.setitem(sys.modules, "__main__", dashboard)
    tracker = tracking.new_tracker()
    job = jobs.submit(_request("stopped", n_trials=500), settings=settings, tracker=tracker)
    store = jobs.registry(settings).store
    _wait(lambda: _first_trial(job) and bool(getattr(store.get(job.id), "run_id", None)),
          what="a first trial and the MLflow run id in the job row")
    job.cancel()
    assert job.join(60)
    snap = job.snapshot()
    assert snap.cancel_requested and snap.status == "cancelled", snap.error
    assert snap.error == CANCELLED_TEXT and snap.result is None
    assert 1 <= snap.trials_done < 500
    assert "stopped" not in ModelStore(settings=settings).names()  # no version published
    run = tracker.get_run(store.get(job.id).run_id)  # type: ignore[union-attr]
    assert run.status == "KILLED" and run.tags[CANCELLED_TAG] == "true"


def test_a_worker_that_does_not_stop_in_time_is_killed(iris_lake: DataLake, settings: Settings) -> None:
    tracker = tracking.new_tracker()
    job = jobs.submit(_request("killed", n_trials=10_000), settings=settings, tracker=tracker)
    store = jobs.registry(settings).store
    _wait(lambda: _first_trial(job) and bool(getattr(store.get(job.id), "run_id", None)),
          what="a first trial and the MLflow run id in the job row")
    run_id = store.get(job.id).run_id  # type: ignore[union-attr]
    assert tracker.get_run(run_id).status == "RUNNING"
    job.cancel(grace_period=0)  # no time to finish the trial, refit and save: killed
    assert job.join(30)
    snap = job.snapshot()
    assert snap.status == "cancelled" and snap.result is None
    assert "did not stop within 0 s" in (snap.error or "")
    assert not process_alive(snap.pid, None)
    assert "killed" not in ModelStore(settings=settings).names()
    assert tracker.get_run(run_id).status == "KILLED"
    assert tracker.get_run(run_id).tags[CANCELLED_TAG] == "true"


def test_at_most_max_training_jobs_run_and_the_rest_wait_in_order(iris_lake: DataLake, settings: Settings) -> None:
    one = Settings(MAX_TRAINING_JOBS=1)
    first = jobs.submit(_request("first", n_trials=1), settings=one)
    second = jobs.submit(_request("second", n_trials=1), settings=one)
    third = jobs.submit(_request("third", n_trials=1), settings=one)
    assert first.snapshot().status == "running"
    snap = second.snapshot()
    assert (snap.status, snap.queue_position, snap.running) == ("queued", 1, True)
    assert "queued (position 1)" in snap.progress_text and snap.elapsed == 0.0
    assert third.snapshot().queue_position == 2
    third.cancel()  # leaves the queue at once, nothing ran
    assert third.join(0) and third.snapshot().status == "cancelled" and third.snapshot().pid is None
    assert {j.id for j in jobs.running_jobs(settings=settings)} == {first.id, second.id}
    while True:  # the second starts only once the first has ended and been recorded
        status = second.snapshot().status
        if first.done.is_set():
            break
        assert status == "queued"
        time.sleep(0.05)
    assert second.join(90)
    rows = [JobStore(settings.home / "jobs.db").get(j.id) for j in (first, second)]
    assert rows[0] and rows[1] and rows[1].started >= rows[0].ended  # one after the other
    assert [second.snapshot().status, first.snapshot().status] == ["finished", "finished"]
    assert ModelStore(settings=settings).names() == ["first", "second"]


def test_jobs_a_dead_dashboard_left_are_failed_and_their_mlflow_runs_too(settings: Settings) -> None:
    from automlops.mlops.tracking import Tracker

    tracker = Tracker(settings=settings)
    run_id = tracker.start_run("lost")
    store, dead = JobStore(settings.home / "jobs.db"), _dead_pid()
    request = _request("x").to_json()
    for job_id in ("lost", "waiting", "mine", "adopted"):
        owner = (os.getpid(), process_started(os.getpid())) if job_id == "mine" else (dead, None)
        store.add(job_id, request, created=time.time(), tracking_uri=tracker.tracking_uri, owner_pid=owner[0],
                  owner_started=owner[1])
    store.update("lost", status="running", pid=dead, started=time.time(), run_id=run_id)
    store.update("mine", status="running", pid=dead, started=time.time())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a worker that lives on
    store.update("adopted", status="running", pid=sleeper.pid, pid_started=process_started(sleeper.pid),
                 started=time.time())
    try:
        registry = jobs.JobRegistry(settings)
        assert registry.recovered.wait(30)
        lost, waiting = registry.get("lost"), registry.get("waiting")
        assert lost is not None and waiting is not None
        assert lost.snapshot().status == "failed" and "worker process is gone" in (lost.snapshot().error or "")
        assert "stopped before this job started" in (waiting.snapshot().error or "")
        assert tracker.get_run(run_id).status == "FAILED"
        assert store.get("mine").status == "running"  # type: ignore[union-attr] - its dashboard (us) is alive
        adopted = registry.get("adopted")
        assert adopted is not None and adopted.snapshot().status == "running"
        assert [j.id for j in registry.running()] == ["adopted"]
        sleeper.kill()  # the adopted worker dies without recording a result
        assert adopted.join(10)
        assert adopted.snapshot().status == "failed"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_bad_requests_are_refused_before_anything_is_recorded(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="invalid model name"):
        jobs.submit(_request("no spaces please"), settings=settings)
    with pytest.raises(ConfigError, match="at least 1"):
        jobs.submit(_request("ok", n_trials=0), settings=settings)
    assert jobs.recent_jobs(settings=settings) == []


def test_snapshot_texts() -> None:
    snap = jobs.JobSnapshot(id="x", request=_request("m"), status="running", stage="search", trials_done=3,
                            n_trials=None, elapsed=4.0, budget=10.0, best_score=0.91234, best_model="knn",
                            history=(), error=None, result=None, cancel_requested=False)
    assert snap.running and snap.fraction == pytest.approx(0.4)
    assert snap.progress_text == "3 trials · 4.0 s of 10 s · best 0.9123 (knn)"
