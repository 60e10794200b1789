"""How the served model is doing on live traffic: volume, latency and, once labels arrive, quality.

Two kinds of numbers come out of the prediction log:

* **Traffic** (always): how many requests and rows a window held, rows per hour, and the time
  the API spent on each request (``latency_ms``, logged with every request since the log gained
  that column; older rows have none). :func:`traffic_by_hour` buckets them for a chart.
* **Live quality** (only with ground truth, see :mod:`automlops.mlops.feedback`): accuracy and
  macro-F1 for classifiers, MAE and RMSE for regressors, computed on the labelled rows of the
  window. These are the numbers that say whether drift actually hurt.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["live_quality", "traffic_by_hour", "traffic_summary"]


def _same_label(value: Any) -> str:
    """A label as comparable text: ``1``, ``1.0`` and ``"1"`` are the same class."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if math.isfinite(number) and number.is_integer() else str(value)


def live_quality(task: str | None, predictions: list[Any], labels: list[Any]) -> dict[str, float]:
    """``accuracy``/``f1_macro`` (classification) or ``mae``/``rmse`` (regression); {} without labels."""
    if not labels:
        return {}
    if task in ("classification", "image_classification"):
        from sklearn.metrics import accuracy_score, f1_score

        y_pred, y_true = [_same_label(p) for p in predictions], [_same_label(t) for t in labels]
        return {"accuracy": float(accuracy_score(y_true, y_pred)),
                "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0))}
    if task == "regression":
        pairs = [(float(p), float(t)) for p, t in zip(predictions, labels, strict=True) if _number(p) and _number(t)]
        if not pairs:
            return {}
        errors = [p - t for p, t in pairs]
        return {"mae": sum(abs(e) for e in errors) / len(errors),
                "rmse": math.sqrt(sum(e * e for e in errors) / len(errors))}
    return {}


def _number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _requests(path: Path, model_name: str, since: datetime | float | None) -> pd.DataFrame:
    """``ts``, ``n_rows`` and ``latency_ms`` (None where not logged) of each request of ``model_name``."""
    import pandas as pd

    columns = ["ts", "n_rows", "latency_ms"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    where, params = "model_name = ?", [model_name]
    if since is not None:
        where += " AND ts > ?"
        params.append(since.timestamp() if isinstance(since, datetime) else float(since))  # type: ignore[arg-type]
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)) as conn:
        names = {row[1] for row in conn.execute("PRAGMA table_info(prediction_requests)")}
        if not names:
            return pd.DataFrame(columns=columns)
        latency = "latency_ms" if "latency_ms" in names else "NULL"
        rows = conn.execute(f"SELECT ts, n_rows, {latency} FROM prediction_requests WHERE {where} ORDER BY id",
                            params).fetchall()
    return pd.DataFrame(rows, columns=columns)


def traffic_summary(path: Path, model_name: str, since: datetime | float | None) -> dict[str, float]:
    """``requests``, ``rows``, ``rows_per_hour`` and, when logged, ``latency_p50_ms``/``latency_p95_ms``."""
    frame = _requests(path, model_name, since)
    if frame.empty:
        return {"requests": 0.0, "rows": 0.0}
    hours = max((float(frame["ts"].max()) - float(frame["ts"].min())) / 3600.0, 1 / 60)  # at least a minute
    out = {"requests": float(len(frame)), "rows": float(frame["n_rows"].sum()),
           "rows_per_hour": float(frame["n_rows"].sum()) / hours}
    latency = frame["latency_ms"].dropna().astype(float)
    if len(latency):
        out["latency_p50_ms"] = float(latency.quantile(0.5))
        out["latency_p95_ms"] = float(latency.quantile(0.95))
    return out


def traffic_by_hour(path: Path, model_name: str, since: datetime | float | None = None) -> pd.DataFrame:
    """One row per hour with traffic: ``hour`` (UTC), ``requests``, ``rows``, ``latency_p50_ms``."""
    import pandas as pd

    frame = _requests(path, model_name, since)
    if frame.empty:
        return pd.DataFrame(columns=["hour", "requests", "rows", "latency_p50_ms"])
    frame["hour"] = pd.to_datetime(frame["ts"], unit="s", utc=True).dt.floor("h")
    frame["latency_ms"] = pd.to_numeric(frame["latency_ms"], errors="coerce")
    grouped = frame.groupby("hour").agg(requests=("ts", "size"), rows=("n_rows", "sum"),
                                        latency_p50_ms=("latency_ms", "median"))
    return grouped.reset_index()
