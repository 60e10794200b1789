"""The analysis table: every background analysis of the dashboard, its progress and its result.

Like the training jobs' table (:mod:`automlops.ui.job_store`, which explains WAL mode and the
short-lived connections), this is one SQLite file under the studio home, ``<home>/analyses.db``,
written by several processes at once: the dashboard queues, starts and cancels analyses; each
worker process writes its progress (a fraction and a sentence) and, at the end, its result as
JSON. A page only reads it, so a rerun, a page switch, another browser tab or a restarted
dashboard all see the same analyses.

Final states are written with ``only_active=True`` (``... WHERE status IN ('queued',
'running')``): whoever ends an analysis first — the worker ("finished"), or the dashboard
("cancelled" after a kill, "failed" after a crash) — wins, and the other's late write changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from automlops.ui.status_table import ACTIVE, StatusTable

__all__ = ["ACTIVE", "AnalysisRow", "AnalysisStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS analyses (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    pid INTEGER,
    pid_started REAL,
    owner_pid INTEGER,
    owner_started REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS analyses_by_kind ON analyses (kind, created);
CREATE INDEX IF NOT EXISTS analyses_by_status ON analyses (status);
"""


@dataclass(frozen=True)
class AnalysisRow:
    """One row of the ``analyses`` table (``params`` and ``result`` are JSON text)."""

    id: str
    kind: str
    target: str  # "module:function" of the job function, fixed when the analysis was queued
    params: str
    status: str
    progress: float
    message: str
    result: str | None
    error: str | None
    created: float
    started: float | None
    ended: float | None
    pid: int | None
    pid_started: float | None
    owner_pid: int | None
    owner_started: float | None
    cancel_requested: int

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class AnalysisStore(StatusTable[AnalysisRow]):
    """Read and write the analysis table at ``path`` (see :class:`~automlops.ui.status_table.StatusTable`)."""

    table, row_type, schema, noun = "analyses", AnalysisRow, _SCHEMA, "analysis"

    def add(self, job_id: str, kind: str, target: str, params_json: str, *, created: float, owner_pid: int,
            owner_started: float | None) -> None:
        """Insert a new analysis as ``queued`` (``owner_*``: the dashboard process that queued it)."""
        with self._db() as con:
            con.execute("INSERT INTO analyses (id, kind, target, params, status, message, created, owner_pid, "
                        "owner_started) VALUES (?, ?, ?, ?, 'queued', 'waiting for a free slot', ?, ?, ?)",
                        (job_id, kind, target, params_json, created, owner_pid, owner_started))

    def cancel_requested(self, job_id: str) -> bool:
        """Whether someone asked this analysis to stop (the worker polls this)."""
        with self._db() as con:
            row = con.execute("SELECT cancel_requested FROM analyses WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def recent(self, kind: str, limit: int = 10) -> list[AnalysisRow]:
        """The newest analyses of ``kind`` first (any status)."""
        with self._db() as con:
            rows = con.execute("SELECT * FROM analyses WHERE kind = ? ORDER BY created DESC LIMIT ?",
                               (kind, limit)).fetchall()
        return [AnalysisRow(**dict(r)) for r in rows]
