"""MODEL_NAME + MODEL_STAGE: the API serves the registry's production version and follows promotions.

Real parts: a model trained by the AutoML runner, the signed ModelStore, a real MLflow registry
(SQLite), the FastAPI app with its reload thread. A promotion (and a rollback) must be served
within about a second (the registry is polled at most once a second), through the verified swap.
"""

from __future__ import annotations

import logging
import shutil
import socket
import time
from pathlib import Path

import pytest

from automlops.mlops.registry import ModelRegistry
from automlops.mlops.store import ModelStore
from tests.serving.conftest import AUTH, make_settings
from tests.serving.modelkit import publish_valid


@pytest.fixture(scope="module")
def cancer_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small real model (breast cancer, logistic), in a store outside any studio home."""
    from automlops.demo import load_demo
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    root = tmp_path_factory.mktemp("stage-bank") / "models"
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1).fit(load_demo("breast_cancer"))
    save_model(runner.result_, ModelStore(root), "cancer",
               dataset={"name": "breast_cancer", "version": 1, "sha256": "ab" * 32})
    return root


@pytest.fixture
def staged_home(tmp_path: Path, cancer_bank: Path, empty_db: Path) -> Path:
    """A home with cancer v1 and v2 (same model), both registered, v1 in production."""
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    shutil.copy(empty_db, home / "mlflow.db")
    shutil.copytree(cancer_bank / "cancer", home / "models" / "cancer")
    publish_valid(home / "models", "cancer", cancer_bank / "cancer" / "v0001")
    settings = make_settings(home)
    registry = ModelRegistry(settings=settings)
    registry.sync(ModelStore(settings=settings))
    registry.promote("cancer", 1, "production", reason="first champion", who="ci")
    return home


def _client(home: Path, **fields: object):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    settings = make_settings(home, model_name="cancer", model_stage="production", api_reload_interval=0.1, **fields)
    return TestClient(create_app(settings))


def _wait_for_version(client, version: int, timeout: float = 3.0) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if (client.get("/").json()["model"] or {}).get("version") == version:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise AssertionError(f"v{version} not served within {timeout} s")


def test_the_api_serves_the_production_version_and_shows_stage_and_lineage(staged_home: Path) -> None:
    with _client(staged_home) as client:
        info = client.get("/model", headers=AUTH).json()
        assert (info["name"], info["version"], info["stage"]) == ("cancer", 1, "production")
        lineage = info["lineage"]
        assert lineage["registry_version"] == 1 and lineage["parent"] is None
        assert lineage["dataset"]["sha256"] == "ab" * 32 and lineage["dataset"]["name"] == "breast_cancer"
        assert "run_id" in lineage


def test_a_promotion_and_a_rollback_are_served_within_the_poll_interval(staged_home: Path) -> None:
    registry = ModelRegistry(settings=make_settings(staged_home))
    with _client(staged_home) as client:
        assert client.get("/model", headers=AUTH).json()["version"] == 1
        registry.promote("cancer", 2, "production", reason="challenger wins", who="ci")
        assert _wait_for_version(client, 2) < 2.5
        assert client.get("/model", headers=AUTH).json()["stage"] == "production"
        registry.rollback("cancer", reason="v2 misbehaves", who="ci")
        assert _wait_for_version(client, 1) < 2.5
        body = client.post("/predict", json={"records": [{}]}, headers=AUTH)
        assert body.status_code in (200, 422)  # answered by the served model, never a 5xx


def test_nothing_in_production_serves_nothing_and_says_why(staged_home: Path) -> None:
    ModelRegistry(settings=make_settings(staged_home)).demote("cancer", "production", who="ci")
    with _client(staged_home) as client:
        assert client.get("/").json()["model"] is None
        answer = client.get("/model", headers=AUTH)
        assert answer.status_code == 503 and "holds production" in answer.text


def test_a_registry_outage_keeps_the_served_model(staged_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="automlops.serving")
    with socket.socket() as sock:  # a port nobody listens on: the "registry" refuses at once
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with _client(staged_home) as client:
        manager = client.app.state.serving.manager  # type: ignore[attr-defined]
        manager.stage._registry = ModelRegistry(settings=make_settings(staged_home, tracking_uri=dead))
        manager.stage.poll(force=True)
        manager.stage.poll(force=True)
        manager.refresh(force=True)
        assert client.get("/model", headers=AUTH).json()["version"] == 1  # still serving
        warnings = [r.getMessage() for r in caplog.records if "model registry" in r.getMessage()]
        assert len(warnings) == 1 and dead.split("//")[1] in warnings[0]  # once per outage, naming the server


def test_model_stage_needs_model_name_and_a_known_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from automlops.config import get_settings
    from automlops.errors import ConfigError

    monkeypatch.setenv("AUTOMLOPS_HOME", str(tmp_path))
    monkeypatch.setenv("MODEL_STAGE", "production")
    with pytest.raises(ConfigError, match="MODEL_STAGE needs MODEL_NAME"):
        get_settings()
    monkeypatch.setenv("MODEL_NAME", "cancer")
    monkeypatch.setenv("MODEL_STAGE", "prod")
    with pytest.raises(ConfigError, match="MODEL_STAGE='prod'"):
        get_settings()
