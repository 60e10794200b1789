"""Scoring new rows with a saved anomaly model: ``score`` and ``is_anomaly`` per row.

The CLI (``automlops predict``), the API and the dashboard all call :func:`predict_table`, so the
checks a person needs – missing columns named, no rows, values that are not numbers where numbers
were learned – are made once, here, and raised as :class:`~automlops.errors.DataError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automlops.core.features import NUMERIC
from automlops.errors import DataError

__all__ = ["predict_table"]


def _checked(meta: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise DataError("there are no rows to score")
    columns = [str(c) for c in meta.get("input_columns", [])]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{len(missing)} column(s) the model needs are missing: {', '.join(missing)}")
    X = frame[columns].reset_index(drop=True).copy()
    for feature in meta.get("feature_schema", {}).get("features", []):
        name = feature["name"]
        if feature.get("kind") == NUMERIC and not pd.api.types.is_numeric_dtype(X[name]):
            parsed = pd.to_numeric(X[name], errors="coerce")
            bad = X[name][parsed.isna() & X[name].notna()]
            if len(bad):
                raise DataError(f"column '{name}' must hold numbers; {len(bad)} value(s) are not, e.g. "
                                f"{bad.iloc[0]!r}")
            X[name] = parsed
    return X


def predict_table(model: Any, meta: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """``score`` (float, higher = more anomalous) and ``is_anomaly`` (0/1), one row per input row."""
    X = _checked(meta, frame)
    scores = np.asarray(model.score_samples(X), dtype=float)
    threshold = float(getattr(model, "threshold_", meta.get("threshold", np.inf)))
    return pd.DataFrame({"score": scores, "is_anomaly": (scores > threshold).astype(int)})
