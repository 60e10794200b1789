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

from dataclasses import dataclass
from typing import Any

from automlops.ui.job_types import EpochPoint, TrialPoint
from automlops.ui.status_table import ACTIVE, StatusTable

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


class JobStore(StatusTable[JobRow]):
    """Read and write the job table of ``path`` (see :class:`~automlops.ui.status_table.StatusTable`)."""

    table, row_type, schema, noun = "jobs", JobRow, _SCHEMA, "job"

    # ------------------------------------------------------------------ writes
    def add(self, job_id: str, request_json: str, *, created: float, tracking_uri: str, owner_pid: int,
            owner_started: float | None) -> None:
        """Insert a new job as ``queued`` (``owner_*`` identify the dashboard process that queued it)."""
        with self._db() as con:
            con.execute("INSERT INTO jobs (id, created, request, status, stage, owner_pid, owner_started, "
                        "tracking_uri) VALUES (?, ?, ?, 'queued', 'waiting for a free slot', ?, ?, ?)",
                        (job_id, created, request_json, owner_pid, owner_started, tracking_uri))

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
        self._check(values)
        with self._db() as con:
            con.execute(insert, row)
            if values:
                sets = ", ".join(f"{name} = ?" for name in values)
                con.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*values.values(), job_id))

    # ------------------------------------------------------------------ reads
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

    def recent(self, limit: int = 20) -> list[JobRow]:
        """The newest jobs first (any status)."""
        with self._db() as con:
            rows = con.execute("SELECT * FROM jobs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        return [JobRow(**dict(r)) for r in rows]
