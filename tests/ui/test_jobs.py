"""Background training jobs: concurrency, cancel, validation, failure and the snapshot contract."""

from __future__ import annotations

import time

import pytest

from automlops.config import Settings
from automlops.errors import ConfigError
from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from automlops.ui import jobs, tracking


def _request(name: str, dataset: str = "iris", **kw: object) -> jobs.TrainRequest:
    base: dict[str, object] = {"models": ("logistic",), "n_trials": 2, "preset": "fast", "model_name": name}
    return jobs.TrainRequest(dataset, 1, "target", **{**base, **kw})  # type: ignore[arg-type]


def test_two_jobs_train_at_once_each_tracked_and_saved(iris_lake: DataLake, settings: Settings) -> None:
    # Two datasets: two runs logging the *same new* dataset at the same instant can hit a UNIQUE
    # constraint race inside MLflow's SQL store (reported; Tracker.log_dataset_input should retry once).
    from automlops.demo import seed_demo

    seed_demo(iris_lake, ["wine"])
    tracker = tracking.new_tracker()
    tracker.client  # noqa: B018 - create the SQLite store once, before two writers
    a = jobs.submit(_request("first"), settings=settings, tracker=tracking.new_tracker())
    b = jobs.submit(_request("second", "wine", search="random"), settings=settings, tracker=tracking.new_tracker())
    assert a.join(120) and b.join(120)
    for job, name in ((a, "first"), (b, "second")):
        snap = job.snapshot()
        assert snap.status == "finished", snap.error
        assert snap.trials_done == 2 and snap.n_trials == 2 and snap.fraction == 1.0
        assert [p.model for p in snap.history] == ["logistic", "logistic"]
        assert snap.result is not None and snap.result.model_name == name and snap.result.model_version == 1
        assert snap.result.diagnostics and snap.result.diagnostics["confusion"]["labels"]
        assert "diagnostics.json" in tracker.get_run(snap.result.run_id).artifacts
    assert {m.name for m in ModelStore(settings=settings).list_models()} == {"first", "second"}
    assert jobs.get(a.id) is a and jobs.get(None) is None


def test_cancel_stops_the_search_and_keeps_the_best_so_far(iris_lake: DataLake, settings: Settings) -> None:
    job = jobs.submit(_request("cancelled", n_trials=500), settings=settings, tracker=None)
    deadline = time.monotonic() + 60
    while job.snapshot().trials_done < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    job.cancel()
    assert job.join(60)
    snap = job.snapshot()
    assert snap.cancel_requested and snap.status == "stopped", snap.error
    assert 1 <= snap.trials_done < 500
    assert snap.result is not None and snap.result.run_id is None  # untracked job
    assert ModelStore(settings=settings).versions("cancelled")


def test_bad_requests_are_refused_before_a_thread_starts(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="invalid model name"):
        jobs.submit(_request("no spaces please"), settings=settings)
    with pytest.raises(ConfigError, match="at least 1"):
        jobs.submit(_request("ok", n_trials=0), settings=settings)


def test_snapshot_texts() -> None:
    snap = jobs.JobSnapshot(id="x", request=_request("m"), status="running", stage="search", trials_done=3,
                            n_trials=None, elapsed=4.0, budget=10.0, best_score=0.91234, best_model="knn",
                            history=(), error=None, result=None, cancel_requested=False)
    assert snap.running and snap.fraction == pytest.approx(0.4)
    assert snap.progress_text == "3 trials · 4.0 s of 10 s · best 0.9123 (knn)"
