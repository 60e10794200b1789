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
with fewer trees. :func:`finish_by` tells such fits (``tabular.early_stopping``'s boosting)
when to *wrap up* on their own, shortly before the watchdog would strike: a trial that would have
been lost at the deadline becomes a finished, honestly scored one.
"""

from __future__ import annotations

import ctypes
import threading
import time

__all__ = ["DeadlineExceeded", "finish_by", "interrupt_at", "interrupt_deadline", "live_watchdogs", "wrap_up_deadline"]

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int


class DeadlineExceeded(BaseException):
    """Raised inside a fit that was still running at its deadline."""


class _Watchdog:
    """A timer that raises :class:`DeadlineExceeded` in one thread, unless disarmed first."""

    def __init__(self, thread_id: int, deadline: float) -> None:
        self.thread_id, self.deadline = thread_id, deadline
        self.lock = threading.Lock()
        self.armed = True
        self.fired = False
        self.timer = threading.Timer(max(0.0, deadline - time.monotonic()), self.fire)
        self.timer.daemon = True

    @property
    def live(self) -> bool:
        """Armed and not fired: its deadline still governs the thread."""
        return self.armed and not self.fired

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
        self.timer.cancel()


# Why a stack of scopes and not a "previous value" restored on exit: the watchdog's exception can
# land *anywhere* in the thread, including inside a context manager's ``__exit__`` before its
# clean-up ran (with ``contextlib.contextmanager`` the generator's ``finally`` is then deferred
# to garbage collection, possibly in another thread). A restore that never ran would leave a past
# deadline behind, and the thread's next fit would stop at once. So each thread keeps its open
# scopes on a stack, and what a scope says counts only while every watchdog below it (and its own)
# is live: a scope above a fired watchdog is stale whether or not its exit ran, and the next scope
# opened in the thread drops it. An exit also closes every scope opened after it, so a nested
# watchdog whose exit was skipped is disarmed and can never strike later.

class _Scope:
    """One open ``interrupt_at`` (``dog`` set) or ``finish_by`` (``wrap_up`` set) in this thread."""

    __slots__ = ("dog", "wrap_up")

    def __init__(self, dog: _Watchdog | None = None, wrap_up: float | None = None) -> None:
        self.dog, self.wrap_up = dog, wrap_up


_local = threading.local()  # ``scopes``: the open scopes of this thread, outermost first


def _stack() -> list[_Scope]:
    stack = getattr(_local, "scopes", None)
    if stack is None:
        stack = _local.scopes = []
    return stack


def _live_scopes() -> list[_Scope]:
    """The open scopes below the first watchdog that fired or was disarmed (the rest are stale)."""
    stack = _stack()
    for depth, scope in enumerate(stack):
        if scope.dog is not None and not scope.dog.live:
            return stack[:depth]
    return stack


def _drop(scopes: list[_Scope]) -> None:
    """Disarm the watchdogs of ``scopes``, innermost first."""
    for scope in reversed(scopes):
        if scope.dog is not None:
            scope.dog.disarm()


def _open(scope: _Scope) -> None:
    stack = _stack()
    live = len(_live_scopes())
    _drop(stack[live:])  # left behind by an exit that never ran
    del stack[live:]
    stack.append(scope)


def _close(scope: _Scope) -> None:
    """Remove ``scope`` and everything opened after it; disarm their watchdogs first."""
    stack = _stack()
    depth = next((i for i, s in enumerate(stack) if s is scope), None)
    if depth is None:  # already dropped as stale by a later scope
        _drop([scope])
        return
    _drop(stack[depth:])
    del stack[depth:]


class interrupt_at:  # noqa: N801 - used like a function: ``with interrupt_at(deadline):``
    """Run the block; if it is still running at ``deadline`` (``time.monotonic()``), interrupt it.

    ``None`` means no deadline. A deadline already past raises at once, before any work.
    Raises :class:`DeadlineExceeded` when the block was interrupted.
    """

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.scope: _Scope | None = None

    def __enter__(self) -> None:
        if self.deadline is None:
            return
        if self.deadline - time.monotonic() <= 0:
            raise DeadlineExceeded()
        dog = _Watchdog(threading.get_ident(), self.deadline)
        self.scope = _Scope(dog=dog)
        _open(self.scope)
        dog.timer.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self.scope is None:
            return
        dog = self.scope.dog
        assert dog is not None
        _close(self.scope)  # disarms first: from here on no exception can arrive from this watchdog
        if dog.fired and exc_type is None:
            raise DeadlineExceeded()


class finish_by:  # noqa: N801 - used like a function: ``with finish_by(deadline):``
    """Within the block, fits that can stop early and keep what they learnt should end by ``deadline``.

    Only a hint: fits that cannot stop gracefully ignore it and rely on :func:`interrupt_at`.
    ``None`` inside an outer ``finish_by`` means: no wrap-up deadline in this block.
    """

    def __init__(self, deadline: float | None) -> None:
        self.scope = _Scope(wrap_up=deadline)

    def __enter__(self) -> None:
        _open(self.scope)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        _close(self.scope)


def interrupt_deadline() -> float | None:
    """When the watchdog of this thread's :func:`interrupt_at` will strike (``None``: never).

    For fits whose loop runs in C and calls back into Python only between rounds (CatBoost): an
    exception raised into the callback's C wrapper is printed as a traceback before it propagates,
    so such a fit stops itself just before this moment and its caller raises
    :class:`DeadlineExceeded` from plain Python instead. Forests use it to grow in chunks.
    """
    deadlines = [s.dog.deadline for s in _live_scopes() if s.dog is not None]
    return min(deadlines) if deadlines else None


def live_watchdogs() -> list[_Watchdog]:
    """This thread's watchdogs that still govern it, outermost first.

    For a fit that must change how they strike (CatBoost's, see :mod:`automlops.tabular.boosting_clock`):
    each has a ``lock``, its ``timer``, its ``deadline`` and the ``armed`` / ``fired`` flags.
    """
    return [s.dog for s in _live_scopes() if s.dog is not None]


def wrap_up_deadline() -> float | None:
    """The deadline set by the innermost live :func:`finish_by` of this thread (``None``: take all the time needed)."""
    for scope in reversed(_live_scopes()):
        if scope.dog is None:
            return scope.wrap_up
    return None
