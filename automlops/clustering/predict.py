"""Assigning rows to the clusters of a saved model: the one function the CLI, the API and the
dashboard call. It checks the rows against what the model was trained on (every input column
present, numbers parsable) and returns one ``prediction`` column: the cluster of each row, ``-1``
for noise (density methods)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automlops.core.features import NUMERIC
from automlops.errors import DataError

__all__ = ["predict_table"]


def _numbers(frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """Numeric columns parsed as numbers; DataError naming a column whose text is not a number."""
    features = (meta.get("feature_schema") or {}).get("features") or []
    out = frame.copy()
    for spec in features:
        name = spec["name"]
        if spec.get("kind") != NUMERIC or name not in out.columns:
            continue
        parsed = pd.to_numeric(out[name], errors="coerce")
        bad = parsed.isna() & out[name].notna()
        if bad.any():
            raise DataError(f"column '{name}' should hold numbers but has {int(bad.sum())} value(s) that are not, "
                            f"e.g. {out[name][bad].iloc[0]!r}")
        out[name] = parsed
    return out


def predict_table(model: Any, meta: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """The cluster of each row of ``frame`` as a one-column table (``prediction``, int), same order."""
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise DataError("there are no rows to assign to clusters")
    columns = list(meta.get("input_columns") or [])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{len(missing)} column(s) the model needs are missing: {', '.join(map(repr, missing))}")
    rows = _numbers(frame[columns].reset_index(drop=True), meta)
    try:
        labels = np.asarray(model.predict(rows), dtype=int)
    except (ValueError, TypeError) as exc:
        raise DataError(f"these rows cannot be assigned to clusters: {exc}") from None
    return pd.DataFrame({"prediction": labels})
