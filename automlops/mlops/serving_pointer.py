"""The serving pointer: ``models/SERVING.json``, the user's "serve this version" choice.

The prediction API keeps serving the model *name* it started with and only hot-reloads newer
versions of that name (see :mod:`automlops.serving.loader`). To make it serve something else
without a restart, the dashboard's **Serve this version** button (or :func:`point_serving_at`
from Python) writes a small JSON file at the root of the model store::

    {"name": "penguins", "version": 3, "set_at": "2026-11-30T20:15:00+00:00"}

The API reads it on every reload tick; the pointer beats ``MODEL_NAME`` / ``MODEL_VERSION``.
It is written the crash-safe way (temp file, fsync, rename), so the API reads either the old
pointer or the new one, never half of one. Removing it (:func:`clear_serving_pointer`) hands
the choice back to the pin the API started with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from automlops.errors import ModelError
from automlops.mlops._atomic import atomic_write_text
from automlops.mlops.store import NAME_PATTERN

__all__ = ["SERVING_FILE", "ServingPointer", "clear_serving_pointer", "point_serving_at", "read_serving_pointer"]

SERVING_FILE = "SERVING.json"


@dataclass(frozen=True)
class ServingPointer:
    """Which version the user asked the API to serve, and when."""

    name: str
    version: int
    set_at: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


def _validated(name: object, version: object) -> tuple[str, int]:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ModelError(f"invalid model name {name!r} in the serving pointer")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelError(f"invalid model version {version!r} in the serving pointer; versions start at 1")
    return name, version


def point_serving_at(root: Path, name: str, version: int) -> ServingPointer:
    """Ask the API serving the store at ``root`` to serve ``name`` v``version`` (atomic write)."""
    name, version = _validated(name, version)
    pointer = ServingPointer(name, version, datetime.now(UTC).isoformat(timespec="seconds"))
    text = json.dumps({"name": pointer.name, "version": pointer.version, "set_at": pointer.set_at})
    atomic_write_text(Path(root) / SERVING_FILE, text + "\n")
    return pointer


def read_serving_pointer(root: Path) -> ServingPointer | None:
    """The pointer under ``root``; None when there is none. ModelError when it is unreadable."""
    path = Path(root) / SERVING_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is unreadable ({exc}); delete it or press 'Serve this version' again") from exc
    if not isinstance(raw, dict):
        raise ModelError(f"{path} must hold an object with 'name' and 'version'")
    name, version = _validated(raw.get("name"), raw.get("version"))
    return ServingPointer(name, version, str(raw.get("set_at") or ""))


def clear_serving_pointer(root: Path) -> bool:
    """Remove the pointer (the API goes back to its start-up pin). True if there was one."""
    path = Path(root) / SERVING_FILE
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
