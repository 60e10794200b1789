"""Predicting with a saved model on a new table.

A saved model remembers the columns it was trained on (``input_columns`` in ``meta.json``).
New data must contain them; extra columns are ignored, and the result keeps the user's rows
with the prediction (and, for classifiers, one probability column per class) added at the end,
so each answer sits next to the row it belongs to.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import DataError
from automlops.tabular.evaluate import predict_labels_and_proba

__all__ = ["predict_frame"]


def predict_frame(model: Any, meta: dict[str, Any], frame: pd.DataFrame, *, proba: bool = True) -> pd.DataFrame:
    """``frame`` plus a ``prediction`` column (and ``proba_<class>`` columns for classifiers)."""
    columns = list(meta.get("input_columns") or [])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise DataError(f"the data lacks column(s) the model needs: {', '.join(missing[:10])}{more}")
    if frame.empty:
        raise DataError("the table has no rows to predict")
    X = frame[columns] if columns else frame
    out = frame.copy()
    try:
        labels, probabilities = predict_labels_and_proba(model, X, classify=meta.get("task") == "classification")
        out["prediction"] = labels
        if proba and probabilities is not None:
            for i, cls in enumerate(np.asarray(model.classes_)):
                out[f"proba_{cls}"] = probabilities[:, i]
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(f"the model could not predict on this table: {exc}"[:400]) from exc
    return out
