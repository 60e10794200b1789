"""Thread pools for clustering fits: one thread on a small table or a busy machine, all of them otherwise.

KMeans, the silhouette's distances and the nearest-neighbour searches run in BLAS/OpenMP thread
pools. A pool pays off only when its threads run at the same time: they meet at a barrier after
every block of work, and each waits there for the slowest. On a small table the blocks are tiny
and starting and synchronising threads costs more than it saves (on iris, with the machine busy, a
KMeans fit was 10 times slower with every core than with one). On a busy machine a thread that
is not running holds up the others at every barrier: on two cores already running other work,
KMeans on 40,000 rows took 0.4-0.8 s with both threads and 0.03-0.09 s with one, MiniBatchKMeans
1.0-1.3 s against 0.02-0.09 s (and still 3-20 times slower with threads on 200,000 rows).

So a fit gets one thread below :data:`SINGLE_THREAD_ROWS` rows, and on any table when no core is
idle besides the one this process runs on (:func:`automlops.core.cores.threads_pay`: the CPU time
other programs used recently).
"""

from __future__ import annotations

import contextlib
from typing import Any

from automlops.core.cores import threads_pay

__all__ = ["SINGLE_THREAD_ROWS", "few_threads"]

SINGLE_THREAD_ROWS = 20_000  # below this, BLAS/OpenMP threads cost more than they save (10× on iris when busy)
_CONTROLLER: Any = None


def few_threads(n_rows: int) -> Any:
    """One BLAS/OpenMP thread for a small table or a busy machine (see the module docstring), else no limit."""
    global _CONTROLLER
    if n_rows >= SINGLE_THREAD_ROWS and threads_pay():
        return contextlib.nullcontext()
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)
