"""Advisory file locks shared by the lake, the model store and the tracker.

``flock`` locks are cooperative: they stop *our* processes from interleaving a read-modify-
write (two uploads picking the same version number), not anyone else. A shared lock lets
several savers run while an exclusive one (cleanup) waits for all of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no fcntl; locking becomes a no-op
    fcntl = None  # type: ignore[assignment]

__all__ = ["flock"]


@contextlib.contextmanager
def flock(path: Path, *, shared: bool = False, blocking: bool = True) -> Iterator[bool]:
    """Hold an advisory lock on ``path``; yields False if ``blocking=False`` and it is taken."""
    if fcntl is None:  # pragma: no cover
        yield True
        return
    with open(path, "a+b") as fh:
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(fh.fileno(), mode)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
