"""The data lake: numbered, write-once, checksummed versions of every dataset.

A model is only reproducible if the exact data it was trained on can be found again. So the
lake never edits a file: each upload or cleaning step becomes a new version
(``raw/v0001.csv``, ``processed/v0002.csv``...) and old versions stay untouched, which is what
*write-once* means. Next to each version the manifest records its SHA-256 fingerprint: a
64-character digest that changes completely if even one byte of the file changes. Recomputing
it later (:meth:`DataLake.verify`) proves the file is exactly what was stored. An upload is kept
byte for byte (its digest is the upload's own), and the same table uploaded again, even in
another encoding or delimiter, is recognised by the digest of its canonical form and reused
instead of duplicated. Files are written to a
temp file, flushed to disk and renamed into place, and the manifest is updated under a file
lock, so a crash or two people uploading at once can never leave a half-written version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeAlias

import pandas as pd

from automlops.config import Settings, get_settings
from automlops.errors import DataError, IntegrityError, NotFoundError
from automlops.mlops._atomic import (
    TMP_PREFIX,
    atomic_write_bytes,
    atomic_write_text,
    clean_temp_files,
    sha256_file,
)
from automlops.mlops._locks import flock
from automlops.mlops._profile import DatasetProfile, profile_frame
from automlops.mlops.ingest import (
    IngestResult,
    canonical_csv,
    check_frame,
    read_canonical_csv,
    read_csv_robust,
    read_source_bytes,
    table_digest,
)

__all__ = ["DataLake", "DatasetInfo", "DatasetProfile", "DatasetVersion", "dataset_name_from_filename",
           "validate_name"]

NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # always .fullmatch: "$" would accept "abc\n"
MANIFEST = "manifest.json"
LOCK = ".lock"
STAGES = ("raw", "processed")
_VERSION_FILE = re.compile(r"^v(\d+)\.csv$")

Source: TypeAlias = str | Path | bytes | IO[bytes] | pd.DataFrame


@dataclass(frozen=True)
class DatasetVersion:
    """One stored version, as recorded in the manifest, plus where it lives on disk."""

    dataset: str
    version: int
    id: str
    stage: str
    path: str
    sha256: str
    rows: int
    columns: list[str]
    dtypes: dict[str, str]
    created: str
    parent: int | None
    note: str
    source: dict[str, str | None]
    full_path: Path
    reused: bool = False
    storage: str = "canonical"  # "original": the uploaded bytes, kept exactly (older versions: canonical CSV)
    content_sha256: str | None = None  # digest of the table's canonical CSV (same table, same digest)

    def lineage(self) -> dict[str, Any]:
        """Which data trained a model: name, version, SHA-256, rows, column dtypes and file.

        A trained model carries this (in ``meta.json``, and in MLflow as the run's dataset
        input), so "exactly which rows taught it?" still has an answer after the lake has grown.
        """
        return {"name": self.dataset, "version": self.version, "sha256": self.sha256, "rows": self.rows,
                "columns": dict(self.dtypes), "source": str(self.full_path)}


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    versions: list[DatasetVersion]

    @property
    def latest(self) -> DatasetVersion:
        return self.versions[-1]


def validate_name(name: str) -> str:
    """Return ``name`` if it is a safe dataset name (letters, digits, ``_``, ``-``; 1-64)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise DataError(
            f"invalid dataset name {name!r}: use 1-64 letters, digits, '_' or '-' (no spaces, dots or slashes)"
        )
    return name


def dataset_name_from_filename(filename: str) -> str:
    """Turn an uploaded file name (``My Data (2024).csv``) into a valid name (``My_Data_2024``)."""
    base = re.split(r"[\\/]", str(filename))[-1]
    while (suffix := Path(base).suffix.lower()) in {".csv", ".tsv", ".txt", ".gz", ".zip"} and suffix:
        base = base[: -len(suffix)]
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_-")
    return name[:64].strip("_-") or "dataset"


class DataLake:
    """Versioned CSV storage under ``root`` (default ``settings.lake_dir``)."""

    def __init__(self, root: Path | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.root = Path(root) if root is not None else self.settings.lake_dir
        self._clean()

    def _clean(self) -> None:
        """Remove ``.tmp-*`` leftovers of crashed writes, skipping datasets being written now.

        A temp file of a write in progress looks exactly like a crash leftover, so each
        dataset is cleaned only if its lock can be taken without waiting.
        """
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.name.startswith(TMP_PREFIX):
                shutil.rmtree(entry, True) if entry.is_dir() else entry.unlink(missing_ok=True)
            elif entry.is_dir() and NAME_RE.fullmatch(entry.name):
                _clean_if_idle(entry)

    # ------------------------------------------------------------------ paths and manifest

    def _dir(self, name: str) -> Path:
        validate_name(name)
        path = (self.root / name).resolve()
        if path.parent != self.root.resolve():
            raise DataError(f"invalid dataset name {name!r}: it resolves outside the data lake")
        return self.root / name

    def _read_manifest(self, name: str) -> dict[str, Any]:
        path = self._dir(name) / MANIFEST
        if not path.is_file():
            raise NotFoundError(f"no dataset named '{name}' in the data lake at {self.root}")
        try:
            manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"the manifest of dataset '{name}' is unreadable: {exc}") from None
        return manifest

    def _version(self, name: str, record: dict[str, Any]) -> DatasetVersion:
        return DatasetVersion(dataset=name, full_path=self._dir(name) / record["path"], **record)

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[Path]:
        """Hold an exclusive ``flock`` on ``<dataset>/.lock`` (serializes manifest updates)."""
        folder = self._dir(name)
        created = not folder.exists()
        # create_folder: a failed first add removes the folder while others may wait for its lock
        with flock(folder / LOCK, create_folder=True):
            try:
                yield folder
            except BaseException:
                if created and not (folder / MANIFEST).exists():
                    shutil.rmtree(folder, ignore_errors=True)  # a failed first add leaves nothing
                raise

    # ------------------------------------------------------------------ writing

    def add(self, name: str, source: Source, *, note: str = "", filename: str | None = None) -> DatasetVersion:
        """Store ``source`` (path, bytes, binary file, or DataFrame) as a new raw version.

        The table is validated *before* anything is written. An uploaded file is stored byte for
        byte (its SHA-256 is the upload's); a DataFrame is stored as canonical CSV. If the same
        table (whatever its encoding or delimiter) is already a raw version of ``name``, that
        version is returned with ``reused=True``.
        """
        self._dir(name)
        if isinstance(source, pd.DataFrame):
            return self._store(name, check_frame(source), stage="raw", parent=None, note=note,
                               source={"filename": filename, "encoding": None, "delimiter": None, "decimal": None})
        data = read_source_bytes(source, self.settings.max_upload_bytes)
        result = read_csv_robust(data, max_bytes=self.settings.max_upload_bytes,
                                 max_columns=self.settings.max_columns, max_field_chars=self.settings.max_field_chars)
        return self.add_parsed(name, data, result, note=note, filename=filename or _source_filename(source))

    def add_parsed(self, name: str, data: bytes, result: IngestResult, *, note: str = "", filename: str | None = None,
                   digest: str | None = None) -> DatasetVersion:
        """Store uploaded ``data`` that :func:`read_csv_robust` already parsed into ``result``.

        For a caller that had to read the table first (``automlops train`` checks it before
        writing anything): the bytes are not parsed twice. ``digest`` is :func:`table_digest` of
        ``result.frame`` if the caller computed it already.
        """
        info = {"filename": filename, "encoding": result.encoding, "delimiter": result.delimiter,
                "decimal": result.decimal}
        return self._store(name, result.frame, stage="raw", parent=None, note=note, source=info, data=data,
                           digest=digest)

    def add_processed(self, name: str, frame: pd.DataFrame, *, parent: int, note: str = "") -> DatasetVersion:
        """Store a cleaned/derived ``frame`` as a new processed version derived from ``parent``."""
        parent_version = self.get_version(name, parent).version
        info: dict[str, str | None] = {"filename": None, "encoding": None, "delimiter": None, "decimal": None}
        return self._store(name, check_frame(frame), stage="processed", parent=parent_version,
                           note=note, source=info)

    def find_raw(self, name: str, digest: str) -> DatasetVersion | None:
        """The raw version of ``name`` whose table has :func:`table_digest` ``digest``, if any (writes nothing)."""
        if not (self._dir(name) / MANIFEST).is_file():
            return None
        for record in self._read_manifest(name)["versions"]:
            if record["stage"] == "raw" and record.get("content_sha256", record["sha256"]) == digest:
                return self._version(name, record)
        return None

    def _store(self, name: str, frame: pd.DataFrame, *, stage: str, parent: int | None, note: str,
               source: dict[str, str | None], data: bytes | None = None, digest: str | None = None) -> DatasetVersion:
        storage = "canonical" if data is None else "original"
        if data is None:
            data = canonical_csv(frame)
            content = hashlib.sha256(data).hexdigest()
        else:
            content = digest or table_digest(frame)  # the table's identity, whatever the upload's dialect
        with self._locked(name) as folder:
            manifest = _load_or_new(folder, name)
            if stage == "raw":
                for record in manifest["versions"]:
                    if record["stage"] == "raw" and record.get("content_sha256", record["sha256"]) == content:
                        return replace(self._version(name, record), reused=True)
            number = _next_number(folder, manifest)
            relative = f"{stage}/v{number:04d}.csv"
            record = {
                "version": number, "id": f"v{number:04d}", "stage": stage, "path": relative,
                "sha256": hashlib.sha256(data).hexdigest(), "rows": len(frame),
                "columns": [str(c) for c in frame.columns], "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
                "created": datetime.now(UTC).isoformat(timespec="seconds"), "parent": parent,
                "note": note, "source": source, "storage": storage, "content_sha256": content,
            }
            try:
                atomic_write_bytes(folder / relative, data, overwrite=False)
                manifest["versions"].append(record)
                atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
            except BaseException:
                _discard(folder, relative)
                raise
            return self._version(name, record)

    # ------------------------------------------------------------------ reading

    def list_datasets(self) -> list[DatasetInfo]:
        """Every dataset with a manifest, sorted by name."""
        if not self.root.is_dir():
            return []
        names = sorted(p.name for p in self.root.iterdir()
                       if p.is_dir() and NAME_RE.fullmatch(p.name) and (p / MANIFEST).is_file())
        return [DatasetInfo(name, self.versions(name)) for name in names]

    def versions(self, name: str) -> list[DatasetVersion]:
        """All versions of ``name``, oldest first."""
        records = sorted(self._read_manifest(name)["versions"], key=lambda r: r["version"])
        return [self._version(name, record) for record in records]

    def get_version(self, name: str, version: int | str | None = None) -> DatasetVersion:
        """One version: ``None``/``'latest'`` (newest), ``3``, ``'3'`` or ``'v0003'``."""
        versions = self.versions(name)
        if not versions:
            raise NotFoundError(f"dataset '{name}' has no versions yet")
        if version is None or (isinstance(version, str) and version.strip().lower() == "latest"):
            return versions[-1]
        number = _parse_version(version)
        for candidate in versions:
            if candidate.version == number:
                return candidate
        known = ", ".join(v.id for v in versions)
        raise NotFoundError(f"dataset '{name}' has no version {number}; it has {known}")

    def verify(self, name: str, version: int | str | None = None) -> bool:
        """True if the stored file still has the SHA-256 recorded when it was written."""
        entry = self.get_version(name, version)
        return entry.full_path.is_file() and sha256_file(entry.full_path) == entry.sha256

    def load(self, name: str, version: int | str | None = None, *, check: bool = True) -> pd.DataFrame:
        """Read a version back as a DataFrame with the dtypes it was stored with.

        With ``check`` (the default) the SHA-256 is verified first, so a modified file is
        refused instead of silently training on different data.
        """
        entry = self.get_version(name, version)
        if check and not self.verify(name, entry.version):
            raise IntegrityError(
                f"{name} {entry.id} does not match its recorded SHA-256: the file at {entry.full_path} "
                "was modified or damaged after it was stored; add the data again as a new version"
            )
        if entry.storage == "original":  # the upload itself: parse it exactly as when it was added
            big = 2**31 - 1  # the caps applied when it was accepted; lowering them later must not lock it away
            return read_csv_robust(entry.full_path, max_bytes=big, max_columns=big, max_field_chars=big).frame
        return read_canonical_csv(entry.full_path, entry.dtypes)

    def profile(self, name: str, version: int | str | None = None, target: str | None = None) -> DatasetProfile:
        """Rows, columns, per-column missing/unique/example, and the target's balance or stats."""
        entry = self.get_version(name, version)
        return profile_frame(self.load(name, entry.version), dataset=name, version=entry.version, label=entry.id,
                             target=target)


# ---------------------------------------------------------------------- helpers


def _clean_if_idle(folder: Path) -> None:
    """Clean ``folder``'s temp files while holding its lock, unless a writer holds it now (best effort)."""
    with contextlib.suppress(OSError), flock(folder / LOCK, blocking=False) as free:
        if free:  # else a writer is busy here: its temp files are not leftovers
            clean_temp_files(folder)


def _source_filename(source: Source) -> str | None:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) else None


def _load_or_new(folder: Path, name: str) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        return {"name": name, "versions": []}
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"the manifest of dataset '{name}' is unreadable: {exc}") from None
    return manifest


def _next_number(folder: Path, manifest: dict[str, Any]) -> int:
    """One more than any version in the manifest *or on disk* (a crash can orphan a file)."""
    numbers = [int(r["version"]) for r in manifest["versions"]]
    for stage in STAGES:
        if (folder / stage).is_dir():
            numbers += [int(m.group(1)) for p in (folder / stage).iterdir()
                        if (m := _VERSION_FILE.fullmatch(p.name)) and not p.name.startswith(TMP_PREFIX)]
    return max(numbers, default=0) + 1


def _discard(folder: Path, relative: str) -> None:
    """Undo a version whose manifest entry was never written (nothing half-done remains)."""
    (folder / relative).unlink(missing_ok=True)
    try:
        (folder / relative).parent.rmdir()  # only succeeds if the stage folder is now empty
    except OSError:
        pass


def _parse_version(version: int | str) -> int:
    if isinstance(version, bool):
        raise DataError(f"invalid version {version!r}")
    if isinstance(version, int):
        return version
    match = re.fullmatch(r"[vV]?0*(\d+)", str(version).strip())
    if not match:
        raise DataError(f"invalid version {version!r}: use a number (3), 'v0003' or 'latest'")
    return int(match.group(1))
