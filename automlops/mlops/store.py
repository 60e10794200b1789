"""The model store: numbered, write-once, SHA-verified model versions on disk.

Layout under ``root`` (``settings.models_dir`` by default)::

    <name>/v0001/model.skops    the fitted object, in the format chosen for it (``model.joblib``,
                                ``model.pt``...: see :mod:`automlops.mlops.formats`)
    <name>/v0001/meta.json      what it is: kind, task, target, features, metrics, lineage, versions,
                                and how the file was written (``model_format``, ``model_file``)
    <name>/LATEST               "v0003": the version ``load(name)`` returns, moved atomically

``save`` takes an :class:`~automlops.core.fit.Artifact` (the fitted object plus its ``kind``
and metadata, as engines return it) or, the older call style, a bare object. For an artifact,
unless a format is asked for, the first registered format that can write the object wins:
skops for scikit-learn objects when skops can represent them, joblib otherwise
(``meta["format_note"]`` then says why). A bare object is written with joblib as it always
was (unless ``format=`` says otherwise), so callers and readers that expect ``model.joblib``
keep working until they move to artifacts.

**Why the SHA-256 matters.** A joblib file is a pickle, and unpickling runs code: a pickle
can say "call ``os.system('...')``" and ``joblib.load`` will obey. So a pickle is a
*program*, not data. The store therefore only loads files it wrote itself, and before it
reads anything, in any format, it recomputes the file's SHA-256 and compares it with the
digest recorded in ``meta.json`` when the file was written. A flipped byte, a truncated copy
or a swapped file is refused with :class:`~automlops.errors.IntegrityError` and never loaded
(design §4). The hash detects corruption and careless edits; it is not a signature, so keep
the folder writable only by the studio. (skops files also go through an allow-list of types.)

**Why versions never change.** ``save`` writes into a hidden temp folder, flushes every file
to disk (``fsync``) and only then renames the folder to the next free ``vNNNN``. A rename is
atomic, so a reader sees either no version or a complete one; a crash leaves only a
``.tmp-*`` folder, removed the next time a store is opened. A version folder is never
rewritten: saving again makes ``v0002``. Two processes saving at once race on the rename;
the loser simply takes the next number.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automlops.config import Settings, get_settings
from automlops.errors import AutoMLOpsError, IntegrityError, ModelError, NotFoundError
from automlops.mlops._atomic import TMP_PREFIX, atomic_write_text, clean_temp_files, fsync_dir, sha256_file
from automlops.mlops._libraries import library_versions
from automlops.mlops._locks import flock

__all__ = ["LoadedModel", "ModelStore", "StoredModel", "parse_model_ref"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VERSION_DIR = re.compile(r"^v(\d{4,})$")
_VERSION_REF = re.compile(r"^v?(\d+)$", re.IGNORECASE)
MODEL_FILE = "model.joblib"  # what versions written before formats existed hold
DEFAULT_FORMAT = "joblib"  # ...the format they were written in, and still that of bare objects
META_FILE = "meta.json"
LATEST_FILE = "LATEST"
_SAVE_LOCK = ".lock"  # shared while saving; exclusive while cleaning leftovers
_LATEST_LOCK = ".latest.lock"  # serialises moves of LATEST so it only moves forward


@dataclass(frozen=True)
class StoredModel:
    """One saved version: where it lives and what its ``meta.json`` says."""

    name: str
    version: int
    path: Path
    created: datetime
    meta: dict[str, Any] = field(repr=False)

    @property
    def ref(self) -> str:
        """``"name@v3"``: the string :func:`parse_model_ref` and :meth:`ModelStore.load` accept."""
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class LoadedModel:
    """A verified, loaded model with its metadata."""

    model: Any
    meta: dict[str, Any]
    path: Path

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def version(self) -> int:
        return int(self.meta["version"])


def parse_version(version: int | str | None) -> int | None:
    """``None``/``"latest"`` → ``None``; ``3``, ``"3"``, ``"v3"``, ``"v0003"`` → ``3``."""
    if version is None or (isinstance(version, str) and version.strip().lower() in ("", "latest")):
        return None
    if isinstance(version, bool):
        raise ModelError(f"invalid model version {version!r}")
    if isinstance(version, int):
        number = version
    else:
        match = _VERSION_REF.match(version.strip())
        if not match:
            raise ModelError(f"invalid model version {version!r}; use 3, 'v3', 'v0003' or 'latest'")
        number = int(match.group(1))
    if number < 1:
        raise ModelError(f"invalid model version {version!r}; versions start at 1")
    return number


def parse_model_ref(ref: str) -> tuple[str, int | None]:
    """Split ``"name@v3"`` into ``("name", 3)``; ``"name"`` or ``"name@latest"`` give ``None``."""
    name, _, version = ref.partition("@")
    return name, parse_version(version or None)


def _json_default(value: Any) -> Any:
    """Let numpy scalars/arrays, paths and datetimes through ``json.dumps``."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _unpack(model: object, meta: Mapping[str, Any] | None,
            format: str | None) -> tuple[object, dict[str, Any], str | None]:
    """``(object, meta, format)`` from an Artifact (its kind goes into meta) or a bare object.

    A ``None`` format means "the best one" for an artifact, and joblib for a bare object.
    """
    from automlops.core.fit import Artifact  # imported here: it pulls in pandas

    if isinstance(model, Artifact):
        merged = {**model.meta, **(meta or {}), "kind": model.kind}
        return model.obj, merged, format or model.format
    return model, dict(meta or {}), format or DEFAULT_FORMAT


def _write_model_file(folder: Path, name: str, obj: object, meta: Mapping[str, Any],
                      format: str | None) -> dict[str, Any]:
    """Write the model file into ``folder``; return what meta.json must say about it."""
    from automlops.mlops.formats import write_model  # on first use: opening a store stays cheap

    try:
        fmt, path, notes = write_model(obj, folder, meta, format)
    except ModelError as exc:
        raise ModelError(f"could not serialize the model for {name!r}: {exc}") from exc
    _fsync_file(path)
    info: dict[str, Any] = {
        "model_format": fmt.name, "model_file": path.name, "model_sha256": sha256_file(path),
        "model_bytes": path.stat().st_size, "libraries": library_versions([fmt.library] if fmt.library else []),
    }
    if notes:  # a preferred format could not represent the object
        info["format_note"] = f"{'; '.join(notes)}; saved with {fmt.name} instead"
    return info


class ModelStore:
    """Numbered, write-once model versions under ``root`` (see the module docstring)."""

    def __init__(self, root: Path | None = None, settings: Settings | None = None) -> None:
        if root is None:
            root = (settings or get_settings()).models_dir
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._clean_leftovers()

    # ----------------------------------------------------------------- paths and names
    def _model_dir(self, name: str) -> Path:
        """Validate ``name`` and return its folder, refusing anything that escapes the root."""
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ModelError(
                f"invalid model name {name!r}: use 1-64 letters, digits, '_' or '-' (no '/', '.' or spaces)"
            )
        path = (self.root / name).resolve()
        if path.parent != self.root:
            raise ModelError(f"model name {name!r} resolves outside the model store")
        return path

    def _clean_leftovers(self) -> None:
        """Remove temp folders of interrupted saves, skipping names a process is saving right now."""
        for entry in self.root.iterdir():
            if entry.is_dir() and NAME_PATTERN.match(entry.name):
                with flock(entry / _SAVE_LOCK, blocking=False) as free:
                    if free:
                        clean_temp_files(entry)

    def _version_numbers(self, name: str) -> list[int]:
        folder = self._model_dir(name)
        if not folder.is_dir():
            return []
        numbers = (_VERSION_DIR.match(p.name) for p in folder.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in numbers if m)

    def names(self) -> list[str]:
        """Model names that have at least one version, sorted."""
        return sorted(
            p.name for p in self.root.iterdir()
            if p.is_dir() and NAME_PATTERN.match(p.name) and self._version_numbers(p.name)
        )

    # ----------------------------------------------------------------- save
    def save(self, name: str, model: object, meta: Mapping[str, Any] | None = None, *,
             format: str | None = None) -> StoredModel:
        """Write a model and its meta as the next version of ``name`` and point LATEST at it.

        ``model`` is an :class:`~automlops.core.fit.Artifact` or a bare fitted object;
        ``format`` (or the artifact's own) names a registered format. Without one, the store
        picks the best format for an artifact and joblib for a bare object.
        """
        obj, meta, format = _unpack(model, meta, format)
        meta.pop("format_note", None)  # re-saving an old version's meta: the note is about that file
        folder = self._model_dir(name)
        folder.mkdir(exist_ok=True)
        with flock(folder / _SAVE_LOCK, shared=True):
            tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=folder))
            try:
                full_meta = {**meta, **_write_model_file(tmp, name, obj, meta, format), "name": name,
                             "created": datetime.now(UTC).isoformat(timespec="microseconds")}
                version = self._publish(folder, tmp, full_meta)
            except BaseException:
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._move_latest(folder, version)  # still under the save lock: its temp file is safe
        return self._stored(name, version)

    def _publish(self, folder: Path, tmp: Path, meta: dict[str, Any]) -> int:
        """Rename ``tmp`` to the next free ``vNNNN``; if another process took it, try the next."""
        version = (self._version_numbers(folder.name) or [0])[-1] + 1
        for _ in range(10_000):
            self._write_meta(tmp / META_FILE, {**meta, "version": version})
            fsync_dir(tmp)
            target = folder / f"v{version:04d}"
            if not target.exists():  # a rename onto an *empty* dir would succeed: never create one
                try:
                    os.rename(tmp, target)
                    fsync_dir(folder)
                    return version
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
            version += 1
        raise ModelError(f"could not find a free version number under {folder}")  # pragma: no cover

    @staticmethod
    def _write_meta(path: Path, meta: dict[str, Any]) -> None:
        try:
            text = json.dumps(meta, indent=2, sort_keys=True, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"model metadata is not JSON-serializable: {exc}") from exc
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _move_latest(self, folder: Path, version: int) -> None:
        """Point LATEST at ``version`` unless a concurrent save already moved it further."""
        with flock(folder / _LATEST_LOCK):
            current = self._read_latest(folder)
            if current is None or version > current:
                atomic_write_text(folder / LATEST_FILE, f"v{version:04d}\n")

    @staticmethod
    def _read_latest(folder: Path) -> int | None:
        try:
            match = _VERSION_DIR.match((folder / LATEST_FILE).read_text(encoding="utf-8").strip())
        except OSError:
            return None
        return int(match.group(1)) if match else None

    # ----------------------------------------------------------------- read
    def resolve(self, name: str, version: int | str | None = None) -> tuple[str, int]:
        """Turn ``name`` (or ``"name@v3"``) and a version spec into an existing ``(name, number)``."""
        if version is None and "@" in name:
            name, version = parse_model_ref(name)
        number = parse_version(version)
        known = self._version_numbers(name)
        if not known:
            listed = ", ".join(self.names()) or "none yet"
            raise NotFoundError(f"no model named {name!r}; known models: {listed}")
        if number is None:
            latest = self._read_latest(self._model_dir(name))
            return name, latest if latest in known else known[-1]
        if number not in known:
            listed = ", ".join(f"v{n}" for n in known)
            raise NotFoundError(f"model {name!r} has no version v{number}; known versions: {listed}")
        return name, number

    def _read_meta(self, path: Path) -> dict[str, Any]:
        meta_path = path / META_FILE
        if not meta_path.is_file():
            raise IntegrityError(f"{meta_path} is missing: the model cannot be verified and will not be loaded")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"{meta_path} is unreadable ({exc}); the model will not be loaded") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("model_sha256"), str):
            raise IntegrityError(f"{meta_path} records no model_sha256; the model will not be loaded")
        return meta

    def _verified_file(self, path: Path) -> tuple[Path, dict[str, Any]]:
        """Check the model file's SHA-256 against meta.json; raise IntegrityError if it differs."""
        meta = self._read_meta(path)
        model_path = path / str(meta.get("model_file", MODEL_FILE))
        if model_path.parent != path or not model_path.is_file():
            raise IntegrityError(f"model file {model_path} is missing")
        if sha256_file(model_path) != meta["model_sha256"]:
            raise IntegrityError(
                f"model file {model_path} does not match the SHA-256 recorded in meta.json "
                "(corrupted or modified); it was not loaded"
            )
        return model_path, meta

    def load(self, name: str, version: int | str | None = None) -> LoadedModel:
        """Verify, then load a version (``None``/``"latest"``, ``3``, ``"v3"``, or ``"name@v3"``).

        The file is read by the format ``meta["model_format"]`` names (joblib for versions
        written before formats existed), only after its SHA-256 matched.
        """
        name, number = self.resolve(name, version)
        path = self._model_dir(name) / f"v{number:04d}"
        model_path, meta = self._verified_file(path)
        from automlops.mlops.formats import get_format

        fmt = get_format(str(meta.get("model_format", DEFAULT_FORMAT)))
        try:
            model = fmt.load(model_path, meta)
        except AutoMLOpsError:
            raise
        except Exception as exc:
            saved = meta.get("libraries", {}).get("sklearn", "?")
            raise ModelError(
                f"could not load {model_path}: {exc} (saved with scikit-learn {saved}; "
                "a different library version may be installed now)"
            ) from exc
        return LoadedModel(model=model, meta=meta, path=path)

    def verify(self, name: str, version: int | str | None = None) -> bool:
        """True if the version's file matches its recorded SHA-256 (nothing is loaded)."""
        name, number = self.resolve(name, version)
        try:
            self._verified_file(self._model_dir(name) / f"v{number:04d}")
        except IntegrityError:
            return False
        return True

    def _stored(self, name: str, version: int) -> StoredModel:
        path = self._model_dir(name) / f"v{version:04d}"
        try:
            meta = self._read_meta(path)
            created = datetime.fromisoformat(meta["created"])
        except (IntegrityError, KeyError, TypeError, ValueError):  # listed, but load/verify will refuse it
            meta, created = {}, datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return StoredModel(name=name, version=version, path=path, created=created, meta=meta)

    def versions(self, name: str) -> list[StoredModel]:
        """Every version of ``name``, oldest first (NotFoundError for an unknown name)."""
        numbers = self._version_numbers(name)
        if not numbers:
            raise NotFoundError(f"no model named {name!r}; known models: {', '.join(self.names()) or 'none yet'}")
        return [self._stored(name, n) for n in numbers]

    def list_models(self) -> list[StoredModel]:
        """Every version of every model, by name then version."""
        return [self._stored(name, n) for name in self.names() for n in self._version_numbers(name)]

    def latest_overall(self) -> StoredModel | None:
        """The most recently saved version across all names (the API's hot-reload candidate)."""
        models = self.list_models()
        return max(models, key=lambda m: (m.created, m.name, m.version)) if models else None

    def __repr__(self) -> str:
        return f"ModelStore(root={str(self.root)!r})"
