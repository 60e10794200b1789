"""The job table: every dashboard training, its progress and its result, in one SQLite file.

Several processes write here at once: the dashboard (it queues, starts, cancels jobs) and each
worker process (it reports its stage, every finished trial — and, for a vision job, every finished
epoch — and, at the end, its result). The
file is ``<home>/jobs.db`` in **WAL mode** (write-ahead logging): a writer appends its changes
to a separate ``jobs.db-wal`` file instead of rewriting the database in place, so readers keep
reading the last committed state while a worker writes; only two *writers* wait for each other,
for the few milliseconds a small update takes (``timeout`` makes them wait instead of failing).
WAL needs the processes to share memory-mapped index pages, so the home must be on a local disk
(a Docker volume is fine, a network share is not).

Each call opens its own short-lived connection: a SQLite connection must not be shared between
threads or processes, and opening one costs far less than the once-a-second page poll.

Final states are written with ``only_active=True`` (``... WHERE status IN ('queued',
'running')``): whoever ends a job first, the worker ("finished") or the dashboard ("cancelled"
after a kill), wins, and the other's late write changes nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from automlops.ui.job_types import EpochPoint, TrialPoint

__all__ = ["JobRow", "JobStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    started REAL,
    ended REAL,
    pid INTEGER,
    pid_started REAL,
    owner_pid INTEGER,
    owner_started REAL,
    run_id TEXT,
    tracking_uri TEXT NOT NULL DEFAULT '',
    n_trials INTEGER,
    budget REAL,
    best_score REAL,
    best_model TEXT,
    error TEXT,
    result TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS trials (
    job_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    model TEXT,
    state TEXT NOT NULL,
    value REAL,
    best REAL
);
CREATE INDEX IF NOT EXISTS trials_by_job ON trials (job_id);
CREATE TABLE IF NOT EXISTS epochs (
    job_id TEXT NOT NULL,
    trial INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    train_loss REAL,
    val_loss REAL,
    metric TEXT,
    value REAL,
    model TEXT
);
CREATE INDEX IF NOT EXISTS epochs_by_job ON epochs (job_id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status);
"""
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class JobRow:
    """One row of the ``jobs`` table (``request`` and ``result`` are JSON text)."""

    id: str
    created: float
    request: str
    status: str
    stage: str
    started: float | None
    ended: float | None
    pid: int | None
    pid_started: float | None
    owner_pid: int | None
    owner_started: float | None
    run_id: str | None
    tracking_uri: str
    n_trials: int | None
    budget: float | None
    best_score: float | None
    best_model: str | None
    error: str | None
    result: str | None
    cancel_requested: int

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


_COLUMNS = frozenset(f.name for f in fields(JobRow)) - {"id"}


class JobStore:
    """Read and write the job table of ``path`` (created, in WAL mode, on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(self.path, timeout=30.0)) as con:
            con.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file itself
            con.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30.0)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoints, no fsync per commit
            with con:  # one transaction: committed on success, rolled back on an error
                yield con
        finally:
            con.close()

    # ------------------------------------------------------------------ writes
    def add(self, job_id: str, request_json: str, *, created: float, tracking_uri: str, owner_pid: int,
            owner_started: float | None) -> None:
        """Insert a new job as ``queued`` (``owner_*`` identify the dashboard process that queued it)."""
        with self._db() as con:
            con.execute("INSERT INTO jobs (id, created, request, status, stage, owner_pid, owner_started, "
                        "tracking_uri) VALUES (?, ?, ?, 'queued', 'waiting for a free slot', ?, ?, ?)",
                        (job_id, created, request_json, owner_pid, owner_started, tracking_uri))

    def update(self, job_id: str, *, only_active: bool = False, **values: Any) -> bool:
        """Set columns of one job; with ``only_active`` only while it is queued or running.

        Returns whether a row changed.
        """
        unknown = set(values) - _COLUMNS
        if unknown:
            raise ValueError(f"unknown job columns: {sorted(unknown)}")
        if not values:
            return False
        sets = ", ".join(f"{name} = ?" for name in values)
        where = " AND status IN ('queued', 'running')" if only_active else ""
        with self._db() as con:
            cursor = con.execute(f"UPDATE jobs SET {sets} WHERE id = ?{where}", (*values.values(), job_id))
            return cursor.rowcount > 0

    def add_trial(self, job_id: str, point: TrialPoint, **values: Any) -> None:
        """Append a finished trial and update the job's progress columns, in one transaction."""
        self._append("INSERT INTO trials (job_id, number, model, state, value, best) VALUES (?, ?, ?, ?, ?, ?)",
                     (job_id, point.number, point.model, point.state, point.value, point.best), job_id, values)

    def add_epoch(self, job_id: str, point: EpochPoint, **values: Any) -> None:
        """Append a finished epoch (vision jobs) and update the job's progress columns, in one transaction."""
        self._append("INSERT INTO epochs (job_id, trial, epoch, train_loss, val_loss, metric, value, model) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (job_id, point.trial, point.epoch, point.train_loss,
                                                        point.val_loss, point.metric, point.value, point.model),
                     job_id, values)

    def _append(self, insert: str, row: tuple[Any, ...], job_id: str, values: dict[str, Any]) -> None:
        unknown = set(values) - _COLUMNS
        if unknown:
            raise ValueError(f"unknown job columns: {sorted(unknown)}")
        with self._db() as con:
            con.execute(insert, row)
            if values:
                sets = ", ".join(f"{name} = ?" for name in values)
                con.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*values.values(), job_id))

    # ------------------------------------------------------------------ reads
    def get(self, job_id: str) -> JobRow | None:
        with self._db() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return JobRow(**dict(row)) if row is not None else None

    def trials(self, job_id: str) -> tuple[TrialPoint, ...]:
        with self._db() as con:
            rows = con.execute("SELECT number, model, state, value, best FROM trials WHERE job_id = ? "
                               "ORDER BY rowid", (job_id,)).fetchall()
        return tuple(TrialPoint(**dict(r)) for r in rows)

    def epochs(self, job_id: str) -> tuple[EpochPoint, ...]:
        """The finished epochs of a vision job, in the order they ended."""
        with self._db() as con:
            rows = con.execute("SELECT trial, epoch, train_loss, val_loss, metric, value, model FROM epochs "
                               "WHERE job_id = ? ORDER BY rowid", (job_id,)).fetchall()
        return tuple(EpochPoint(**dict(r)) for r in rows)

    def active(self) -> list[JobRow]:
        """Queued and running jobs, oldest first."""
        with self._db() as con:
            rows = con.execute("SELECT * FROM jobs WHERE status IN ('queued', 'running') "
                               "ORDER BY created").fetchall()
        return [JobRow(**dict(r)) for r in rows]

    def recent(self, limit: int = 20) -> list[JobRow]:
        """The newest jobs first (any status)."""
        with self._db() as con:
            rows = con.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [JobRow(**dict(r)) for r in rows]
