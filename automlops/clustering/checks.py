"""What a table must be to be clustered: a DataFrame, enough rows, a reference column that exists,
and at least one column that varies. Each refusal is a :class:`~automlops.errors.DataError` that
names the problem (the CLI turns it into exit code 2, the API into a 422).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import DataError

__all__ = ["MIN_ROWS", "check_not_constant", "check_rows", "split_reference"]

MIN_ROWS = 10


def check_rows(data: Any) -> pd.DataFrame:
    """The table itself, when it is a DataFrame with enough rows to cluster."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"clustering needs a table (a pandas DataFrame), not a {type(data).__name__}")
    if len(data) < MIN_ROWS:
        raise DataError(f"clustering needs at least {MIN_ROWS} rows to find groups and test them; this table has "
                        f"{len(data)}")
    return data


def split_reference(data: pd.DataFrame, reference: str | None) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The features without the reference column, and the reference's values (None without one)."""
    if reference is None:
        return data, None
    if reference not in data.columns:
        shown = ", ".join(f"'{c}'" for c in list(data.columns)[:20])
        raise DataError(f"reference column '{reference}' is not in the table; its columns are: {shown}")
    return data.drop(columns=[reference]), data[reference].to_numpy()


def check_not_constant(features: pd.DataFrame) -> None:
    """Refuse a table whose every column holds one value: no row differs from another."""
    constant = [str(c) for c in features.columns if features[c].nunique(dropna=True) <= 1]
    if len(constant) == len(features.columns):
        names = ", ".join(f"'{c}'" for c in constant[:20]) or "none"
        raise DataError(f"every column holds a single value (constant: {names}), so no row differs from another "
                        "and there is nothing to cluster; give columns that vary between rows")
