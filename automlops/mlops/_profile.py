"""A first look at a stored table: size, per-column health, and the target's balance or spread.

Before training, a student should see what is in the data: how many values are missing per
column, how many distinct values each has (an ID has one per row), and whether the target's
classes are balanced (99 % of one class makes "accuracy 0.99" meaningless).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from automlops.errors import DataError

__all__ = ["DatasetProfile", "profile_frame"]

_MAX_CLASSES = 50


@dataclass(frozen=True)
class DatasetProfile:
    """A first look at a table: size, per-column health, and the target's balance or spread."""

    dataset: str
    version: int
    rows: int
    columns: int
    table: pd.DataFrame  # name, dtype, missing, missing_pct, unique, example
    target: str | None = None
    target_balance: pd.DataFrame | None = None  # value, count, share (<= 50 distinct values)
    target_stats: pd.DataFrame | None = None  # describe() of a many-valued target


def profile_frame(frame: pd.DataFrame, *, dataset: str, version: int, label: str,
                  target: str | None = None) -> DatasetProfile:
    """Profile ``frame`` (version ``label`` of ``dataset``), with the target's summary if one is named."""
    table = pd.DataFrame({
        "name": [str(c) for c in frame.columns],
        "dtype": [str(t) for t in frame.dtypes],
        "missing": [int(frame[c].isna().sum()) for c in frame.columns],
        "missing_pct": [round(100 * float(frame[c].isna().mean()), 2) if len(frame) else 0.0
                        for c in frame.columns],
        "unique": [int(frame[c].nunique(dropna=True)) for c in frame.columns],
        "example": [_example(frame[c]) for c in frame.columns],
    })
    balance = stats = None
    if target is not None:
        if target not in frame.columns:
            raise DataError(f"target column '{target}' is not in {dataset} {label}; "
                            f"columns are: {', '.join(map(str, frame.columns))}")
        balance, stats = _target_summary(frame[target])
    return DatasetProfile(dataset, version, len(frame), frame.shape[1], table, target, balance, stats)


def _example(values: pd.Series) -> str:
    present = values.dropna()
    return str(present.iloc[0]) if len(present) else ""


def _target_summary(values: pd.Series) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Class balance for a target with few distinct values, else summary statistics."""
    if values.nunique(dropna=True) <= _MAX_CLASSES:
        counts = values.value_counts(dropna=False)
        balance = pd.DataFrame({
            "value": counts.index.astype(object),
            "count": counts.to_numpy(dtype=int),
            "share": (counts / counts.sum()).to_numpy(dtype=float),
        })
        return balance, None
    return None, values.describe().to_frame(name=str(values.name))
