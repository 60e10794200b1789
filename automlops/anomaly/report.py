"""What a fitted anomaly model tells people: the score histogram and the strangest rows.

Everything here ends in ``artifact.meta``, which is written to ``meta.json``: plain lists, dicts,
floats and strings only (no numpy scalars, no NaN – missing values become ``null``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automlops.core.jsonable import jsonable

__all__ = ["TOP_ANOMALIES", "score_histogram", "top_anomalies", "top_anomalies_frame"]

TOP_ANOMALIES = 20
HISTOGRAM_BINS = 30


def _cell(value: Any) -> Any:
    """A cell ready for :func:`~automlops.core.jsonable.jsonable`: missing values (NaN, NaT) become None."""
    try:
        missing = bool(pd.isna(value))
    except (TypeError, ValueError):
        missing = False
    return None if missing else value


def score_histogram(scores: np.ndarray, bins: int = HISTOGRAM_BINS) -> dict[str, list[float]]:
    counts, edges = np.histogram(np.asarray(scores, dtype=float), bins=bins)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def top_anomalies(frame: pd.DataFrame, scores: np.ndarray, columns: list[str],
                  k: int = TOP_ANOMALIES) -> list[dict[str, Any]]:
    """The ``k`` highest-scoring rows: position in ``frame``, score, and the original feature values."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]
    records = []
    for pos in order:
        row = frame.iloc[int(pos)]
        records.append({"row": int(pos), "score": float(scores[pos]),
                        "values": {str(c): _cell(row[c]) for c in columns}})
    return list(jsonable(records))


def top_anomalies_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The records of :func:`top_anomalies` as one flat table (row, score, then the features)."""
    rows = [{"row": r["row"], "score": r["score"], **r.get("values", {})} for r in records]
    return pd.DataFrame(rows)
