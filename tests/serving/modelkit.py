"""Helpers that publish model versions into a store folder, valid or deliberately broken.

A broken version is *signed* with the store's key, as if the studio had published it, so each
kind reaches the check it is about (SHA-256, schema, smoke test...) instead of stopping at the
signature; tests/serving/test_tampered_models.py covers versions the studio never signed.

Broken versions are built beside the store and *renamed* into place, the way the store itself
publishes, so a watching service sees a complete (broken) version at once, never half of one.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automlops.mlops._atomic import atomic_write_text, sha256_file
from automlops.mlops.store import ModelStore

BROKEN_KINDS = ("truncated", "truncated_rehashed", "tampered_sha", "schema_broken", "no_meta", "not_a_model",
                "smoke_fails", "wrong_name")


def next_version(root: Path, name: str) -> int:
    folder = root / name
    numbers = [int(p.name[1:]) for p in folder.glob("v[0-9]*")] if folder.is_dir() else []
    return max(numbers, default=0) + 1


def publish_valid(root: Path, name: str, source: Path) -> int:
    """Save the model of version folder ``source`` as the next version of ``name`` (through the store)."""
    loaded = ModelStore(source.parent.parent).load(source.parent.name, source.name)
    return ModelStore(root).save(name, loaded.model, loaded.meta).version


def _publish_folder(root: Path, name: str, files: dict[str, bytes]) -> int:
    version = next_version(root, name)
    staging = root.parent / f"staging-{name}-{version}-{os.getpid()}"
    staging.mkdir(parents=True)
    for filename, data in files.items():
        (staging / filename).write_bytes(data)
    (root / name).mkdir(parents=True, exist_ok=True)
    os.rename(staging, root / name / f"v{version:04d}")
    atomic_write_text(root / name / "LATEST", f"v{version:04d}\n")
    return version


def publish_broken(root: Path, name: str, source: Path, kind: str) -> int:
    """Publish the next version of ``name`` from ``source``, broken the way ``kind`` says."""
    meta: dict[str, Any] = json.loads((source / "meta.json").read_text())
    model_file = str(meta.get("model_file", "model.joblib"))
    model = (source / model_file).read_bytes()
    version = next_version(root, name)
    meta.update(name=name, version=version, created=datetime.now(UTC).isoformat(timespec="microseconds"))
    if kind == "truncated":  # a copy cut short: the SHA no longer matches
        model = model[: len(model) // 2]
    elif kind == "truncated_rehashed":  # cut short, SHA recomputed: reading it fails
        model = model[: len(model) // 2]
        meta["model_sha256"] = _sha(model)
    elif kind == "tampered_sha":
        meta["model_sha256"] = "0" * 64
    elif kind == "schema_broken":
        meta["feature_schema"] = {"features": "not a list"}
    elif kind == "no_meta":
        return _publish_folder(root, name, {model_file: model})
    elif kind == "not_a_model":  # a pickle with a matching SHA, but not something that predicts
        model, model_file = pickle.dumps({"just": "a dict"}), "model.joblib"
        meta.update(model_sha256=_sha(model), model_format="joblib", model_file=model_file)
    elif kind == "smoke_fails":  # the schema names a column the pipeline never saw
        first = meta["feature_schema"]["features"][0]
        first["name"] = "renamed_column"
        meta["input_columns"] = [f["name"] for f in meta["feature_schema"]["features"]]
    elif kind == "wrong_name":
        meta["name"] = "someone_else"
    else:
        raise ValueError(kind)
    signed = ModelStore(root).signer.signed(meta)  # signed by the studio, broken in another way
    return _publish_folder(root, name, {model_file: model, "meta.json": json.dumps(signed).encode()})


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def install(bank: Path, models_dir: Path, *names: str) -> None:
    """Copy trained model folders from the session bank into a fresh ``models/``."""
    models_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copytree(bank / name, models_dir / name)


__all__ = ["BROKEN_KINDS", "install", "next_version", "publish_broken", "publish_valid", "sha256_file"]
