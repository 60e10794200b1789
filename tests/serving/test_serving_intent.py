"""Serving follows the user's intent: the served name is pinned; SERVING.json picks a version."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest

from automlops.errors import ModelError
from automlops.mlops.serving_pointer import (
    SERVING_FILE,
    clear_serving_pointer,
    point_serving_at,
    read_serving_pointer,
)
from automlops.mlops.store import ModelStore
from automlops.serving.loader import ModelManager
from tests.serving.conftest import AUTH
from tests.serving.modelkit import publish_broken, publish_valid


@pytest.fixture
def models(tmp_path: Path, model_bank: Path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(model_bank / "cancer", root / "cancer")
    return root


def _ref(manager: ModelManager) -> tuple[str, int] | None:
    return (manager.current.name, manager.current.version) if manager.current is not None else None


def test_another_name_never_replaces_the_served_model(models: Path, model_bank: Path) -> None:
    manager = ModelManager(ModelStore(models))
    assert manager.refresh() and _ref(manager) == ("cancer", 1)
    publish_valid(models, "penguins", model_bank / "penguins" / "v0001")  # an unrelated dataset trained
    assert manager.refresh() is False and _ref(manager) == ("cancer", 1)
    publish_valid(models, "cancer", model_bank / "cancer" / "v0001")  # a newer version of the same name
    assert manager.refresh() and _ref(manager) == ("cancer", 2)


def test_the_name_served_first_stays_pinned_even_when_the_store_started_empty(tmp_path: Path,
                                                                             model_bank: Path) -> None:
    root = tmp_path / "models"
    manager = ModelManager(ModelStore(root))
    assert manager.refresh(force=True) is False and manager.current is None
    publish_valid(root, "diabetes", model_bank / "diabetes" / "v0001")
    assert manager.refresh() and _ref(manager) == ("diabetes", 1)
    publish_valid(root, "cancer", model_bank / "cancer" / "v0001")
    assert manager.refresh() is False and _ref(manager) == ("diabetes", 1)


def test_the_live_service_keeps_its_schema_when_another_dataset_is_trained(serve, model_bank, demo_rows) -> None:
    client = serve("cancer")
    root = client.home / "models"
    publish_valid(root, "penguins", model_bank / "penguins" / "v0001")
    time.sleep(0.6)  # six reload ticks
    assert client.get("/").json()["model"]["name"] == "cancer"
    r = client.post("/predict", json={"records": demo_rows("cancer", 2)}, headers=AUTH)
    assert r.status_code == 200, r.text  # a client built for the cancer columns keeps working


def test_the_pointer_picks_one_exact_version_and_clearing_it_restores_the_pin(models: Path,
                                                                              model_bank: Path) -> None:
    publish_valid(models, "penguins", model_bank / "penguins" / "v0001")
    manager = ModelManager(ModelStore(models), name="cancer")
    assert manager.refresh() and _ref(manager) == ("cancer", 1)
    point_serving_at(models, "penguins", 1)
    assert manager.refresh() and _ref(manager) == ("penguins", 1)  # the pointer beats MODEL_NAME
    publish_valid(models, "penguins", model_bank / "penguins" / "v0001")
    assert manager.refresh() is False and _ref(manager) == ("penguins", 1)  # an exact version: no follow-up
    point_serving_at(models, "penguins", 2)
    assert manager.refresh() and _ref(manager) == ("penguins", 2)
    assert clear_serving_pointer(models) and not clear_serving_pointer(models)
    assert manager.refresh() and _ref(manager) == ("cancer", 1)


def test_a_pointer_to_a_missing_or_broken_version_keeps_the_served_model(models: Path, model_bank: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="automlops.serving")
    manager = ModelManager(ModelStore(models))
    assert manager.refresh() and _ref(manager) == ("cancer", 1)
    point_serving_at(models, "cancer", 9)
    assert manager.refresh() is False and _ref(manager) == ("cancer", 1)
    broken = publish_broken(models, "cancer", model_bank / "cancer" / "v0001", "tampered_sha")
    point_serving_at(models, "cancer", broken)
    assert manager.refresh() is False and _ref(manager) == ("cancer", 1)
    assert f"refused model cancer v{broken}" in caplog.text
    (models / SERVING_FILE).write_text("{not json")
    assert manager.refresh() is False and _ref(manager) == ("cancer", 1)
    assert "ignoring the serving pointer" in caplog.text


def test_a_pointer_to_a_missing_version_at_start_up_says_why(models: Path) -> None:
    point_serving_at(models, "cancer", 9)
    manager = ModelManager(ModelStore(models))
    manager.refresh(force=True)
    assert manager.current is None and "SERVING.json asks for cancer@v9" in str(manager.problem)


def test_the_live_service_follows_the_pointer_without_a_restart(serve, model_bank, demo_rows) -> None:
    client = serve("cancer", "penguins", model_name="cancer")
    assert client.get("/").json()["model"]["name"] == "cancer"
    point_serving_at(client.home / "models", "penguins", 1)
    deadline = time.monotonic() + 2
    while client.get("/").json()["model"]["name"] != "penguins":
        assert time.monotonic() < deadline, "the pointer was not followed within 2 s"
        time.sleep(0.05)
    r = client.post("/predict", json={"records": demo_rows("penguins", 2)}, headers=AUTH)
    assert r.status_code == 200 and r.json()["model"] == {"name": "penguins", "version": 1,
                                                           "task": "classification"}


def test_the_pointer_file_round_trips_and_refuses_bad_names(tmp_path: Path) -> None:
    assert read_serving_pointer(tmp_path) is None
    written = point_serving_at(tmp_path, "penguins", 3)
    assert read_serving_pointer(tmp_path) == written and written.ref == "penguins@v3"
    assert not [p for p in tmp_path.iterdir() if p.name != SERVING_FILE]  # no temp file left behind
    for name, version in (("../etc", 1), ("a b", 1), ("ok", 0), ("ok", True)):
        with pytest.raises(ModelError):
            point_serving_at(tmp_path, name, version)  # type: ignore[arg-type]
    (tmp_path / SERVING_FILE).write_text('{"name": "x/../y", "version": 1}')
    with pytest.raises(ModelError, match="invalid model name"):
        read_serving_pointer(tmp_path)
