"""Ground truth for live predictions: the true labels that arrive after the fact.

Drift says the *inputs* changed; only the true answers say whether the model is now *wrong*.
Those usually come later (the loan defaults or not, the customer churns or not), so the API
answers each prediction with a ``request_id`` and, whenever the truth is known, the client sends
it back to ``POST /feedback`` as ``{"request_id", "row", "label"}`` (``row`` is the row's place
in that request, 0 for a single-row request).

Labels live in a ``feedback`` table in the same SQLite file as the prediction log, keyed by
``(request_id, row)``, so a join gives "what the model said" beside "what was true"
(:func:`labelled_rows`) and live accuracy or error can be computed per window. Sending a label
again for the same row **replaces** the earlier one (a correction), and says so in
:attr:`FeedbackResult.replaced`.

A batch is all or nothing: it is checked against the log first (every request id must have
been logged, every row must exist in its request) and written in one transaction, so a batch
with one bad entry writes nothing and the error names every bad entry.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automlops.config import Settings
from automlops.errors import DataError
from automlops.mlops.monitor import _connect, _out_of_the_way, _unpack, default_log_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FeedbackItem", "FeedbackResult", "UnknownFeedbackError", "labelled_rows", "record_feedback"]

MAX_ITEMS = 10_000  # one batch; the API refuses more with 413
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    label TEXT NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (request_id, row)
);
CREATE INDEX IF NOT EXISTS prediction_requests_request_id ON prediction_requests (request_id);
"""
_LABEL_COLUMNS = ("time", "request_id", "row", "model_version", "prediction", "label")


@dataclass(frozen=True)
class FeedbackItem:
    """The true ``label`` of row ``row`` of the request ``request_id``."""

    request_id: str
    label: Any
    row: int = 0


@dataclass(frozen=True)
class FeedbackResult:
    """``recorded`` labels written, of which ``replaced`` replaced an earlier label for the same row."""

    recorded: int
    replaced: int
    request_ids: int


class UnknownFeedbackError(DataError):
    """Feedback for requests the log never saw, or rows beyond a request's size."""

    def __init__(self, message: str, unknown: Sequence[str], out_of_range: Sequence[tuple[str, int, int]]) -> None:
        super().__init__(message)
        self.unknown = list(unknown)
        self.out_of_range = list(out_of_range)  # (request_id, row, rows in that request)


@contextlib.contextmanager
def _open(path: Path) -> Iterator[sqlite3.Connection]:
    conn = _connect(path)  # the log's own tables, WAL mode
    try:
        conn.executescript(_SCHEMA)
        yield conn
    finally:
        conn.close()


def _label_json(item: FeedbackItem, index: int) -> str:
    label = item.label
    if label is None or (isinstance(label, float) and not math.isfinite(label)):
        raise DataError(f"feedback item {index} ({item.request_id!r}, row {item.row}) has no usable label: "
                        f"{label!r}; send the true class or value")
    if not isinstance(label, str | int | float | bool):
        raise DataError(f"feedback item {index}: a label must be a text, a number or a boolean, "
                        f"not {type(label).__name__}")
    return json.dumps(label)


def _check(items: Sequence[FeedbackItem]) -> list[str]:
    if not items:
        raise DataError("no feedback to record: send at least one {request_id, row, label}")
    if len(items) > MAX_ITEMS:
        raise DataError(f"{len(items):,} feedback items in one batch; the limit is {MAX_ITEMS:,}")
    labels = []
    for index, item in enumerate(items):
        if not isinstance(item.row, int) or isinstance(item.row, bool) or item.row < 0:
            raise DataError(f"feedback item {index}: row must be a whole number ≥ 0, not {item.row!r}")
        labels.append(_label_json(item, index))
    return labels


def _sizes(conn: sqlite3.Connection, request_ids: set[str]) -> dict[str, int]:
    """Rows per logged request id (the first logging of an id, should one repeat)."""
    sizes: dict[str, int] = {}
    ids = sorted(request_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for request_id, n in conn.execute(f"SELECT request_id, n_rows FROM prediction_requests WHERE request_id IN "
                                          f"({marks}) ORDER BY id DESC", chunk):
            sizes[request_id] = int(n)
    return sizes


def record_feedback(items: Sequence[FeedbackItem], *, path: Path | None = None,
                    settings: Settings | None = None) -> FeedbackResult:
    """Store true labels for logged predictions; all or nothing (see the module docstring).

    Raises :class:`UnknownFeedbackError` (a :class:`DataError`) naming every unknown request id and
    every row out of range; nothing is written then.
    """
    labels = _check(items)
    path = Path(path) if path is not None else default_log_path(settings)
    now = time.time()
    with _open(path) as conn:
        conn.execute("BEGIN IMMEDIATE")  # checks and writes see one state of the log
        try:
            sizes = _sizes(conn, {item.request_id for item in items})
            _refuse_unknown(items, sizes)
            keys = sorted({(item.request_id, item.row) for item in items})
            replaced = _existing(conn, keys)
            conn.executemany("INSERT OR REPLACE INTO feedback (request_id, row, label, ts) VALUES (?, ?, ?, ?)",
                             [(item.request_id, item.row, label, now) for item, label in zip(items, labels,
                                                                                           strict=True)])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return FeedbackResult(recorded=len(keys), replaced=replaced, request_ids=len({k[0] for k in keys}))


def _refuse_unknown(items: Sequence[FeedbackItem], sizes: dict[str, int]) -> None:
    unknown = sorted({item.request_id for item in items if item.request_id not in sizes})
    beyond = sorted({(item.request_id, item.row, sizes[item.request_id]) for item in items
                     if item.request_id in sizes and item.row >= sizes[item.request_id]})
    if not unknown and not beyond:
        return
    parts = []
    if unknown:
        shown = ", ".join(repr(r) for r in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10
                                                              else "")
        parts.append(f"unknown request id{'s' if len(unknown) > 1 else ''} {shown} (never logged by the API)")
    if beyond:
        shown = ", ".join(f"{r!r} row {row} (it has {n} row{'s' if n != 1 else ''})" for r, row, n in beyond[:10])
        parts.append(f"rows out of range: {shown}")
    raise UnknownFeedbackError("no feedback recorded: " + "; ".join(parts), unknown, beyond)


def _existing(conn: sqlite3.Connection, keys: list[tuple[str, int]]) -> int:
    count = 0
    for request_id, row in keys:
        count += conn.execute("SELECT COUNT(*) FROM feedback WHERE request_id = ? AND row = ?",
                              (request_id, row)).fetchone()[0]
    return int(count)


def labelled_rows(model_name: str, *, path: Path | None = None, settings: Settings | None = None,
                  since: datetime | float | None = None, limit: int | None = None) -> pd.DataFrame:
    """One row per labelled prediction of ``model_name``, oldest first.

    Columns: ``time``, ``request_id``, ``row``, ``model_version``, ``prediction``, ``label``, then
    the input features (a feature named like one of those keeps its name; the log's column steps
    aside with a leading ``_``, as in :func:`~automlops.mlops.monitor.read_predictions`;
    ``attrs["meta_columns"]`` says where each is). ``limit`` keeps the newest labelled rows.
    """
    import pandas as pd

    path = Path(path) if path is not None else default_log_path(settings)
    requests, labels = _labelled_requests(path, model_name, since) if path.exists() else ([], {})
    meta, inputs = _unpack(requests, True)
    rows: list[int] = []
    for request in requests:
        rows += list(range(int(request[4])))
    keep = [i for i, (rid, row) in enumerate(zip(meta["request_id"], rows, strict=True)) if (rid, row) in labels]
    features = pd.DataFrame.from_records([inputs[i] for i in keep]) if keep else pd.DataFrame()
    renames = _out_of_the_way(_LABEL_COLUMNS, [str(c) for c in features.columns])
    frame = pd.DataFrame({"time": [meta["time"][i] for i in keep],
                          "request_id": [meta["request_id"][i] for i in keep], "row": [rows[i] for i in keep],
                          "model_version": [meta["model_version"][i] for i in keep],
                          "prediction": [meta["prediction"][i] for i in keep],
                          "label": [labels[(meta["request_id"][i], rows[i])] for i in keep]},
                         columns=list(_LABEL_COLUMNS)).rename(columns=renames)
    if len(features.columns):
        frame = pd.concat([frame, features], axis=1)
    if limit is not None and len(frame) > limit:
        frame = frame.iloc[len(frame) - limit:].reset_index(drop=True)
    frame.attrs["meta_columns"] = {name: renames.get(name, name) for name in _LABEL_COLUMNS}
    frame.attrs["input_columns"] = [str(c) for c in features.columns]
    return frame


def _labelled_requests(path: Path, model_name: str, since: datetime | float | None
                       ) -> tuple[list[tuple[Any, ...]], dict[tuple[str, int], Any]]:
    """The logged requests of ``model_name`` that have feedback (oldest first), and their labels."""
    where, params = ["p.model_name = ?"], [model_name]
    if since is not None:
        where.append("p.ts > ?")
        params.append(since.timestamp() if isinstance(since, datetime) else float(since))  # type: ignore[arg-type]
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'feedback'").fetchone():
            return [], {}
        requests = conn.execute(
            "SELECT ts, request_id, model_name, model_version, n_rows, columns, inputs, predictions, classes, "
            "probabilities FROM prediction_requests p WHERE " + " AND ".join(where)
            + " AND p.request_id IN (SELECT request_id FROM feedback) ORDER BY p.id", params).fetchall()
        ids = sorted({r[1] for r in requests})
        labels: dict[tuple[str, int], Any] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for request_id, row, label in conn.execute(
                    f"SELECT request_id, row, label FROM feedback WHERE request_id IN ({marks})", chunk):
                labels[(request_id, int(row))] = json.loads(label)
    return requests, labels
