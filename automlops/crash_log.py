"""A crash inside compiled code leaves every thread's Python stack in a file, not silence.

A fatal signal raised in compiled code (a segfault in a boosting library, in OpenMP, in a ctypes
call) ends the process at once: no ``except`` runs, so ``automlops train`` would stop with no
message, no model and nothing to go on. Python's :mod:`faulthandler` can write the stack of every
thread when such a signal arrives. The long-running commands point it at ``<home>/logs/crash.log``
(appended to, written only on a crash), so the terminal stays free of tracebacks and a crash can
still be reported with where it happened.
"""

from __future__ import annotations

import faulthandler
from pathlib import Path
from typing import IO

__all__ = ["CRASH_LOG", "enable_crash_log"]

CRASH_LOG = Path("logs") / "crash.log"  # under the studio's home

_handle: IO[str] | None = None  # kept open for the life of the process: faulthandler writes to its descriptor


def enable_crash_log(path: Path) -> Path | None:
    """Write the Python stacks of all threads to ``path`` if the process dies of a fatal signal.

    Returns the file in use, or ``None`` when it cannot be opened (a read-only home): crash logging
    is a diagnostic and never stops the command.
    """
    global _handle
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - must outlive this function
    except OSError:
        return None
    faulthandler.enable(file=handle, all_threads=True)
    if _handle is not None:  # the file enabled before: faulthandler no longer writes to it
        _handle.close()
    _handle = handle
    return path
