"""The running API never loads a version the studio did not publish: not at start, not on hot reload.

A tampered version is planted the way an attacker with write access to ``models/`` would: a
pickle that runs code when loaded, with ``meta.json`` rewritten to carry its SHA-256; or a
correctly signed version whose model file is a symbolic link to a file outside the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automlops.mlops.store import ModelStore
from tests.serving.conftest import AUTH, make_settings
from tests.serving.modelkit import next_version, publish_valid


class _Touch:
    """Unpickling this creates ``path``: proof that loading ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.path), "w")


def _plant(root: Path, name: str, files: dict[str, bytes | Path], meta: dict[str, Any]) -> int:
    """Rename a hand-made version folder into place (a ``Path`` value becomes a symlink to it).

    ``meta`` is written as given: it already names ``name`` and the next version.
    """
    version = next_version(root, name)
    staging = root.parent / f"plant-{name}-{version}"
    staging.mkdir()
    for file_name, content in files.items():
        if isinstance(content, Path):
            (staging / file_name).symlink_to(content)
        else:
            (staging / file_name).write_bytes(content)
    (staging / "meta.json").write_text(json.dumps(meta))
    os.rename(staging, root / name / f"v{version:04d}")
    (root / name / "LATEST").write_text(f"v{version:04d}\n")
    return version


def _evil_version(root: Path, source: Path, marker: Path) -> int:
    """A pickle that creates ``marker``, and the source's meta.json rewritten with its SHA-256."""
    evil = pickle.dumps(_Touch(marker))
    meta = json.loads((source / "meta.json").read_text())
    meta.update(model_format="joblib", model_file="model.joblib", model_sha256=hashlib.sha256(evil).hexdigest(),
                model_bytes=len(evil), name="cancer", version=next_version(root, "cancer"),
                created=datetime.now(UTC).isoformat())
    return _plant(root, "cancer", {"model.joblib": evil}, meta)


def _symlinked_version(root: Path, source: Path, outside: Path) -> int:
    """A version signed with the studio's own key whose model file links to a file outside the store."""
    meta = json.loads((source / "meta.json").read_text())
    shutil.copyfile(source / meta["model_file"], outside)
    version = next_version(root, "cancer")
    meta.update(name="cancer", version=version, created=datetime.now(UTC).isoformat())
    signed = ModelStore(root).signer.signed(meta)  # only the link is wrong
    return _plant(root, "cancer", {meta["model_file"]: outside}, signed)


def _served(client: Any) -> tuple[str, int] | None:
    model = client.get("/").json()["model"]
    return (model["name"], model["version"]) if model else None


def _wait_for_refusals(client: Any, count: int) -> None:
    deadline = time.perf_counter() + 3
    while f'automlops_model_reloads_total{{result="refused"}} {count}' not in client.get("/metrics",
                                                                                       headers=AUTH).text:
        assert time.perf_counter() < deadline, f"no {count} refusal(s) within 3 s"
        time.sleep(0.05)


def test_hot_reload_refuses_tampered_versions_and_keeps_serving(serve, model_bank: Path, demo_rows,
                                                                tmp_path: Path, caplog) -> None:
    client = serve("cancer")
    root = client.home / "models"
    source = model_bank / "cancer" / "v0001"
    marker = tmp_path / "code-ran"
    rows = {"records": demo_rows("cancer", 2)}
    assert _served(client) == ("cancer", 1)

    evil = _evil_version(root, source, marker)
    _wait_for_refusals(client, 1)
    linked = _symlinked_version(root, source, tmp_path / "outside.skops")
    _wait_for_refusals(client, 2)
    time.sleep(0.3)  # a few more reload intervals: still nothing new is loaded
    assert _served(client) == ("cancer", 1) and not marker.exists()
    assert client.post("/predict", json=rows, headers=AUTH).json()["model"]["version"] == 1
    assert "not signed by this studio" in caplog.text and "symbolic link" in caplog.text
    assert (evil, linked) == (2, 3)

    version = publish_valid(root, "cancer", source)  # the studio's own next version is still picked up
    deadline = time.perf_counter() + 3
    while _served(client) != ("cancer", version):
        assert time.perf_counter() < deadline
        time.sleep(0.05)
    assert not marker.exists()


def test_start_up_refuses_a_tampered_only_version(tmp_path: Path, model_bank: Path) -> None:
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    home = tmp_path / "home"
    (home / "models" / "cancer").mkdir(parents=True)
    marker = tmp_path / "code-ran"
    _evil_version(home / "models", model_bank / "cancer" / "v0001", marker)
    with TestClient(create_app(make_settings(home))) as client:
        assert _served(client) is None
        assert client.get("/ready").status_code == 503
    assert not marker.exists()
