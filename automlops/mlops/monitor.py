"""The prediction log: every prediction the API makes, kept for drift monitoring.

Detecting *drift* means comparing the rows a model sees in production with the rows it was
trained on; for that the service must remember what it was asked. :class:`PredictionLog`
appends each prediction (inputs, outputs, model name and version, time, request id, latency) to a
SQLite file under ``AUTOMLOPS_HOME`` (``predictions.db``), one table row per request: a
1,000-row batch is encoded once (pydantic-core's Rust JSON encoder), not a thousand times.

**Why a queue and a thread.** Writing to disk takes milliseconds and can stall (a slow disk, a
reader holding a lock); a prediction should take well under one. So the request only puts its
result on a *bounded* in-memory queue (``put_nowait``: never waits) and a background thread
turns queued batches into rows and writes them in one transaction. If the queue is full the
entry is dropped and counted (:attr:`PredictionLog.dropped`): logging never slows or fails a
request; at worst the log misses rows, and the count says how many.

:func:`read_predictions` reads the log back as a ``DataFrame`` with one column per input
feature, ready for a drift report.

**What the log does not hold.** Some models are not asked with rows of inputs, and for them drift of
live rows against training rows means nothing; :data:`UNLOGGED` names their tasks, with what watching
such a model means instead, so that ``automlops monitor`` says that rather than "only 0 logged
predictions". A *forecaster* is the case in point: a request names a horizon (no inputs at all) or
future timestamps, which lie past the training data by design – a drift test would flag every one.
What goes wrong with a forecaster is its *error* as the series moves on, and that is measured against
the actual values once they arrive, by backtesting on the newer data: adding them to the lake and
training again scores the model on the newest steps.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

from automlops.config import Settings, get_settings
from automlops.core.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["META_COLUMNS", "UNLOGGED", "PredictionLog", "PredictionRecord", "default_log_path", "read_predictions",
           "unlogged_reason"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS prediction_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    request_id TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    n_rows INTEGER NOT NULL,
    columns TEXT NOT NULL,
    inputs TEXT NOT NULL,
    predictions TEXT NOT NULL,
    classes TEXT,
    probabilities TEXT,
    latency_ms REAL
);
CREATE INDEX IF NOT EXISTS prediction_requests_ts ON prediction_requests (ts);
"""
_INSERT = ("INSERT INTO prediction_requests (ts, request_id, model_name, model_version, n_rows, columns, inputs, "
           "predictions, classes, probabilities, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


# task -> why the API logs no rows for it, and how such a model is watched instead (see the module docstring)
UNLOGGED: Registry[str] = Registry("task without logged rows")
UNLOGGED.add("timeseries", (
    "a forecast request has none (a horizon, or future timestamps that lie past the training data by design); "
    "watch a forecaster by its error instead: when the actual values arrive, add them to its data ('automlops "
    "lake add') and train again ('automlops train ... --task timeseries'): the backtest scores it on the newest "
    "steps"))
for _task, _answer in (("segmentation", "a mask per image"), ("detection", "boxes per image")):
    UNLOGGED.add(_task, (
        f"a {_task} request is not logged (its answer, {_answer}, is too big to keep per request, and column drift has no "
        "meaning for pixels); watch it by its score on new labelled images instead: add them to its image set and "
        "train again ('automlops train-vision'): the held-out images score the model on the newest data"))


def unlogged_reason(meta: Mapping[str, Any]) -> str | None:
    """Why the prediction log holds no rows of a model with this ``meta.json`` (None when it does)."""
    task = str(meta.get("task") or "")
    return UNLOGGED.get(task) if task in UNLOGGED else None


def default_log_path(settings: Settings | None = None) -> Path:
    """``AUTOMLOPS_PREDICTION_LOG`` if set, else ``<home>/predictions.db``."""
    settings = settings or get_settings()
    return Path(settings.prediction_log_path or settings.home / "predictions.db")


@dataclass(frozen=True)
class PredictionRecord:
    """One answered request: ``rows[i]`` (values in ``columns`` order) gave ``predictions[i]``."""

    ts: float
    request_id: str
    model_name: str
    model_version: int
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    predictions: Sequence[Any]
    probabilities: Sequence[Sequence[float]] | None = None
    classes: Sequence[Any] | None = None
    latency_ms: float | None = None  # time the API spent on the request, for the Monitoring page


def _json(value: Any) -> str:
    """Fast JSON (pydantic-core's Rust encoder); NaN and infinities become null."""
    return to_json(value, inf_nan_mode="null", fallback=str).decode()


def _row_of(record: PredictionRecord) -> tuple[Any, ...]:
    """One table row per request: a 1,000-row batch costs one encode, not a thousand."""
    return (record.ts, record.request_id, record.model_name, record.model_version, len(record.predictions),
            _json(list(record.columns)), _json(record.rows), _json(record.predictions),
            _json(record.classes) if record.classes is not None else None,
            _json(record.probabilities) if record.probabilities is not None else None, record.latency_ms)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    if "latency_ms" not in {row[1] for row in conn.execute("PRAGMA table_info(prediction_requests)")}:
        with contextlib.suppress(sqlite3.OperationalError):  # a log written before latency was: add the column
            conn.execute("ALTER TABLE prediction_requests ADD COLUMN latency_ms REAL")
    return conn


class PredictionLog:
    """Append-only SQLite log written by one background thread from a bounded queue."""

    def __init__(self, path: Path | None = None, *, settings: Settings | None = None, max_queue: int = 10_000,
                 batch_size: int = 256) -> None:
        self.path = Path(path) if path is not None else default_log_path(settings)
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.dropped = 0  # entries refused because the queue was full
        self.written = 0  # prediction rows written
        self.failed = 0  # prediction rows lost to a write error
        self._queue: queue.Queue[PredictionRecord | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> PredictionLog:
        """Create the table (here, so a bad path fails at startup) and start the writer thread."""
        if self._thread is None:
            _connect(self.path).close()
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (up to ``timeout`` seconds), then stop the thread."""
        if self._thread is None:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._queue.put(None, timeout=max(0.01, deadline - time.monotonic()))
                break
            except queue.Full:
                if time.monotonic() >= deadline:
                    break
        self._thread.join(max(0.0, deadline - time.monotonic()))
        self._thread = None

    def __enter__(self) -> PredictionLog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ request path
    def submit(self, record: PredictionRecord) -> bool:
        """Queue ``record`` without waiting; False (and counted) if the queue is full."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._queue.unfinished_tasks

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        conn = _connect(self.path)
        try:
            stop = False
            while not stop:
                batch: list[PredictionRecord] = []
                item = self._queue.get()
                n_got = 1
                if item is None:
                    stop = True
                else:
                    batch.append(item)
                while not stop and len(batch) < self.batch_size:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    n_got += 1
                    if item is None:
                        stop = True
                    else:
                        batch.append(item)
                self._write(conn, batch)
                for _ in range(n_got):
                    self._queue.task_done()
        finally:
            conn.close()

    def _write(self, conn: sqlite3.Connection, batch: list[PredictionRecord]) -> None:
        if not batch:
            return
        n_rows = sum(len(record.predictions) for record in batch)
        try:
            rows = [_row_of(record) for record in batch]
            with conn:
                conn.executemany(_INSERT, rows)
            self.written += n_rows
        except (sqlite3.Error, ValueError, TypeError) as exc:
            self.failed += n_rows
            log.warning("prediction log: %d rows not written to %s: %s", n_rows, self.path, exc)


META_COLUMNS = ("time", "request_id", "model_name", "model_version", "prediction", "probabilities")


def read_predictions(since: datetime | float | None = None, limit: int | None = 10_000, *,
                     path: Path | None = None, settings: Settings | None = None,
                     model_name: str | None = None, expand: bool = True) -> pd.DataFrame:
    """The logged predictions, one row per predicted row, oldest first.

    Columns: ``time``, ``request_id``, ``model_name``, ``model_version``, ``prediction``,
    ``probabilities`` (``{class: p}`` for classifiers, else None) and, with ``expand``, one
    column per input feature. ``since`` (a datetime or a Unix time) keeps rows logged after it;
    ``limit`` keeps the newest ``limit`` of those. A log that does not exist yet reads as empty.

    Input features keep their own names, because a drift report compares them with the training
    columns by name. A model may well have a feature called ``time`` or ``prediction``: then the
    log's own column steps aside with a leading underscore (``_time``). ``frame.attrs`` says where
    everything is: ``attrs["meta_columns"]`` maps each name above to its column, and
    ``attrs["input_columns"]`` lists the features.
    """
    import pandas as pd

    path = Path(path) if path is not None else default_log_path(settings)
    requests = _newest_requests(path, since, model_name, limit) if path.exists() else []
    meta, inputs = _unpack(reversed(requests), expand)
    features = pd.DataFrame.from_records(inputs) if inputs else pd.DataFrame()
    renames = _out_of_the_way(META_COLUMNS, [str(c) for c in features.columns])
    frame = pd.DataFrame(meta, columns=list(META_COLUMNS)).rename(columns=renames)
    if len(features.columns):
        frame = pd.concat([frame, features], axis=1)
    if limit is not None and len(frame) > limit:
        frame = frame.iloc[len(frame) - limit:].reset_index(drop=True)
    frame.attrs["meta_columns"] = {name: renames.get(name, name) for name in META_COLUMNS}
    frame.attrs["input_columns"] = [str(c) for c in features.columns]
    return frame


def _newest_requests(path: Path, since: datetime | float | None, model_name: str | None,
                     limit: int | None) -> list[tuple[Any, ...]]:
    """Logged requests, newest first, until they hold ``limit`` predicted rows."""
    where: list[str] = []
    params: list[Any] = []
    if since is not None:
        where.append("ts > ?")
        params.append(since.timestamp() if isinstance(since, datetime) else float(since))
    if model_name is not None:
        where.append("model_name = ?")
        params.append(model_name)
    sql = ("SELECT ts, request_id, model_name, model_version, n_rows, columns, inputs, predictions, classes, "
           "probabilities FROM prediction_requests" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY id DESC")
    requests, total = [], 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)) as conn:
        for row in conn.execute(sql, params):
            requests.append(row)
            total += int(row[4])
            if limit is not None and total >= limit:
                break
    return requests


def _unpack(requests: Iterable[tuple[Any, ...]], expand: bool) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """One entry per predicted row: the log's columns, and (with ``expand``) the row's inputs."""
    meta: dict[str, list[Any]] = {name: [] for name in META_COLUMNS}
    inputs: list[dict[str, Any]] = []
    for ts, request_id, name, version, n, columns, rows, predictions, classes, proba in requests:
        when, cols = datetime.fromtimestamp(ts, UTC), json.loads(columns)
        labels = json.loads(classes) if classes else None
        probs = json.loads(proba) if proba else [None] * n
        meta["time"] += [when] * n
        meta["request_id"] += [request_id] * n
        meta["model_name"] += [name] * n
        meta["model_version"] += [int(version)] * n
        meta["prediction"] += json.loads(predictions)
        meta["probabilities"] += [dict(zip(map(str, labels), p, strict=False)) if labels and p else None
                                  for p in probs]
        if expand:
            inputs += [dict(zip(cols, values, strict=False)) for values in json.loads(rows)]
    return meta, inputs


def _out_of_the_way(names: Sequence[str], features: Sequence[str]) -> dict[str, str]:
    """New names for the log's columns that an input feature already uses (``time`` → ``_time``)."""
    taken = set(names) | set(features)
    renames: dict[str, str] = {}
    for name in names:
        if name in features:
            new = "_" + name
            while new in taken:
                new = "_" + new
            taken.add(new)
            renames[name] = new
    return renames
