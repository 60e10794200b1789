"""One skops serialisation per trained model, shared by MLflow and the model store.

A training ends by writing its model twice: into the MLflow run (``model/model.skops``) and into
the model store (``models/<name>/v<N>/model.skops``). Serialising a model is not free: skops walks
every object, copies every array into a zip and, to reload safely, the type list has to be read
back. On a 12-class boosted ensemble that is ~3 s and ~80 MB *each time*, and the old path did it
three times (a dry run to list the types, MLflow's dump + full reload check, the store's dump),
about 12 s of a 30 s budget.

:func:`skops_snapshot` serialises a fitted object once, into a private temporary file, and lists
the types the file needs; both writers copy that file. The snapshot is tied to the object's life
(a weak reference): the file is deleted when the model is garbage-collected or the process exits.
A fitted model is not changed after training, so the file stays true to it; a caller that does
change a model must call :func:`forget` first.

Two ways out skip those clean-ups: a process that ends with ``os._exit`` (the CLI and the
dashboard's training worker do, to spare the user the ML stack's slow teardown) must call
:func:`release_all` first, and a process that is killed cannot clean up at all. So each folder is
named after its process (``automlops-skops-<pid>-…``), and the first snapshot of every process
removes the folders of processes that no longer run: a cancelled job's file lasts until the next
training, not forever.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
import zipfile
from collections.abc import KeysView
from dataclasses import dataclass
from pathlib import Path

from automlops.core.memory import release_unused_memory

__all__ = ["SkopsSnapshot", "forget", "import_writer", "release_all", "skops_snapshot"]

PREFIX = "automlops-skops-"
_OWNED_BY = re.compile(re.escape(PREFIX) + r"(\d+)-")
LEGACY_MAX_AGE_S = 24 * 3600  # folders of older versions (no pid in the name) are kept this long


@dataclass(frozen=True)
class SkopsSnapshot:
    """A model saved once with skops: the file and the non-default types it needs to load."""

    path: Path
    untrusted_types: tuple[str, ...]

    def copy_to(self, destination: Path) -> Path:
        """Copy the file to ``destination`` (a file path) and return it."""
        shutil.copyfile(self.path, destination)
        return destination


# The tracking thread and the main thread may ask for the same model. Reentrant: a garbage
# collection inside the lock may finalize another model, whose clean-up (_drop) takes it again.
_lock = threading.RLock()
_snapshots: dict[int, SkopsSnapshot] = {}
_orphans_swept = False
_uncached: list[Path] = []  # folders of objects that cannot carry a weak reference


def skops_snapshot(obj: object) -> SkopsSnapshot:
    """The skops file of ``obj``, written on the first call and reused afterwards.

    Raises whatever skops raises for an object it cannot represent (the caller falls back to
    another format); nothing is cached then.
    """
    from automlops.mlops._skops import untrusted_types

    with _lock:
        cached = _snapshots.get(id(obj))
        if cached is not None and cached.path.is_file():
            return cached
        _sweep_orphans()
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        path = folder / "model.skops"
        try:
            release_unused_memory(collect=True)  # the search's garbage out of the way of the peak
            _dump_to_file(obj, path)
            release_unused_memory()  # the dump's copies of every array are garbage now
            untrusted = tuple(untrusted_types(path))  # from the schema alone, no array read back
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        snapshot = SkopsSnapshot(path, untrusted)
        try:
            weakref.finalize(obj, _drop, id(obj), folder)  # also runs at interpreter exit
        except TypeError:  # not weak-referenceable: the file goes at exit (or with release_all)
            atexit.register(shutil.rmtree, folder, True)
            _uncached.append(folder)
            return snapshot
        _snapshots[id(obj)] = snapshot
        return snapshot


def _dump_to_file(obj: object, path: Path) -> None:
    """``skops.io.dump(obj, path)``, zip-compressed, written to the file as it goes.

    ``skops.io.dump`` builds the whole zip in an in-memory buffer before writing it out: for a
    model with a few forests that buffer was the run's memory peak. This is the same format and
    the same code (skops's own ``get_state`` and ``SaveContext``) with the zip opened on the file,
    and each estimator written once (:mod:`automlops.mlops._skops_refs`). Compression level 1:
    ~10x smaller than none, at a fraction of level 9's time.
    """
    import json

    from automlops.mlops._skops import load_skops_io

    load_skops_io()  # without torch (see _skops.py)
    import skops
    import skops.io

    try:
        from skops.io._persist import get_state  # importing _persist registers every type's saver

        from automlops.mlops._skops_refs import writing_references  # extends skops.io._utils.SaveContext
    except ImportError:  # another skops layout: its public (buffered) dump
        skops.io.dump(obj, path, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        return
    with (_IndexedZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zip_file,
          writing_references() as context_type):
        context = context_type(zip_file=zip_file)  # each estimator written once (see _skops_refs.py)
        state = get_state(obj, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        zip_file.writestr("schema.json", json.dumps(state))  # skops indents it: 2x the time for a reader that ignores it


class _IndexedZipFile(zipfile.ZipFile):
    """A zip whose ``namelist()`` answers ``name in ...`` from its index instead of a fresh list.

    skops checks ``f"{id}.npy" not in zip_file.namelist()`` before writing each array, and
    ``namelist()`` builds a new list of every name so far: quadratic in the number of arrays. A
    12-class HistGradientBoosting model of 400 rounds holds 4,800 trees of 3 arrays each; its save
    took 8.1 s (a third of it in that check), and a males_industry run at 60 s ended at 85 s.
    """

    def namelist(self) -> KeysView[str]:  # type: ignore[override]
        return self.NameToInfo.keys()


def import_writer() -> None:
    """Import skops's writer now, the first time 1-2 s (it lists every estimator it trusts).

    A training calls this before its search: the import then happens on the clock that the time
    budget counts from the start, instead of inside the final save, after the search had already
    used the time the budget allowed (a 15 s budget ended at 17.8 s on a slow machine).
    """
    from importlib.util import find_spec

    from automlops.mlops._skops import load_skops_io

    if find_spec("skops") is None:  # the store falls back to joblib
        return
    load_skops_io()  # without torch (see _skops.py)
    try:
        import skops.io._persist  # noqa: F401  (registers every type's saver, as the dump does)
    except ImportError:  # another skops layout: _dump_to_file falls back to its public dump
        pass


def forget(obj: object) -> None:
    """Drop the snapshot of ``obj`` (call it before changing a model that was already saved)."""
    with _lock:
        snapshot = _snapshots.pop(id(obj), None)
    if snapshot is not None:
        shutil.rmtree(snapshot.path.parent, ignore_errors=True)


def _drop(key: int, folder: Path) -> None:
    with _lock:
        _snapshots.pop(key, None)
    shutil.rmtree(folder, ignore_errors=True)


def release_all() -> None:
    """Delete every snapshot file of this process: call it before ending with ``os._exit``.

    ``os._exit`` runs neither ``atexit`` hooks nor ``weakref.finalize``; without this, every
    training in the dashboard's worker left its model's file in the temporary folder.
    """
    with _lock:
        folders = [snapshot.path.parent for snapshot in _snapshots.values()] + _uncached
        _snapshots.clear()
        _uncached.clear()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _sweep_orphans() -> None:
    """Once per process: remove the snapshot folders of processes that ended without cleaning up."""
    global _orphans_swept
    if _orphans_swept:
        return
    _orphans_swept = True
    import psutil

    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{PREFIX}*"):
        owner = _OWNED_BY.match(folder.name)
        try:
            if owner is not None:
                orphaned = not psutil.pid_exists(int(owner.group(1)))
            else:  # an older version's name: no owner to ask, so only by age
                orphaned = time.time() - folder.stat().st_mtime > LEGACY_MAX_AGE_S
        except OSError:
            continue
        if orphaned and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
