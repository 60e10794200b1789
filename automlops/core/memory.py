"""Give freed memory back to the operating system.

When Python frees a large object (a fitted model, a fold's copy of the data), the C allocator
(glibc's ``malloc`` on Linux) usually keeps the pages for later instead of returning them: the
process's resident memory stays at its high-water mark even though most of it is free. Between
trials of a search this adds up (each trial builds and drops whole models), so the driver calls
:func:`release_unused_memory` after every trial: ``malloc_trim(0)`` asks glibc to hand back
every free page it can. It costs a millisecond or two and does nothing where glibc is absent
(macOS, Windows, musl).

CatBoost does not use glibc's allocator: its library carries its own copy of *mimalloc*, which
frees pages only when it is next called and at least ``MIMALLOC_PURGE_DELAY`` milliseconds (10 by
default) have passed since the memory was freed. After a fit nothing calls it again, so each
CatBoost trial left its high-water mark behind: four fits of growing depth on a 13k-row table
kept 58 MB, and a 60 s search on a 12-class table peaked 112 MB higher than with the pages
handed back at once. :func:`configure_native_allocators` (run when ``automlops`` is imported,
before any CatBoost import) sets the delay to 0: CatBoost then keeps ~10 MB, for fits ~5–8 %
slower. A value already in the environment is left alone, so it can be tuned or undone.

glibc itself has a habit that keeps memory too. A block of at least ``M_MMAP_THRESHOLD`` bytes
(128 KiB at start) gets its own ``mmap`` and goes back to the system when freed; smaller blocks
come from the heap, which ``free`` shrinks only when more than ``M_TRIM_THRESHOLD`` bytes are
free at its top. Both thresholds are *dynamic*: each time a mapped block is freed, the mmap
threshold rises to that block's size (up to 32 MiB) and the trim threshold to twice it. After
one 20 MB array is freed, the next 10 MB arrays live in the heap, and up to 40 MB of free heap
stays resident. A search frees arrays of every size all the time, so that slack rides under
every trial's peak. :func:`configure_native_allocators` fixes both thresholds with ``mallopt``,
which switches the dynamic rule off: blocks from 4 MiB up are mapped (and unmapped when freed),
and a free heap top over 128 KiB goes back at once, as glibc does before its first raise.

Measured with ``automlops train`` (same trials, same scores; the peak is the kernel's high-water
mark): a 16k-row 11-class table at ``--time-budget 60``, 454 / 431 / 476 MB -> 395 / 415 / 413 MB
(three seeds); a 26k-row regression table with ``--n-trials 15``, 660 -> 575 MB, at the same CPU
time (305 s). Variants tried: a 32 MiB mmap threshold kept 624 MB there, an 8 MiB trim threshold
419-444 MB on the 11-class table. Where ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_``
is already in the environment (glibc reads them at start), its value is the one applied.

Python's own garbage collector has a cost of its own. The driver runs a full collection before
the final refit (the search's garbage out of the way of the refit's peak), and a full collection
visits *every* container object in the process: ~150k after the studio's imports (0.11 s), 550k
with torch and MLflow loaded (0.3 s), more in a dashboard or test process that has run for a
while (0.6 s measured; on the 2-core CI machine it pushed an 8 s budget to 8.9 s). Nearly all of
those objects are modules, classes and functions that will never be garbage. :func:`frozen_heap`
moves the objects that exist when a training starts into the collector's *permanent generation*
(``gc.freeze``), so collections during the training visit only what the training made, and hands
them back to the collector when it ends (``gc.unfreeze``): nothing is kept longer than that.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

__all__ = ["EXPORTED_VARIABLES", "configure_native_allocators", "frozen_heap", "release_unused_memory"]

MIMALLOC_PURGE_DELAY_MS = "0"  # hand freed pages back at once (mimalloc's default waits 10 ms)

# mallopt's parameter numbers (glibc's malloc.h), the variables glibc reads at start, and the
# values the studio fixes them at.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
GLIBC_THRESHOLDS = (
    (M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", 4 * 2**20),  # blocks this big are mapped, unmapped when freed
    (M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_", 128 * 2**10),  # free heap top given back past this
)
# What :func:`configure_native_allocators` exports into ``os.environ`` (a benchmark that runs other
# tools keeps them out of their environment: they would run with the studio's allocator settings).
EXPORTED_VARIABLES = ("MIMALLOC_PURGE_DELAY", *(variable for _, variable, _ in GLIBC_THRESHOLDS))


def configure_native_allocators() -> None:
    """Make the C allocators hand freed memory back promptly; must run before CatBoost loads.

    CatBoost's mimalloc purges at once, and glibc's thresholds stop growing (see the module
    docstring). Each setting is exported unless the user set it, so processes the studio starts
    inherit it; a value the user set is the one applied.
    """
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", MIMALLOC_PURGE_DELAY_MS)
    mallopt = _libc_function("mallopt")
    for parameter, variable, studio_value in GLIBC_THRESHOLDS:
        value = os.environ.setdefault(variable, str(studio_value))
        if mallopt is not None and value.isdigit():  # glibc ignores a value that is not a number too
            mallopt(parameter, int(value))  # type: ignore[operator]


@cache
def _libc_function(name: str) -> object | None:
    """A C library function already loaded in this process, or None where it does not exist.

    ``CDLL(None)`` looks symbols up in the running program and the libraries it loaded, so
    no search for ``libc.so`` (``find_library`` starts ``ldconfig``) is needed.
    """
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, some musl builds)
        return None


def release_unused_memory(collect: bool = False) -> None:
    """Return free heap pages to the OS; with ``collect``, run the garbage collector first (slower)."""
    if collect:
        gc.collect()
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)  # type: ignore[operator]


_freeze_lock = threading.Lock()
_freeze_depth = 0  # trainings inside frozen_heap now (the dashboard may run two at once, on threads)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Inside, the garbage collector skips every object that existed on entry (see the module docstring).

    Nested or concurrent uses share one freeze: the first to enter freezes, the last to leave
    unfreezes. A reference cycle that was already garbage on entry is collected after the exit.
    """
    global _freeze_depth
    with _freeze_lock:
        if _freeze_depth == 0:
            gc.freeze()
        _freeze_depth += 1
    try:
        yield
    finally:
        with _freeze_lock:
            _freeze_depth -= 1
            if _freeze_depth == 0:
                gc.unfreeze()
