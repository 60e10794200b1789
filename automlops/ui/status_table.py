"""One SQLite table of background work (training jobs, analyses): the plumbing both tables share.

Several processes write the same file at once (the dashboard queues, starts and cancels; each worker
writes its progress), so the database runs in **WAL mode** (write-ahead log: readers never block the
one writer, and the mode is stored in the file itself) and every operation opens a **short-lived
connection** (one transaction, committed on success, rolled back on an error, then closed) instead
of sharing one across threads and processes. ``synchronous=NORMAL`` skips the fsync per commit:
with WAL the file stays consistent, and a power cut loses at most the last progress updates.

A row is *active* while its status is ``queued`` or ``running``. Final states are written with
``only_active=True`` (``... WHERE status IN ('queued', 'running')``): whoever ends a job first wins,
and the other's late write changes nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

__all__ = ["ACTIVE", "StatusTable"]

ACTIVE = ("queued", "running")
R = TypeVar("R")


class StatusTable(Generic[R]):
    """Read and write table ``table`` of the SQLite file at ``path`` (created, in WAL mode, on first use).

    A subclass names its table, its row dataclass (one field per column) and its schema.
    """

    table: ClassVar[str]
    row_type: ClassVar[type]
    schema: ClassVar[str]
    noun: ClassVar[str] = "job"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns = frozenset(f.name for f in fields(self.row_type)) - {"id"}
        with contextlib.closing(sqlite3.connect(self.path, timeout=30.0)) as con:
            con.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file itself
            con.executescript(self.schema)

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

    def _check(self, values: dict[str, Any]) -> None:
        unknown = set(values) - self.columns
        if unknown:
            raise ValueError(f"unknown {self.noun} columns: {sorted(unknown)}")

    def update(self, job_id: str, *, only_active: bool = False, **values: Any) -> bool:
        """Set columns of one row; with ``only_active`` only while it is queued or running.

        Returns whether a row changed.
        """
        self._check(values)
        if not values:
            return False
        sets = ", ".join(f"{name} = ?" for name in values)
        where = " AND status IN ('queued', 'running')" if only_active else ""
        with self._db() as con:
            cursor = con.execute(f"UPDATE {self.table} SET {sets} WHERE id = ?{where}", (*values.values(), job_id))
            return cursor.rowcount > 0

    def get(self, job_id: str) -> R | None:
        with self._db() as con:
            row = con.execute(f"SELECT * FROM {self.table} WHERE id = ?", (job_id,)).fetchone()
        return self.row_type(**dict(row)) if row is not None else None  # type: ignore[no-any-return]

    def active(self) -> list[R]:
        """Queued and running rows, oldest first."""
        with self._db() as con:
            rows = con.execute(f"SELECT * FROM {self.table} WHERE status IN ('queued', 'running') "
                               "ORDER BY created").fetchall()
        return [self.row_type(**dict(r)) for r in rows]
