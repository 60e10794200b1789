"""Give freed memory back to the operating system.

When Python frees a large object (a fitted model, a fold's copy of the data), the C allocator
(glibc's ``malloc`` on Linux) usually keeps the pages for later instead of returning them: the
process's resident memory stays at its high-water mark even though most of it is free. Between
trials of a search this adds up (each trial builds and drops whole models), so the driver calls
:func:`release_unused_memory` after every trial: ``malloc_trim(0)`` asks glibc to hand back
every free page it can. It costs a millisecond or two and does nothing where glibc is absent
(macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache

__all__ = ["release_unused_memory"]


@cache
def _malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # no glibc: nothing to trim
        return None


def release_unused_memory(collect: bool = False) -> None:
    """Return free heap pages to the OS; with ``collect``, run the garbage collector first (slower)."""
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]
