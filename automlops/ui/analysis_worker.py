"""The worker process of one background analysis: run the job function, write what happens.

:mod:`automlops.ui.analysis_jobs` starts this module's :func:`main` in a fresh, *spawned* Python
process (:mod:`automlops.ui.job_process` explains why a process and why spawn). It imports the
analysis's job function by its ``"module:function"`` name and calls it as

    ``run_job(params, report, cancelled) -> dict``

* ``report(fraction, message)`` writes the progress (0..1) and a sentence into the analysis
  table (at most ten writes a second: a job may report after every tiny step);
* ``cancelled()`` says whether the user pressed Cancel (a SIGTERM from the dashboard, or the
  table's ``cancel_requested`` flag set by any dashboard process). The job function polls it and
  returns early with a partial result marked ``"cancelled": True``.

The outcome is one final write: ``finished`` with the result as JSON; ``cancelled`` (with the
partial result, if any); ``failed`` with the message of an :class:`~automlops.errors.AutoMLOpsError`
— a sentence meant for the user, never a traceback. Anything else is a bug: the traceback goes to
the log (the dashboard's stderr) and the user reads a short generic message.

This module imports only the standard library and two tiny studio modules, so the worker's start
costs no more than the job function's own imports.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automlops.core.jsonable import jsonable
from automlops.errors import AutoMLOpsError
from automlops.ui.analysis_store import AnalysisStore

__all__ = ["CANCELLED_TEXT", "GENERIC_ERROR", "Reporter", "load_target", "main"]

log = logging.getLogger(__name__)
GENERIC_ERROR = "the analysis stopped on an unexpected error ({name}); the details are in the dashboard's log"
CANCELLED_TEXT = "cancelled: the analysis stopped early; what it measured before is kept"
REPORT_EVERY_S = 0.1
CHECK_TABLE_EVERY_S = 0.5
JobFunction = Callable[[dict[str, Any], Callable[[float, str], None], Callable[[], bool]], dict[str, Any]]


def load_target(target: str) -> JobFunction:
    """The job function named ``"package.module:function"``."""
    module, _, name = target.partition(":")
    function = getattr(importlib.import_module(module), name, None)
    if not callable(function):
        raise AutoMLOpsError(f"{target} is not a job function")
    return function  # type: ignore[no-any-return]


class Reporter:
    """``report(fraction, message)`` for the job function: the progress columns of its row."""

    def __init__(self, store: AnalysisStore, job_id: str) -> None:
        self.store, self.job_id = store, job_id
        self.fraction, self.message = 0.0, ""
        self._written = 0.0
        self._pending = False

    def __call__(self, fraction: float, message: str = "") -> None:
        try:
            value = float(fraction)
        except (TypeError, ValueError):
            value = self.fraction
        self.fraction = min(1.0, max(0.0, value)) if math.isfinite(value) else self.fraction
        self.message = str(message) if message else self.message
        self._pending = True
        if time.monotonic() - self._written >= REPORT_EVERY_S:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        try:
            self.store.update(self.job_id, only_active=True, progress=self.fraction, message=self.message)
        except sqlite3.Error as exc:  # progress reporting must never stop an analysis
            log.warning("analysis %s: progress not recorded: %s", self.job_id, exc)
        self._written, self._pending = time.monotonic(), False


class StopFlag:
    """``cancelled()`` for the job function: a SIGTERM from the dashboard, or the table's flag."""

    def __init__(self, store: AnalysisStore, job_id: str) -> None:
        self.store, self.job_id = store, job_id
        self.flag = threading.Event()
        self._checked = 0.0

    def __call__(self) -> bool:
        if self.flag.is_set():
            return True
        if time.monotonic() - self._checked >= CHECK_TABLE_EVERY_S:
            self._checked = time.monotonic()
            try:
                if self.store.cancel_requested(self.job_id):
                    self.flag.set()
            except sqlite3.Error as exc:
                log.warning("analysis %s: cancel flag not read: %s", self.job_id, exc)
        return self.flag.is_set()


def _signals(flag: StopFlag) -> None:
    """SIGTERM asks for a clean stop; Ctrl+C in the dashboard's terminal is the dashboard's business."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: flag.flag.set())


def outcome(target: str, params: dict[str, Any], report: Reporter, cancelled: StopFlag) -> dict[str, Any]:
    """Run the job function; return the columns of the analysis's final state."""
    try:
        result = load_target(target)(params, report, cancelled)
        if not isinstance(result, dict):
            raise TypeError(f"{target} returned {type(result).__name__}, not a dict")
        text = json.dumps(jsonable(result))
    except AutoMLOpsError as exc:
        if cancelled():
            return {"status": "cancelled", "error": CANCELLED_TEXT}
        return {"status": "failed", "error": str(exc) or type(exc).__name__}
    except Exception as exc:
        log.exception("analysis %s failed", target)
        return {"status": "failed", "error": GENERIC_ERROR.format(name=type(exc).__name__)}
    if result.get("cancelled") or cancelled():
        return {"status": "cancelled", "error": CANCELLED_TEXT, "result": text}
    return {"status": "finished", "result": text, "progress": 1.0, "message": "done"}


def main(job_id: str, db_path: str, target: str, params: dict[str, Any]) -> None:
    """The worker process's entry point."""
    store = AnalysisStore(Path(db_path))
    cancelled = StopFlag(store, job_id)
    _signals(cancelled)
    report = Reporter(store, job_id)
    report(0.0, "starting the analysis")
    final = outcome(target, params, report, cancelled)
    report.flush()
    store.update(job_id, only_active=True, ended=time.time(), **final)
    sys.stdout.flush()
    sys.stderr.flush()
