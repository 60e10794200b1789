"""The model store: numbered, write-once, signed model versions on disk.

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

**Why versions are signed.** A joblib file is a pickle, and unpickling runs code: a pickle
can say "call ``os.system('...')``" and ``joblib.load`` will obey. So a pickle is a
*program*, not data. The store therefore only loads versions it published itself. Saving
records the file's SHA-256 in ``meta.json`` and signs the whole of ``meta.json`` with an
HMAC under a secret key kept outside ``models/`` (:mod:`automlops.mlops._signing` explains
why a bare SHA is not enough). Before it reads a model, in any format, the store checks the
signature, then that ``meta.json`` names this very folder, then the file's SHA-256. A
flipped byte, a truncated copy, a swapped file, a rewritten ``meta.json``, a version copied
in from elsewhere, or a symbolic link anywhere under the version is refused with
:class:`~automlops.errors.IntegrityError` and never loaded (design §4). skops files also go
through an allow-list of types. A version you did bring in on purpose (one saved before
signing existed) is re-signed with :meth:`ModelStore.trust` (``automlops models trust NAME@vN``).

**Why versions never change.** ``save`` writes into a hidden temp folder, flushes every file
to disk (``fsync``) and only then renames the folder to the next free ``vNNNN``. A rename is
atomic, so a reader sees either no version or a complete one; a crash leaves only a
``.tmp-*`` folder, removed the next time a store is opened. A version folder is never
rewritten: saving again makes ``v0002``. Two processes saving at once race on the rename;
the loser simply takes the next number.
"""

from __future__ import annotations

import errno
import hashlib
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
from automlops.mlops._atomic import TMP_PREFIX, atomic_write_text, clean_temp_files, fsync_dir
from automlops.mlops._locks import flock
from automlops.mlops._signing import Signer, VersionReader, plain_json, signer_for
from automlops.mlops.formats import DEFAULT_FORMAT

__all__ = ["LoadedModel", "ModelStore", "StoredModel", "parse_model_ref"]

# Always .fullmatch; \A and \Z (not ^ and $: "$" also matches before a final "\n") keep .match safe too.
NAME_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
_VERSION_DIR = re.compile(r"v(\d{4,})")
_VERSION_REF = re.compile(r"v?(\d+)", re.IGNORECASE)
MODEL_FILE = "model.joblib"  # what versions written before formats existed hold (format: DEFAULT_FORMAT)
META_FILE = "meta.json"
MAX_META_BYTES = 16 * 1024 * 1024
MAX_MODEL_BYTES = 64 * 1024**3  # for versions that do not record model_bytes
_PREDICTING_TASKS = ("classification", "regression")  # their model must have predict()
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
        match = _VERSION_REF.fullmatch(version.strip())
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


def _check_predicts(model: object, meta: Mapping[str, Any], ref: str) -> None:
    """A classifier or regressor must be able to predict: say so now, not as a crash later."""
    task = meta.get("task")
    if task in _PREDICTING_TASKS and not callable(getattr(model, "predict", None)):
        raise ModelError(f"{ref} holds a {type(model).__name__}, which cannot predict; it is not a usable "
                         f"{task} model")


class ModelStore:
    """Numbered, write-once model versions under ``root`` (see the module docstring)."""

    def __init__(self, root: Path | None = None, settings: Settings | None = None) -> None:
        if root is None:
            settings = settings or get_settings()
            root = settings.models_dir
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._settings = settings
        self._signer: Signer | None = None
        self._clean_leftovers()

    @property
    def signer(self) -> Signer:
        """The key this store signs and checks versions with (``Settings``; read once, on first use)."""
        if self._signer is None:
            self._signer = signer_for(self._settings or get_settings())
        return self._signer

    # ----------------------------------------------------------------- paths and names
    def _model_dir(self, name: str) -> Path:
        """Validate ``name`` and return its folder, refusing anything that escapes the root."""
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise ModelError(
                f"invalid model name {name!r}: use 1-64 letters, digits, '_' or '-' (no '/', '.' or spaces)"
            )
        if (self.root / name).is_symlink():
            raise ModelError(f"model folder {name!r} is a symbolic link; the model store never follows links")
        path = (self.root / name).resolve()
        if path.parent != self.root:
            raise ModelError(f"model name {name!r} resolves outside the model store")
        return path

    def _clean_leftovers(self) -> None:
        """Remove temp folders of interrupted saves, skipping names a process is saving right now."""
        for entry in self.root.iterdir():
            if entry.is_dir() and not entry.is_symlink() and NAME_PATTERN.fullmatch(entry.name):
                with flock(entry / _SAVE_LOCK, blocking=False) as free:
                    if free:
                        clean_temp_files(entry)

    def _version_numbers(self, name: str) -> list[int]:
        folder = self._model_dir(name)
        if not folder.is_dir():
            return []
        numbers = (_VERSION_DIR.fullmatch(p.name) for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
        return sorted(int(m.group(1)) for m in numbers if m)

    def names(self) -> list[str]:
        """Model names that have at least one version, sorted."""
        return sorted(
            p.name for p in self.root.iterdir()
            if p.is_dir() and not p.is_symlink() and NAME_PATTERN.fullmatch(p.name) and self._version_numbers(p.name)
        )

    # ----------------------------------------------------------------- save
    def save(self, name: str, model: object, meta: Mapping[str, Any] | None = None, *,
             format: str | None = None) -> StoredModel:
        """Write a model and its meta as the next version of ``name`` and point LATEST at it.

        ``model`` is an :class:`~automlops.core.fit.Artifact` or a bare fitted object;
        ``format`` (or the artifact's own) names a registered format. Without one, the store
        picks the best format for an artifact and joblib for a bare object.
        """
        from automlops.mlops.formats import unpack_artifact, write_model_file  # opening a store stays cheap

        obj, meta, format = unpack_artifact(model, meta, format)
        for stale in ("format_note", "trusted"):  # re-saving an old version's meta: these were about that file
            meta.pop(stale, None)
        folder = self._model_dir(name)
        self.signer  # noqa: B018 - a missing or unreadable key fails here, before anything is written
        folder.mkdir(exist_ok=True)
        with flock(folder / _SAVE_LOCK, shared=True):
            tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=folder))
            try:
                full_meta = {**meta, **write_model_file(tmp, name, obj, meta, format), "name": name,
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

    def _write_meta(self, path: Path, meta: dict[str, Any]) -> None:
        """Write ``meta`` signed: the signature covers it exactly as it will be read back."""
        text = json.dumps(self.signer.signed(plain_json(meta)), indent=2, sort_keys=True)
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
            match = _VERSION_DIR.fullmatch((folder / LATEST_FILE).read_text(encoding="utf-8").strip())
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

    @staticmethod
    def _read_meta(reader: VersionReader) -> dict[str, Any]:
        data = reader.read(META_FILE, MAX_META_BYTES)
        try:
            meta = json.loads(data)
        except ValueError as exc:
            raise IntegrityError(f"{reader.where}/{META_FILE} is unreadable ({exc}); the model will not be loaded") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("model_sha256"), str):
            raise IntegrityError(f"{reader.where}/{META_FILE} records no model_sha256; the model will not be loaded")
        return meta

    def _verified(self, name: str, number: int) -> tuple[bytes, dict[str, Any]]:
        """Signature, then the folder meta.json names, then the SHA-256: the model's bytes and meta."""
        ref = f"{name}@v{number}"
        with VersionReader(self.root, name, f"v{number:04d}") as reader:
            meta = self._read_meta(reader)
            self.signer.check(meta, ref)
            if (meta.get("name"), meta.get("version")) != (name, number):
                raise IntegrityError(f"meta.json of {ref} describes {meta.get('name')!r} v{meta.get('version')!r}: "
                                     "a version moved from another folder; it was not loaded")
            file_name, size = str(meta.get("model_file", MODEL_FILE)), meta.get("model_bytes")
            data = reader.read(file_name, size if isinstance(size, int) and size >= 0 else MAX_MODEL_BYTES)
        if hashlib.sha256(data).hexdigest() != meta["model_sha256"]:
            raise IntegrityError(f"model file {reader.where}/{file_name} does not match the SHA-256 recorded in "
                                 "meta.json (corrupted or modified); it was not loaded")
        return data, meta

    def load(self, name: str, version: int | str | None = None) -> LoadedModel:
        """Verify, then load a version (``None``/``"latest"``, ``3``, ``"v3"``, or ``"name@v3"``).

        The bytes are read once, without following links, and handed to the format
        ``meta["model_format"]`` names (joblib for versions written before formats existed)
        only after the signature and the SHA-256 matched.
        """
        from automlops.mlops.formats import get_format

        name, number = self.resolve(name, version)
        data, meta = self._verified(name, number)
        fmt = get_format(str(meta.get("model_format", DEFAULT_FORMAT)))
        try:
            model = fmt.load(data, meta)
        except AutoMLOpsError:
            raise
        except Exception as exc:
            saved = meta.get("libraries", {}).get("sklearn", "?")
            raise ModelError(
                f"could not load {name}@v{number} ({meta.get('model_file', MODEL_FILE)}): {exc} (saved with "
                f"scikit-learn {saved}; a different library version may be installed now)"
            ) from exc
        _check_predicts(model, meta, f"{name}@v{number}")
        return LoadedModel(model=model, meta=meta, path=self._model_dir(name) / f"v{number:04d}")

    def verify(self, name: str, version: int | str | None = None) -> bool:
        """True if the version is signed by this studio and its file matches (nothing is loaded)."""
        name, number = self.resolve(name, version)
        try:
            self._verified(name, number)
        except IntegrityError:
            return False
        return True

    def trust(self, name: str, version: int | str | None = None) -> StoredModel:
        """Re-sign one version on purpose: an old unsigned one, or one you brought in yourself.

        Signing says "the studio vouches for this file", and a joblib file is a program: trust
        only what you know the origin of. The file must still match the SHA-256 in its meta.
        """
        name, number = self.resolve(name, version)
        with VersionReader(self.root, name, f"v{number:04d}") as reader:
            meta = self._read_meta(reader)
            data = reader.read(str(meta.get("model_file", MODEL_FILE)), MAX_MODEL_BYTES)
        if hashlib.sha256(data).hexdigest() != meta["model_sha256"]:
            raise IntegrityError(f"{name}@v{number}: the model file does not match the SHA-256 in its meta.json; "
                                 "it will not be signed")
        meta.update(name=name, version=number, model_bytes=len(data),
                    trusted=datetime.now(UTC).isoformat(timespec="seconds"))
        text = json.dumps(self.signer.signed(meta), indent=2, sort_keys=True)
        atomic_write_text(self._model_dir(name) / f"v{number:04d}" / META_FILE, text + "\n")
        return self._stored(name, number)

    def _stored(self, name: str, version: int) -> StoredModel:
        path = self._model_dir(name) / f"v{version:04d}"
        try:
            with VersionReader(self.root, name, path.name) as reader:
                meta = self._read_meta(reader)
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
