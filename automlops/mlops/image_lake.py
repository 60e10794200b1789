"""The image lake: numbered, write-once, checksummed versions of image datasets uploaded as ``.zip``.

The CSV lake keeps one file per version; an image dataset is thousands of files, so each version
here is a *folder*::

    <lake>/.images/<name>/v0001/manifest.json    what the version is (below)
    <lake>/.images/<name>/v0001/data/...         the archive's files, extracted safely

The manifest records the archive's SHA-256 (so the same zip uploaded twice is recognised and
reused), the SHA-256 of **every** extracted file (so :meth:`ImageLake.load` can prove that not one
image was changed, added or removed since), the task and layout found, the classes, the count per
class, and a summary of the image sizes. A version is built in a ``.tmp-*`` folder beside the
others: extracted, validated, hashed, described, flushed to disk, and only then renamed to
``vNNNN``, under the dataset's file lock. A refused archive or a crash leaves no version behind,
and a version, once there, is never written again.

``.images`` starts with a dot, so the CSV lake (which lists only valid dataset names) never sees it.

**Who reads the images.** ``automlops.mlops`` never imports an engine, and unpacking and checking
images is the vision engine's job. So the lake is handed an :class:`ImageReader` (two functions:
extract a zip safely, load a dataset folder): ``import automlops.vision.datasets`` registers the
vision engine's one with :func:`set_image_reader`, and ``ImageLake(reader=...)`` takes another.
Listing and describing versions needs no reader: only adding and loading do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from automlops.config import Settings, get_settings
from automlops.errors import DataError, IntegrityError, NotFoundError
from automlops.mlops._atomic import TMP_PREFIX, atomic_write_text, fsync_dir, sha256_file
from automlops.mlops._locks import flock
from automlops.mlops.lake import NAME_RE, _parse_version, validate_name

__all__ = ["IMAGES_DIR", "ImageDatasetVersion", "ImageLake", "ImageReader", "get_image_reader", "set_image_reader"]

IMAGES_DIR = ".images"
MANIFEST = "manifest.json"
DATA = "data"
LOCK = ".lock"
_VERSION_DIR = re.compile(r"v(\d{4,})")


@dataclass(frozen=True)
class ImageReader:
    """How the lake unpacks and reads image datasets (the vision engine provides it).

    ``extract(source, dest, settings) -> files``: safely unzip into the new folder ``dest`` (under
    the caps in ``settings``), or raise DataError leaving nothing. ``load(root, task) -> dataset``:
    detect and validate the layout (an ``ImageDataset``), or raise DataError.
    """

    extract: Callable[[Path | bytes, Path, Settings], list[str]]
    load: Callable[[Path, str | None], Any]


_READER: ImageReader | None = None


def set_image_reader(reader: ImageReader) -> None:
    """Register the reader every :class:`ImageLake` uses by default."""
    global _READER
    _READER = reader


def get_image_reader() -> ImageReader:
    """The registered reader (``import automlops.vision.datasets`` registers the vision engine's)."""
    if _READER is None:
        raise RuntimeError("no image reader registered: import automlops.vision.datasets first "
                           "(or pass ImageLake(reader=...))")
    return _READER


@dataclass(frozen=True)
class ImageDatasetVersion:
    """One stored version of an image dataset, as its manifest describes it."""

    name: str
    version: int
    id: str
    path: Path  # the version folder
    sha256: str  # of the uploaded archive
    task: str
    layout: str
    classes: tuple[str, ...]
    counts: dict[str, int]
    n_images: int
    created: str
    note: str
    root: Path | None = None  # the dataset's root folder (path / "data", or a wrapping folder inside it)
    n_files: int = 0
    image_sizes: dict[str, dict[str, float]] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    reused: bool = False
    task_asked: bool = False  # the task was given (--task), not detected from the layout

    def reusable_for(self, digest: str, task: str | None) -> bool:
        """Whether adding the archive ``digest`` for ``task`` (None: detect it) would store what this holds.

        The same bytes can be read two ways: a segmentation layout (``images/``, ``masks/``) forced to
        ``--task classification`` is a dataset of two classes. So without a task, only a version whose
        task was *detected* is reused; with one, only a version of that task.
        """
        return self.sha256 == digest and (self.task == task if task is not None else not self.task_asked)

    def lineage(self) -> dict[str, Any]:
        """Which images trained a model (stored in its ``meta.json`` and MLflow run)."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "rows": self.n_images,
                "kind": "images", "task": self.task, "source": str(self.path)}


class ImageLake:
    """Versioned image datasets under ``root`` (default ``settings.lake_dir / ".images"``)."""

    def __init__(self, root: Path | None = None, settings: Settings | None = None, *,
                 reader: ImageReader | None = None) -> None:
        self.settings = settings or get_settings()
        self.root = Path(root) if root is not None else self.settings.lake_dir / IMAGES_DIR
        self._reader = reader

    @property
    def reader(self) -> ImageReader:
        return self._reader or get_image_reader()

    # ------------------------------------------------------------------ writing

    def add_archive(self, name: str, source: Path | bytes, *, note: str = "", task: str | None = None,
                    filename: str | None = None) -> ImageDatasetVersion:
        """Store the zip ``source`` (path or bytes) as a new version of ``name``, or reuse an identical one.

        The archive is extracted safely, its layout detected (for ``task`` if given) and validated
        *before* the version exists; an archive with the same SHA-256, read as the same task, already
        stored is returned with ``reused=True`` (:meth:`ImageDatasetVersion.reusable_for`). Refusals raise DataError and leave nothing behind.
        """
        folder = self._dir(name)
        if not isinstance(source, bytes):
            source = Path(source)
            if not source.is_file():
                raise DataError(f"no such archive: {source}")
        digest = hashlib.sha256(source).hexdigest() if isinstance(source, bytes) else sha256_file(source)
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        shown = filename or (source.name if isinstance(source, Path) else None)
        with self._locked(name):
            for existing in self.versions(name):
                if existing.reusable_for(digest, task):
                    return replace(existing, reused=True)
            for leftover in folder.glob(f"{TMP_PREFIX}*"):  # a crashed add (we hold the lock: nobody is writing)
                shutil.rmtree(leftover, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=folder))
            try:
                number = max((v.version for v in self.versions(name)), default=0) + 1
                manifest = self._build(tmp, source, task, name=name, number=number, digest=digest, note=note,
                                       source_info={"filename": shown, "bytes": size})
                atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=1) + "\n")
                if hasattr(os, "sync"):
                    os.sync()  # every extracted file on disk before the version appears (one flush, not N fsyncs)
                os.rename(tmp, folder / manifest["id"])
                fsync_dir(folder)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return self.get_version(name, number)

    def _build(self, tmp: Path, source: Path | bytes, task: str | None, *, name: str, number: int, digest: str,
               note: str, source_info: dict[str, Any]) -> dict[str, Any]:
        """Extract and validate into ``tmp``; return the manifest of the version-to-be."""
        files = self.reader.extract(source, tmp / DATA, self.settings)
        dataset = self.reader.load(tmp / DATA, task)
        widths = [item.width for item in dataset.items]
        heights = [item.height for item in dataset.items]
        return {
            "name": name, "version": number, "id": f"v{number:04d}", "sha256": digest,
            "task": dataset.task, "task_asked": task is not None, "layout": dataset.layout,
            "classes": list(dataset.classes), "counts": dataset.counts(), "n_images": len(dataset.items), "n_files": len(files),
            "root": Path(dataset.root).resolve().relative_to(tmp.resolve()).as_posix(),
            "image_sizes": {"width": _summary(widths), "height": _summary(heights)},
            "created": datetime.now(UTC).isoformat(timespec="seconds"), "note": note, "source": source_info,
            "files": {f"{DATA}/{rel}": sha256_file(tmp / DATA / rel) for rel in files},
        }

    # ------------------------------------------------------------------ reading

    def list_datasets(self) -> list[str]:
        """Names of the image datasets with at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and NAME_RE.fullmatch(p.name) and self._version_dirs(p))

    def versions(self, name: str) -> list[ImageDatasetVersion]:
        """All versions of ``name``, oldest first (empty if there are none)."""
        folder = self._dir(name)
        return [self._version(name, path) for path in self._version_dirs(folder)]

    def get_version(self, name: str, version: int | str | None = None) -> ImageDatasetVersion:
        """One version: ``None``/``'latest'`` (newest), ``3``, ``'3'`` or ``'v0003'``."""
        versions = self.versions(name)
        if not versions:
            raise NotFoundError(f"no image dataset named '{name}' in the lake at {self.root}")
        if version is None or (isinstance(version, str) and version.strip().lower() == "latest"):
            return versions[-1]
        number = _parse_version(version)
        for candidate in versions:
            if candidate.version == number:
                return candidate
        raise NotFoundError(f"image dataset '{name}' has no version {number}; it has "
                            + ", ".join(v.id for v in versions))

    def manifest(self, name: str, version: int | str | None = None) -> dict[str, Any]:
        """The full manifest of one version (with the SHA-256 of every file)."""
        return _read_manifest(self.get_version(name, version).path)

    def check(self, name: str, version: int | str | None = None) -> ImageDatasetVersion:
        """Verify every file of a version against its SHA-256: IntegrityError naming the first difference."""
        entry = self.get_version(name, version)
        recorded: dict[str, str] = _read_manifest(entry.path)["files"]
        on_disk = {p.relative_to(entry.path).as_posix() for p in (entry.path / DATA).rglob("*")
                   if p.is_file() or p.is_symlink()}
        added = sorted(on_disk - recorded.keys())
        if added:
            raise IntegrityError(f"{name} {entry.id}: '{added[0]}' was added after the version was stored; "
                                 "add the data again as a new version")
        for rel, digest in sorted(recorded.items()):
            path = entry.path / rel
            if path.is_symlink() or not path.is_file() or sha256_file(path) != digest:
                raise IntegrityError(f"{name} {entry.id}: '{rel}' does not match its recorded SHA-256 (modified, "
                                     "damaged or removed after it was stored); add the data again as a new version")
        return entry

    def verify(self, name: str, version: int | str | None = None) -> bool:
        """True if every file of the version is exactly as stored (see :meth:`check`)."""
        try:
            self.check(name, version)
        except IntegrityError:
            return False
        return True

    def load(self, name: str, version: int | str | None = None, *, check: bool = True) -> Any:
        """The version's ``ImageDataset``, after verifying the SHA-256 of every file (``check=False`` skips it)."""
        entry = self.check(name, version) if check else self.get_version(name, version)
        return self.reader.load(entry.root or entry.path / DATA, entry.task)

    # ------------------------------------------------------------------ helpers

    def _dir(self, name: str) -> Path:
        validate_name(name)
        path = (self.root / name).resolve()
        if path.parent != self.root.resolve():
            raise DataError(f"invalid dataset name {name!r}: it resolves outside the image lake")
        return self.root / name

    @staticmethod
    def _version_dirs(folder: Path) -> list[Path]:
        if not folder.is_dir():
            return []
        found = [p for p in folder.iterdir() if _VERSION_DIR.fullmatch(p.name) and (p / MANIFEST).is_file()]
        return sorted(found, key=lambda p: int(p.name[1:]))

    def _version(self, name: str, path: Path) -> ImageDatasetVersion:
        m = _read_manifest(path)
        return ImageDatasetVersion(
            name=name, version=int(m["version"]), id=m["id"], path=path, sha256=m["sha256"], task=m["task"],
            layout=m["layout"], classes=tuple(m["classes"]), counts=dict(m["counts"]), n_images=int(m["n_images"]),
            created=m["created"], note=m.get("note", ""), root=path / m.get("root", DATA),
            n_files=int(m.get("n_files", 0)), image_sizes=m.get("image_sizes", {}), source=m.get("source", {}),
            task_asked=bool(m.get("task_asked", False)))

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[Path]:
        """Hold ``<name>/.lock``; a failed first add removes the dataset's folder again."""
        folder = self._dir(name)
        created = not folder.exists()
        with flock(folder / LOCK, create_folder=True):
            try:
                yield folder
            except BaseException:
                if created and not self._version_dirs(folder):
                    shutil.rmtree(folder, ignore_errors=True)
                raise


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"the manifest of {path} is unreadable: {exc}") from None
    return manifest


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    return {"min": min(values), "max": max(values), "median": float(statistics.median(values))}
