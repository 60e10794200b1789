"""Running the planned refits: in parallel worker processes, in batches, within a time budget.

A stability analysis is embarrassingly parallel: every refit is independent of the others. The
refits run in a pool of worker processes (joblib's *loky* backend, reused between batches), one
batch of ``workers`` refits at a time. Between batches the runner

* checks whether the user cancelled (a partial analysis is still an analysis);
* estimates, from the refits already done, whether one more batch can finish before the
  analysis' deadline; if not, it stops *planning* work and says what it skipped.

Each refit is also given the deadline itself (a ``time.monotonic()`` value: the same clock in
every process of the machine), so a subject that honours it stops a slow fit instead of
overrunning the budget. Inside a worker every numeric library is limited to one thread: several
refits already share the cores, and oversubscribed OpenMP pools make fits many times slower.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from automlops.stability.types import Fit, Resample, StabilitySubject

__all__ = ["Plan", "RunOutcome", "Task", "fit_one", "run_tasks", "stop_workers", "worker_count"]


@dataclass(frozen=True)
class Task:
    """One refit to run: which section it belongs to, on which rows, with which seed and parameters."""

    kind: str  # "split" | "seed" | "sensitivity"
    index: int
    resample: Resample
    seed: int
    params: Mapping[str, Any] | None = None
    param: str | None = None
    value: Any = None


@dataclass
class Plan:
    """Every refit the analysis wants, in the order it should run them."""

    tasks: list[Task] = field(default_factory=list)


@dataclass
class RunOutcome:
    """What running a plan gave: the fits, the tasks not run, and whether it was cancelled."""

    fits: list[Fit]
    skipped: list[Task]
    cancelled: bool


def worker_count(n_jobs: int, n_tasks: int) -> int:
    """Worker processes to use: ``n_jobs`` (``-1`` = every core), never more than there are refits."""
    wanted = (os.cpu_count() or 1) if n_jobs < 0 else n_jobs
    return max(1, min(wanted, n_tasks))


def stop_workers() -> None:
    """End the worker processes now, not at interpreter exit (which waits for them: seconds on a busy
    machine). For a one-shot command; the dashboard keeps them for its next analysis."""
    import sys

    if "joblib.externals.loky" not in sys.modules:
        return
    from joblib.externals.loky import get_reusable_executor

    with contextlib.suppress(Exception):
        get_reusable_executor().shutdown(wait=False, kill_workers=True)


def fit_one(subject: StabilitySubject, task: Task, deadline: float | None, *, beside_others: bool = False) -> Fit:
    """Run one refit and turn whatever happens into a :class:`Fit` (an error becomes a message).

    ``beside_others``: other workers fit at the same time, so the boosting libraries get one thread
    each too (they otherwise take every core on large tables: ``early_stopping.threads_capped``).
    """
    from threadpoolctl import threadpool_limits

    from automlops.search.deadline import DeadlineExceeded
    from automlops.tabular.early_stopping import threads_capped

    start = time.perf_counter()
    score, error = float("nan"), None
    try:
        with threadpool_limits(limits=1), threads_capped(1) if beside_others else contextlib.nullcontext():
            score = float(subject.fit_score(task.resample, seed=task.seed, params=task.params, deadline=deadline))
    except (Exception, DeadlineExceeded) as exc:  # a failed refit is data for the report, not a crash
        error = _describe(exc, deadline)
    if error is None and not math.isfinite(score):
        error = "the refit gave no finite score"
    return Fit(kind=task.kind, index=task.index, score=score, seconds=time.perf_counter() - start, seed=task.seed,
               param=task.param, value=task.value, error=error)


def _describe(exc: BaseException, deadline: float | None) -> str:
    if deadline is not None and time.monotonic() >= deadline - 0.05:
        return "stopped at the time budget's deadline"
    return str(exc) or type(exc).__name__


def _run_batch(subject: StabilitySubject, batch: Sequence[Task], deadline: float | None, workers: int) -> list[Fit]:
    if workers == 1:
        return [fit_one(subject, task, deadline) for task in batch]
    from joblib import Parallel, delayed

    # every refit is interrupted at the deadline; one still out well after it is stuck in C (or its
    # worker is still starting on a machine whose cores other processes hold)
    timeout = None if deadline is None else max(5.0, deadline - time.monotonic() + 5.0)
    try:
        return list(Parallel(n_jobs=workers, backend="loky", timeout=timeout)(
            delayed(fit_one)(subject, task, deadline, beside_others=True) for task in batch))
    except (TimeoutError, multiprocessing.TimeoutError):  # a refit that ignored its deadline: give up on the batch
        return [Fit(t.kind, t.index, float("nan"), 0.0, t.seed, t.param, t.value,
                    "did not finish long after the time budget's deadline") for t in batch]


def _fits_in_time(done: Sequence[Fit], estimate: float | None, deadline: float | None) -> bool:
    """Whether one more batch is expected to finish before ``deadline`` (judged from past refits)."""
    if deadline is None:
        return True
    times = [f.seconds for f in done if f.ok]
    expected = max(times[-8:]) if times else (estimate or 0.0)
    return time.monotonic() + expected <= deadline


@contextmanager
def _workers_die_with_us(workers: int) -> Iterator[None]:
    """Kill the worker processes if this process is stopped mid-batch (SIGTERM, Ctrl-C, an error).

    A dashboard job is cancelled by terminating its process; without this its loky workers would be
    orphaned and finish their refits for nobody. SIGTERM is turned into ``SystemExit`` (in the main
    thread, when nobody else handles it) so the cleanup runs.
    """
    if workers == 1:
        yield
        return
    previous = None
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    except BaseException:
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=False, kill_workers=True)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def run_tasks(subject: StabilitySubject, tasks: Sequence[Task], *, workers: int, deadline: float | None,
              estimate: float | None = None, progress: Callable[[Fit, int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> RunOutcome:
    """Run ``tasks`` batch by batch (see the module docstring); ``progress(fit, done, total)`` after each."""
    with _workers_die_with_us(workers):
        return _run(subject, tasks, workers=workers, deadline=deadline, estimate=estimate, progress=progress,
                    cancelled=cancelled)


def _run(subject: StabilitySubject, tasks: Sequence[Task], *, workers: int, deadline: float | None,
         estimate: float | None, progress: Callable[[Fit, int, int], None] | None,
         cancelled: Callable[[], bool] | None) -> RunOutcome:
    fits: list[Fit] = []
    pending = list(tasks)
    while pending:
        if cancelled is not None and cancelled():
            return RunOutcome(fits, pending, cancelled=True)
        if not _fits_in_time(fits, estimate, deadline):  # the first batch too, judged from the estimate
            break
        batch, pending = pending[:workers], pending[workers:]
        for fit in _run_batch(subject, batch, deadline, workers):
            fits.append(fit)
            if progress is not None:
                progress(fit, len(fits), len(tasks))
    return RunOutcome(fits, pending, cancelled=False)
