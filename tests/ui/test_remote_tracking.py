"""Remote tracking against a real authenticated MLflow server (the same protocol as DagsHub)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from automlops.mlops.lake import DataLake
from automlops.ui import tracking
from tests.ui.conftest import AuthServer
from tests.ui.helpers import (
    assert_clean,
    new_app,
    open_page,
    run_until,
    start_tiny_training,
    texts,
    training_done,
)

pytestmark = pytest.mark.integration


def _connect(at, server: AuthServer, password: str):  # type: ignore[no-untyped-def]
    open_page(at, "settings")
    at.radio(key="set_mode").set_value("server").run()
    at.text_input(key="set_uri").set_value(server.uri)
    at.text_input(key="set_user").set_value(server.username)
    at.text_input(key="set_password").set_value(password)
    return at.button[-1].click().run()


def _all_text(at) -> str:  # type: ignore[no-untyped-def]
    parts = []
    for kind in ("markdown", "caption", "success", "error", "warning", "info", "title", "subheader"):
        parts += texts(getattr(at, kind))
    return "\n".join(parts + [str(t.value) for t in at.text_input])


def test_wrong_token_is_unauthorized_and_local_tracking_stays(ui_home: Path, iris_lake: DataLake,
                                                              mlflow_auth_server: AuthServer) -> None:
    at = _connect(new_app(), mlflow_auth_server, "wrong-token-123")
    assert_clean(at)
    assert any("unauthorized" in t for t in texts(at.error)), texts(at.error)
    assert any("Still using Local SQLite store" in t for t in texts(at.warning))
    assert "wrong-token-123" not in _all_text(at)
    assert tracking.current_target().kind == "local"
    assert os.environ.get("MLFLOW_TRACKING_PASSWORD") != "wrong-token-123"  # not left behind for others
    assert tracking.check().state == "connected"  # local tracking still usable
    open_page(at, "experiments")
    assert_clean(at)
    assert "Local SQLite store" in _all_text(at)


def test_right_credentials_connect_and_a_training_lands_there(
        ui_home: Path, iris_lake: DataLake, mlflow_auth_server: AuthServer, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    server = mlflow_auth_server
    at = _connect(new_app(), server, server.password)
    assert_clean(at)
    assert any("Connected as **admin**" in t for t in texts(at.success)), texts(at.error)
    assert tracking.current_target().uri == server.uri
    assert at.text_input(key="set_password").value == ""  # never shown again

    open_page(at, "train")
    start_tiny_training(at, name="iris_remote")
    run_until(at, training_done)
    assert_clean(at)
    assert any("Saved model **iris_remote v0001**" in t for t in texts(at.success)), texts(at.error)

    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", server.username)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", server.password)
    client = MlflowClient(tracking_uri=server.uri)
    experiment = client.get_experiment_by_name("automlops")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], "tags.`automlops.kind` = 'automl'")
    assert [r.info.run_name for r in runs] == ["iris_remote-v1"]  # named after the model version it saved
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert server.password not in str(run.data.params) + str(run.data.tags)
    assert {"leaderboard.csv", "diagnostics.json"} <= {a.path for a in client.list_artifacts(run.info.run_id)}

    open_page(at, "experiments")  # the dashboard reads the remote runs too
    assert_clean(at)
    assert at.selectbox(key="exp_run").value == run.info.run_id
    assert server.password not in _all_text(at)
    assert not [r for r in caplog.records if server.password in r.getMessage()]
