"""Crash-safe file writes: temp file + fsync + rename.

A rename inside one folder is atomic on POSIX: readers see the old file or the new one,
never half of each. Writing to ``.tmp-*`` first, flushing it to disk (``fsync``) and only
then renaming it into place is how the lake and the model store guarantee that a crash
mid-write leaves every earlier version intact.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["TMP_PREFIX", "atomic_write", "atomic_write_bytes", "atomic_write_text", "clean_temp_files",
           "fsync_dir", "sha256_file"]

TMP_PREFIX = ".tmp-"


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (the rename itself) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[IO[bytes]], None], *, overwrite: bool = True) -> None:
    """Call ``write(fh)`` on a temp file beside ``path``, fsync it, then rename it into place.

    With ``overwrite=False`` an existing ``path`` is never replaced (write-once versions):
    ``FileExistsError`` is raised and the temp file removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes the file private (0600); a plain open() would not
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails with FileExistsError if a version already sits there
            tmp.unlink()
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` can only be read by setting it,
    which would race with threads creating files meanwhile)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def atomic_write_bytes(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    atomic_write(path, write, overwrite=overwrite)


def atomic_write_text(path: Path, text: str, *, overwrite: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def clean_temp_files(root: Path) -> int:
    """Remove leftovers of interrupted writes (``.tmp-*`` files and folders) under ``root``."""
    import shutil

    removed = 0
    if not root.exists():
        return 0
    for leftover in root.rglob(f"{TMP_PREFIX}*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed
