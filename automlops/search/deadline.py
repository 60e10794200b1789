"""Stopping a running fit at a deadline: what makes a time budget a *hard* promise.

The budget already refuses to *start* a trial that probably cannot finish in time. That is not
enough: a trial's cost is a guess until it has run (an MLP that does not converge, a forest of
deep trees on 30k rows), and one trial that runs 100 s past the deadline breaks the promise for
the whole command. So a fit that is still running at the deadline is **interrupted**.

How: a watchdog timer thread, armed for the deadline, raises :class:`DeadlineExceeded` *inside*
the thread that runs the fit (CPython's ``PyThreadState_SetAsyncExc``, the same mechanism as
``KeyboardInterrupt``). Every library the studio uses runs its training loop in Python – one
boosting round, one tree, one epoch, one optimiser step at a time – so the exception lands at
the next step, usually within milliseconds; a single long C call (one huge SVM solve) is only
interrupted when it returns, which is why such models are capped in rows instead.

``DeadlineExceeded`` derives from ``BaseException`` (like ``KeyboardInterrupt``), so a library's
``except Exception`` cannot swallow it; the caller catches it and throws the half-fitted model
away. A fit that finishes just as the timer fires is still reported as interrupted: the watchdog
is disarmed under a lock and any exception not yet delivered is withdrawn.

Some fits need not be thrown away. A boosting model adds one tree per round and keeps the best
round seen on its own validation rows, so stopping it early still leaves a usable model, only
with fewer trees. :func:`finish_by` tells such fits (``tabular.zoo``'s early-stopped boosting)
when to *wrap up* on their own, shortly before the watchdog would strike: a trial that would have
been lost at the deadline becomes a finished, honestly scored one.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["DeadlineExceeded", "finish_by", "interrupt_at", "interrupt_deadline", "wrap_up_deadline"]

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int


_local = threading.local()  # the wrap-up and interrupt deadlines of the fit running in this thread


class DeadlineExceeded(BaseException):
    """Raised inside a fit that was still running at its deadline."""


class _Watchdog:
    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id
        self.lock = threading.Lock()
        self.armed = True
        self.fired = False

    def fire(self) -> None:
        with self.lock:
            if self.armed:
                self.fired = True
                _set_async_exc(self.thread_id, ctypes.py_object(DeadlineExceeded))

    def disarm(self) -> None:
        with self.lock:
            self.armed = False
            if self.fired:  # withdraw an exception that has not been delivered yet (NULL clears it)
                _set_async_exc(self.thread_id, ctypes.py_object())


@contextmanager
def interrupt_at(deadline: float | None) -> Iterator[None]:
    """Run the block; if it is still running at ``deadline`` (``time.monotonic()``), interrupt it.

    ``None`` means no deadline. A deadline already past raises at once, before any work.
    Raises :class:`DeadlineExceeded` when the block was interrupted.
    """
    if deadline is None:
        yield
        return
    delay = deadline - time.monotonic()
    if delay <= 0:
        raise DeadlineExceeded()
    dog = _Watchdog(threading.get_ident())
    timer = threading.Timer(delay, dog.fire)
    timer.daemon = True
    previous = getattr(_local, "interrupt", None)
    _local.interrupt = deadline if previous is None else min(previous, deadline)
    timer.start()
    try:
        yield
    finally:
        try:  # the watchdog may strike in here: disarmed first, then the rest runs whatever happens
            dog.disarm()
        finally:
            timer.cancel()
            _local.interrupt = previous  # a stale deadline here would stop this thread's next fits at once
    if dog.fired:
        raise DeadlineExceeded()


@contextmanager
def finish_by(deadline: float | None) -> Iterator[None]:
    """Within the block, fits that can stop early and keep what they learnt should end by ``deadline``.

    Only a hint: fits that cannot stop gracefully ignore it and rely on :func:`interrupt_at`.
    """
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


def interrupt_deadline() -> float | None:
    """When the watchdog of this thread's :func:`interrupt_at` will strike (``None``: never).

    For fits whose loop runs in C and calls back into Python only between rounds (CatBoost): an
    exception raised into the callback's C wrapper is printed as a traceback before it propagates,
    so such a fit stops itself just before this moment and its caller raises
    :class:`DeadlineExceeded` from plain Python instead.
    """
    return getattr(_local, "interrupt", None)


def wrap_up_deadline() -> float | None:
    """The deadline set by :func:`finish_by` for this thread (``None``: take all the time needed)."""
    return getattr(_local, "deadline", None)
