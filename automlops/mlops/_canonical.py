"""The one way the studio writes a table it produced itself: *canonical* CSV.

UTF-8, comma, '.' decimals, ISO dates, no index. Processed versions and DataFrames handed to
the lake are stored like this, so the same table always has the same bytes, hence the same
SHA-256 fingerprint (uploads are kept as they came: see :mod:`automlops.mlops.ingest`). Reading
it back uses ``round_trip`` float parsing and the dtypes recorded when the table was stored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from automlops.errors import DataError

__all__ = ["canonical_csv", "check_frame", "read_canonical_csv", "table_digest"]


def check_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a DataFrame handed over directly (rows, unique names); a named index becomes a column."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(frame.index, pd.MultiIndex) or frame.index.name is not None:
        frame = frame.reset_index()  # a named index is data: keep it as columns
    if frame.shape[1] == 0:
        raise DataError("the table has no columns")
    if len(frame) == 0:
        raise DataError(f"the table has {frame.shape[1]} columns but no rows")
    names = [str(c) for c in frame.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"duplicate column names: {', '.join(repr(d) for d in dupes)}; rename them")
    return frame


def canonical_csv(frame: pd.DataFrame) -> bytes:
    """The one way the studio stores a table: UTF-8, comma, '.' decimals, ISO dates, no index.

    Rows end with ``\n``. A text cell holding a carriage return would then be written unquoted
    (the csv writer quotes only the line terminator's characters) and read back as a line
    break, so a table with any ``\r`` is written with ``\r\n`` row ends, which quotes such cells.
    """
    data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if b"\r" in data:
        data = frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
    return data


def table_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of ``frame``'s canonical CSV: the same table has the same digest, whatever file it came from."""
    return hashlib.sha256(canonical_csv(frame)).hexdigest()


def read_canonical_csv(path: Path, dtypes: dict[str, str]) -> pd.DataFrame:
    """Read a canonical CSV back, giving each column the dtype recorded when it was stored."""
    read_as: dict[str, Any] = {}
    for column, dtype in dtypes.items():
        if dtype in ("object", "string", "str") or dtype.startswith(("int", "uint", "float", "Int", "UInt",
                                                                     "Float")):
            read_as[column] = str if dtype == "object" else dtype
    frame = pd.read_csv(path, dtype=read_as, low_memory=False, float_precision="round_trip")
    for column, dtype in dtypes.items():
        frame[column] = _cast(frame[column], dtype)
    return frame


def _cast(values: pd.Series, dtype: str) -> pd.Series:
    if dtype.startswith("datetime64"):
        if "," not in dtype:
            parsed = pd.to_datetime(values, format="ISO8601")
            return parsed if str(parsed.dtype) == dtype else parsed.astype(dtype)
        tz = dtype.split(",", 1)[1].rstrip("]").strip()
        return pd.to_datetime(values, format="ISO8601", utc=True).dt.tz_convert(tz)
    if dtype.startswith("timedelta64"):
        return pd.to_timedelta(values)
    if dtype == "category":
        return values.astype("category")
    if dtype == "bool":
        return values.astype("bool") if values.notna().all() else values.astype("boolean")
    if dtype == "boolean":
        return values.astype("boolean")
    return values
