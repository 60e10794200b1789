"""Hot reload: new versions are served within 2 s; broken ones are refused, counted and logged."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import pytest

from automlops.mlops.store import ModelStore
from automlops.serving.loader import ModelManager
from automlops.serving.metrics import Metrics
from tests.serving.conftest import AUTH
from tests.serving.modelkit import BROKEN_KINDS, publish_broken, publish_valid


def _served(client) -> tuple[str, int] | None:
    model = client.get("/").json()["model"]
    return (model["name"], model["version"]) if model else None


def _wait_for(client, expected: tuple[str, int], timeout: float = 2.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if _served(client) == expected:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise AssertionError(f"{expected} not served within {timeout} s (serving {_served(client)})")


@pytest.fixture
def models(tmp_path: Path, model_bank: Path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(model_bank / "cancer", root / "cancer")
    return root


def test_a_new_version_is_served_within_two_seconds_without_a_restart(serve, model_bank, demo_rows) -> None:
    client = serve("cancer")
    root = client.home / "models"
    assert _served(client) == ("cancer", 1)
    version = publish_valid(root, "cancer", model_bank / "cancer" / "v0001")
    assert _wait_for(client, ("cancer", version)) < 2.0
    body = client.post("/predict", json={"records": demo_rows("cancer", 1)}, headers=AUTH).json()
    assert body["model"]["version"] == 2  # (another name never takes over: test_serving_intent.py)


REASONS = {"truncated": "does not match the SHA-256", "truncated_rehashed": "could not load",
           "tampered_sha": "does not match the SHA-256", "schema_broken": "no usable feature_schema",
           "no_meta": "meta.json is missing", "not_a_model": "holds a dict, which cannot predict",
           "smoke_fails": "failed its smoke test", "wrong_name": "meta.json names 'someone_else'"}


@pytest.mark.parametrize("kind", BROKEN_KINDS)
def test_a_broken_version_is_refused_and_the_old_one_keeps_serving(models, model_bank, kind, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="automlops.serving")
    metrics = Metrics()
    manager = ModelManager(ModelStore(models), metrics=metrics)
    assert manager.refresh() and (manager.current.name, manager.current.version) == ("cancer", 1)
    old = manager.current
    publish_broken(models, "cancer", model_bank / "cancer" / "v0001", kind)
    assert manager.refresh() is False
    assert manager.current is old
    assert metrics.reloads("refused") == 1 and metrics.reloads("success") == 1
    assert "refused model cancer v2" in caplog.text and REASONS[kind] in caplog.text
    assert set(REASONS) == set(BROKEN_KINDS)
    assert manager.refresh(force=True) is False and metrics.reloads("refused") == 1  # remembered, not retried
    version = publish_valid(models, "cancer", model_bank / "cancer" / "v0001")
    assert manager.refresh() and manager.current.version == version == 3


def test_refusals_show_on_metrics(serve, model_bank) -> None:
    client = serve("cancer")
    root = client.home / "models"
    publish_broken(root, "cancer", model_bank / "cancer" / "v0001", "tampered_sha")
    deadline = time.perf_counter() + 2
    while 'automlops_model_reloads_total{result="refused"} 1' not in client.get("/metrics", headers=AUTH).text:
        assert time.perf_counter() < deadline
        time.sleep(0.05)
    assert _served(client) == ("cancer", 1)


def test_startup_skips_a_broken_newest_version(models, model_bank) -> None:
    publish_broken(models, "cancer", model_bank / "cancer" / "v0001", "truncated")
    manager = ModelManager(ModelStore(models))
    assert manager.refresh(force=True)
    assert (manager.current.name, manager.current.version) == ("cancer", 1)


def test_only_broken_models_means_not_ready_with_the_reason(tmp_path: Path, model_bank: Path) -> None:
    root = tmp_path / "models"
    publish_broken(root, "cancer", model_bank / "cancer" / "v0001", "tampered_sha")
    manager = ModelManager(ModelStore(root))
    manager.refresh(force=True)
    assert manager.current is None
    assert "cancer@v1 was refused" in manager.problem and "SHA-256" in manager.problem


def test_stray_files_under_models_are_ignored(models: Path) -> None:
    (models / "README.md").write_text("not a model")
    (models / "loose.pkl").write_bytes(b"\x80\x04N.")
    (models / "has space").mkdir()
    manager = ModelManager(ModelStore(models))
    assert manager.refresh() and manager.current.name == "cancer"


def test_pinned_name_and_version(models: Path, model_bank: Path) -> None:
    publish_valid(models, "penguins", model_bank / "penguins" / "v0001")
    publish_valid(models, "cancer", model_bank / "cancer" / "v0001")
    newest = ModelManager(ModelStore(models))  # nothing pinned: the newest at start-up
    newest.refresh()
    assert (newest.current.name, newest.current.version) == ("cancer", 2)
    by_name = ModelManager(ModelStore(models), name="penguins")
    by_name.refresh()
    assert (by_name.current.name, by_name.current.version) == ("penguins", 1)
    pinned = ModelManager(ModelStore(models), name="cancer", version=1)
    pinned.refresh()
    publish_valid(models, "cancer", model_bank / "cancer" / "v0001")
    pinned.refresh()
    assert (pinned.current.name, pinned.current.version) == ("cancer", 1)
    missing = ModelManager(ModelStore(models), name="cancer", version=9)
    missing.refresh()
    assert missing.current is None and "named 'cancer' at v9" in missing.problem


def test_pinned_settings_reach_the_service(serve) -> None:
    client = serve("cancer", "penguins", model_name="cancer", model_version=1)
    assert _served(client) == ("cancer", 1)
