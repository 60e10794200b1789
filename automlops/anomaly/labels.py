"""Reading a column of known anomalies, and keeping it out of the features.

A label column says which rows are *known* anomalies. It is never a feature: a detector that saw
it would simply learn it. It only judges the result (ROC-AUC, PR-AUC, precision@k) and, when asked,
picks the detector. Accepted forms: 1/0, True/False, or any column with exactly two values, in which
case the *rarer* value is taken to mark the anomalies (and the decision log says which value that was).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from automlops.errors import DataError

__all__ = ["parse_label"]


def _missing_column(frame: pd.DataFrame, label: str) -> DataError:
    sample = ", ".join(map(str, list(frame.columns)[:10]))
    return DataError(f"label column '{label}' is not in the data; columns are: {sample}")


def parse_label(frame: pd.DataFrame, label: str) -> tuple[np.ndarray, str]:
    """The label as 0/1 (1 = known anomaly) and a sentence saying how it was read."""
    if label not in frame.columns:
        raise _missing_column(frame, label)
    col = frame[label]
    n_missing = int(col.isna().sum())
    if n_missing:
        raise DataError(f"label column '{label}' has {n_missing} missing value(s); mark every row 1 (anomaly) or "
                        "0 (normal), or drop those rows")
    values = list(pd.unique(col))
    if pd.api.types.is_bool_dtype(col) or set(values) <= {0, 1}:
        y = col.astype(int).to_numpy()
        return y, f"label '{label}': 1/True marks a known anomaly ({int(y.sum())} of {len(y)} rows)"
    if len(values) != 2:
        shown = ", ".join(map(repr, values[:6]))
        raise DataError(f"label column '{label}' must have two values (normal / anomaly), it has {len(values)}: "
                        f"{shown}{', ...' if len(values) > 6 else ''}")
    counts = col.value_counts()
    anomaly = counts.index[-1] if counts.iloc[0] != counts.iloc[-1] else sorted(values, key=str)[-1]
    y = (col == anomaly).astype(int).to_numpy()
    return y, (f"label '{label}' has two values; the rarer one, {anomaly!r}, marks a known anomaly "
               f"({int(y.sum())} of {len(y)} rows)")
