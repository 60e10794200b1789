"""Which text columns of a table are dates, and in which day/month order they are written.

A CSV has no date type: ``2024-05-31``, ``31/05/2024`` and ``05/31/2024`` are all text. A column
whose values are (≥ 90 %) written like dates becomes a ``datetime64`` column, so later steps can
sort and split by time and a model can learn from the year, month and weekday.

ISO 8601 (``2024-05-31``) has one reading. ``a/b/yyyy`` has two, and pandas guesses the order from
the *first* value alone: the same rows in another order read differently. :func:`day_month_order`
decides from every value of the column, and :func:`parse_date_columns` records the order it used
in ``frame.attrs`` so that a model trained on the table reads the dates it is sent later the same
way (``serving/dates.py``).

These functions are copied verbatim into exported scripts (:mod:`automlops.export.runtime`), so they
use only pandas and the standard library.
"""

from __future__ import annotations

import warnings

import pandas as pd

__all__ = ["DAY_MONTH_ORDERS", "day_month_order", "parse_date_columns"]

DAY_MONTH_ORDERS = "day_month_orders"  # frame.attrs key: the order each a/b/yyyy date column was read in


def _looks_like_dates(values: pd.Series) -> bool:
    text = values.astype(str)
    has_sep = text.str.contains(r"[-/:]", regex=True) & text.str.contains(r"\d", regex=True)
    return bool(has_sep.mean() >= 0.9)


def day_month_order(values: pd.Series) -> str | None:
    """``"dayfirst"`` or ``"monthfirst"`` for dates written ``a/b/yyyy`` (or with ``.`` or ``-``), read
    from *every* value; ``None`` when the values are not written that way.

    pandas guesses the order from the first value alone, so the same rows read differently in
    another order (``09/11/2001`` first: month first, and ``23/04/2001`` becomes NaT). Here a first
    number above 12 anywhere means day first, a second number above 12 means month first; when no
    value tells (every number ≤ 12), a first number that never changes while the second does is the
    day of a monthly series (``01/02/1949``, ``01/03/1949``...), and otherwise month first, pandas'
    own default, stays.
    """
    parts = values.astype(str).str.strip().str.extract(r"^(\d{1,2})([/.-])(\d{1,2})\2\d{2,4}(?:[ T].*)?$")
    if parts[0].notna().mean() < 0.9:
        return None
    first, second = parts[0].dropna().astype(int), parts[2].dropna().astype(int)
    if (first > 12).any() and not (second > 12).any():
        return "dayfirst"
    if (second > 12).any() or not (first.nunique() == 1 and second.nunique() > 1):
        return "monthfirst"
    return "dayfirst"


def _to_datetime(values: pd.Series) -> tuple[pd.Series | None, str | None]:
    """Parse as ISO-8601 first, then with an inferred format; None if under 90% parse. Also returns the
    day/month order the dates were read in (None for ISO dates, which have one order only).

    Times written with *different* UTC offsets (local times across a clock change: ``-05:00`` in
    winter, ``-04:00`` in summer) are one instant each, but pandas leaves such a column as objects,
    which no date arithmetic accepts: they are converted to UTC, where every hour occurs once.
    """
    order = day_month_order(values)
    for kwargs in ({"format": "ISO8601"}, {} if order is None else {"dayfirst": order == "dayfirst"}):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(values, errors="coerce", **kwargs)  # type: ignore[call-overload]
                if parsed.dtype == object:  # mixed offsets
                    parsed = pd.to_datetime(values, errors="coerce", utc=True, **kwargs)  # type: ignore[call-overload]
        except (ValueError, TypeError, OverflowError):
            continue
        if parsed.notna().mean() >= 0.9:
            return parsed, (None if "format" in kwargs else order)
    return None, None


def parse_date_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn text columns that are ≥90% dates (with '-', '/' or ':') into ``datetime64``.

    The day/month order each ``a/b/yyyy`` column was read in is kept in ``frame.attrs`` under
    :data:`DAY_MONTH_ORDERS` (``{column: "dayfirst" | "monthfirst"}``): a model trained on the table
    records it, so that a lone ``09/11/2001`` sent to it later is read as its training dates were.
    """
    for column in frame.select_dtypes(include="object").columns:
        values = frame[column].dropna()
        if values.empty or pd.api.types.infer_dtype(values, skipna=True) != "string":
            continue
        sample = values.iloc[:200]
        if not _looks_like_dates(values) or _to_datetime(sample)[0] is None:
            continue
        parsed, order = _to_datetime(values)
        if parsed is not None:
            frame[column] = parsed.reindex(frame.index)
            if order is not None:
                frame.attrs[DAY_MONTH_ORDERS] = {**frame.attrs.get(DAY_MONTH_ORDERS, {}), str(column): order}
    return frame
