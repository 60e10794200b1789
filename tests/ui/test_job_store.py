"""The job table, the JSON round trips of a job's data, and the worker's progress reporter (no process)."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from automlops.config import Settings
from automlops.core.results import ProgressEvent
from automlops.mlops.tracking import Tracker
from automlops.ui.job_process import JobReporter, settings_payload, tracking_spec
from automlops.ui.job_store import JobStore
from automlops.ui.job_types import JobResult, TrainRequest, TrialPoint


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    store = JobStore(tmp_path / "jobs.db")
    store.add("j1", TrainRequest("iris", 1, "target").to_json(), created=time.time(), tracking_uri="",
              owner_pid=1, owner_started=None)
    return store


def test_the_table_is_in_wal_mode_and_the_first_final_state_wins(store: JobStore) -> None:
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.update("j1", status="running", pid=42)
    assert store.update("j1", only_active=True, status="finished", ended=1.0)
    assert not store.update("j1", only_active=True, status="cancelled")  # too late: it already finished
    row = store.get("j1")
    assert row is not None and (row.status, row.pid, row.active) == ("finished", 42, False)
    assert store.get("nope") is None and store.active() == [] and [r.id for r in store.recent()] == ["j1"]
    with pytest.raises(ValueError, match="unknown job columns"):
        store.update("j1", status="x", nonsense=1)


def test_the_reporter_turns_runner_events_into_rows(store: JobStore) -> None:
    report = JobReporter(store, "j1")
    report(ProgressEvent("stage", "search: Bayesian optimisation", budget=30.0))
    report(ProgressEvent("stage", "tracking", extra={"run_id": "abc123"}))  # the driver's "run opened" event
    report(ProgressEvent("trial", "trial 0 lightgbm COMPLETE", trial=1, n_trials=5, best_score=0.9,
                         best_model="lightgbm", state="COMPLETE", value=0.9))
    report(ProgressEvent("trial", "trial 1 knn PRUNED", trial=2, n_trials=5, best_score=0.9,
                         best_model="lightgbm", state="PRUNED"))
    row = store.get("j1")
    assert row is not None
    assert (row.stage, row.run_id, row.budget, row.n_trials, row.best_score, row.best_model) == \
        ("searching: trial 2 of 5 (knn) stopped early", "abc123", 30.0, 5, 0.9, "lightgbm")  # not the warm start
    assert store.trials("j1") == (TrialPoint(1, "lightgbm", "COMPLETE", 0.9, 0.9),
                                  TrialPoint(2, "knn", "PRUNED", None, 0.9))
    report(ProgressEvent("stage", "ensemble: voting(a, b) is the final model"))  # after the search: stages again
    assert store.get("j1").stage == "ensemble: voting(a, b) is the final model"  # type: ignore[union-attr]


def test_a_request_with_an_ensemble_and_a_result_with_frames_survive_json() -> None:
    from automlops.tabular.ensemble import EnsembleConfig

    request = TrainRequest("iris", 2, "species", models=("logistic", "knn"), n_trials=3, model_name="m",
                           ensemble=EnsembleConfig("voting", voting="hard", weights=(1.0, 2.0),
                                                   members=("logistic", "knn")))
    assert TrainRequest.from_json(request.to_json()) == request
    leaderboard = pd.DataFrame({"rank": [1, 2], "model": ["knn", "logistic"], "score": [0.9, float("nan")],
                                "params": [{"n_neighbors": 5}, None]})
    result = JobResult(task="classification", metric="accuracy", direction="maximize", best_model="knn",
                       val_score=0.9, val_std=0.01, test_score=0.93, test_metrics={"accuracy": 0.93},
                       leaderboard=leaderboard, trials=pd.DataFrame(columns=["number", "value"]),
                       decisions=["[task] classification"], model_name="m", model_version=3, run_id=None,
                       tracking_uri="local", diagnostics={"confusion": {"labels": ["a", "b"]}}, notes=["n"])
    back = JobResult.from_json(result.to_json())
    assert back.leaderboard.columns.tolist() == leaderboard.columns.tolist()
    assert back.leaderboard["params"].tolist() == [{"n_neighbors": 5}, None]
    assert math.isnan(back.leaderboard["score"][1]) and back.trials.empty
    assert (back.model_version, back.diagnostics, back.notes) == (3, result.diagnostics, ["n"])


def test_a_worker_gets_its_tracking_credentials_explicitly_and_nothing_else_secret(tmp_path: Path) -> None:
    settings = Settings(AUTOMLOPS_HOME=tmp_path, MLFLOW_TRACKING_URI="https://example.org/x.mlflow",
                        MLFLOW_TRACKING_USERNAME="me", MLFLOW_TRACKING_PASSWORD="s3cret", API_KEY="k3y")
    spec = tracking_spec(Tracker(settings=settings), "https://example.org/x.mlflow")
    assert spec is not None and spec.uri == "https://example.org/x.mlflow"
    assert spec.settings["tracking_password"] == "s3cret" and "s3cret" not in repr(spec)
    payload = settings_payload(settings)
    assert "s3cret" not in repr(payload) and "k3y" not in repr(payload) and payload["studio_home"] == tmp_path
    assert tracking_spec(None) is None
