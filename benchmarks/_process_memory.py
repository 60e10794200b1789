"""Peak memory of a process tree, as the benchmarks report it.

A contender is one process, sometimes with children, and "peak memory" is the most memory the
whole tree held at once. Summing every process's resident set size (RSS) at each poll gets three
things wrong, and :class:`TreeMemory` corrects each:

1. **A child between fork and exec is its parent seen twice.** Python's ``subprocess`` starts a
   helper by (v)forking the interpreter and then replacing it with the helper's program (``exec``).
   Until the exec, ``/proc`` reports the *parent's* pages and command line for the child. Training
   processes start such helpers without asking: ``platform.processor()`` runs ``uname -p``,
   ``ctypes.util.find_library`` runs ``ldconfig -p``, joblib counts cores with ``lscpu``. A poll
   that lands in that window counts a 330 MB interpreter as 660 MB (a 300 MB process running
   ``lscpu`` in a loop: 56 % of the child samples showed the parent's full RSS). Such a child is
   recognisable: it still has its parent's command line and is only milliseconds old, so it
   counts for nothing.
2. **A worker forked without exec shares its parent's pages** (``multiprocessing``'s fork start):
   they are copied only when written. Its extra memory is its *private* pages, the unique set size
   (USS), not its RSS.
3. **A poll every 0.1 s misses a short peak.** The kernel keeps the exact high-water mark of each
   process's RSS (``VmHWM`` in ``/proc/PID/status``); the root's is read at every poll, so a spike
   between two polls still counts.

A child that has exec'd another program (a helper, a worker started with ``spawn``) counts with
its RSS, as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = ["FORK_WINDOW_SECONDS", "TreeMemory", "high_water_bytes"]

# A child with its parent's command line younger than this is between fork and exec (which takes
# milliseconds), not a worker: fork-start workers live for the task they were forked for.
FORK_WINDOW_SECONDS = 0.5


def high_water_bytes(proc: psutil.Process) -> int:
    """The kernel's high-water mark of ``proc``'s resident set (``VmHWM``); 0 where ``/proc`` has none."""
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _child_bytes(child: psutil.Process) -> int | None:
    """What ``child`` adds to its ancestors' memory (see the module docstring); ``None`` for a child
    between fork and exec."""
    try:
        parent = child.parent()
        if parent is None or child.cmdline() != parent.cmdline():
            return int(child.memory_info().rss)  # its own program after exec
        if time.time() - child.create_time() < FORK_WINDOW_SECONDS:
            return None  # between fork and exec: the parent's pages, already counted
        return int(child.memory_full_info().uss)  # a forked worker: only the pages it does not share
    except psutil.Error:  # gone, or a zombie, since it was listed
        return 0


@dataclass
class TreeMemory:
    """The peak memory of the tree rooted at ``root``, updated by each :meth:`sample`.

    ``fork_windows`` counts the children caught between fork and exec (each would have added a copy
    of its parent to a plain RSS sum): the evidence, run by run, of how often that happens."""

    root: psutil.Process
    peak_bytes: int = 0
    fork_windows: int = 0

    def sample(self) -> int:
        """Measure the tree now; returns the peak so far in bytes."""
        try:
            children = self.root.children(recursive=True)
            now = int(self.root.memory_info().rss)
        except psutil.Error:  # the root has exited: its last high-water mark was read at the last poll
            return self.peak_bytes
        for child in children:
            added = _child_bytes(child)
            if added is None:
                self.fork_windows += 1
            else:
                now += added
        self.peak_bytes = max(self.peak_bytes, now, high_water_bytes(self.root))
        return self.peak_bytes
