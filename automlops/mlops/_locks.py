"""Advisory file locks shared by the lake, the model store and the tracker.

``flock`` locks are cooperative: they stop *our* processes from interleaving a read-modify-
write (two uploads picking the same version number), not anyone else. A shared lock lets
several savers run while an exclusive one (cleanup) waits for all of them.

A lock belongs to an open file, not to a path. If the holder deletes the lock file's folder
(the lake does, to roll back a failed first upload), a process that was waiting gets the lock
on a file nobody else can open any more, while a newcomer creates a fresh file at the same
path and locks *that*: both would go ahead. ``create_folder=True`` is for such locks: it
(re)creates the folder, and after locking checks the file is still the one at the path,
starting over if not.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; locking becomes a no-op
    fcntl = None  # type: ignore[assignment]

__all__ = ["flock"]


def _is_at(fh: IO[bytes], path: Path) -> bool:
    """Whether the open file ``fh`` is still the file found at ``path``."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fh.fileno())
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


@contextlib.contextmanager
def flock(path: Path, *, shared: bool = False, blocking: bool = True,
          create_folder: bool = False) -> Iterator[bool]:
    """Hold an advisory lock on ``path``; yields False if ``blocking=False`` and it is taken.

    ``create_folder``: create the lock file's folder first, and take the lock again if the file
    was removed or replaced while we waited (see the module docstring).
    """
    if fcntl is None:  # pragma: no cover
        yield True
        return
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB)
    while True:
        if create_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+b")  # noqa: SIM115 - closed below, on every path
        try:
            fcntl.flock(fh.fileno(), mode)
        except BlockingIOError:
            fh.close()
            yield False
            return
        except BaseException:
            fh.close()
            raise
        if not create_folder or _is_at(fh, path):
            break
        fh.close()  # closing releases the lock on the orphaned file
    try:
        yield True
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
