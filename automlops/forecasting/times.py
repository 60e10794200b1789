"""Reading a time column: dates as text, whole numbers, or datetimes with UTC offsets.

A date such as ``02/01/2013`` reads two ways: 1 February (month first, the US habit and pandas'
default) or 2 January (day first, most of the world). A column is read with **one** reading for
every value: ISO 8601 (``2013-01-02``) first, then month first, then day first – a ``13/01/2013``
anywhere can only be day first. Reading each value on its own instead (pandas' "mixed" format)
silently swaps day and month wherever both are ≤ 12 and scrambles the series. The order the values
told is kept with the model, so that future rows (``02/01/2014``) are read the same way.

Times with a UTC offset (``2013-12-30T19:00:00-05:00``) are one instant each: they are converted
to UTC, where every hour occurs once. Whole numbers are years (``2013``), year-months (``201301``)
or dates (``20130101``) when every value reads as one, and years with fractions in twelfths or
quarters (``1949.0833``, R's ``time()`` of a monthly ``ts``) are months or quarters. Quarter labels (``Q1 1959``, ``1959 Q1``,
``1959Q1``, ``1959-Q1``) are each quarter's first day (``1959-01-01``), and the note says so.

Times are written back (API answers, CSV files) as the model's grid calls for (:func:`time_format`):
a date (``2013-03-26``) for daily, weekly, monthly... steps, and a date with its clock time
(``2020-01-02T00:00:00``) whenever the steps carry one – even for a step that falls at midnight, so
an hourly forecast reads the same whichever hours it covers.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

import pandas as pd

from automlops.errors import DataError

__all__ = ["parse_times", "time_format"]

_QUARTER = re.compile(r"^(?:Q([1-4])[\s_/-]?(\d{4})|(\d{4})[\s_/-]?Q([1-4]))$", re.IGNORECASE)
DATE, CLOCK = "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"


def _as_written(value: float) -> str:
    """A number as a user wrote it: ``201301``, not ``201301.0`` or ``2.01301e+05``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _fractional_years(numbers: pd.Series, column: str) -> tuple[pd.Series, str] | None:
    """Years with fractions in twelfths or quarters – R's ``time()`` of a monthly or quarterly ``ts``
    (``1949.0833`` is February 1949) – as each month's or quarter's first day; None otherwise."""
    if not numbers.between(1678, 2261).all():
        return None
    for per_year, what in ((4, "quarters"), (12, "months")):
        scaled = numbers * per_year
        steps = scaled.round()  # whole months (quarters) since year 0: 1949.9999 is December, not a 13th month
        if bool(((scaled - steps).abs() < 1e-4).all()):
            steps = steps.astype("int64")
            times = pd.to_datetime(pd.DataFrame({"year": steps // per_year,
                                                 "month": steps % per_year * (12 // per_year) + 1, "day": 1}))
            at = int((steps % per_year).ne(0).to_numpy().argmax())
            return times.set_axis(numbers.index), (
                f"time column '{column}' holds years with fractions in {what} (as R's time() writes a "
                f"{'quarterly' if per_year == 4 else 'monthly'} series): read as each one's first day "
                f"({_as_written(numbers.iloc[at])} is {pd.Timestamp(times.iloc[at]):%Y-%m-%d})")
    return None


def _number_times(numbers: pd.Series, column: str) -> tuple[pd.Series, str]:
    """Whole numbers as times: years (``2013``), year-months (``201301``) or dates (``20130101``); years with
    fractions in months or quarters (R's ``time()``)."""
    if bool(((numbers % 1) == 0).all()):
        whole = numbers.astype("int64")
        for low, high, fmt, what in ((1000, 2999, "%Y", "years"), (100001, 299912, "%Y%m", "year-months (yyyymm)"),
                                     (10000101, 29991231, "%Y%m%d", "dates (yyyymmdd)")):
            if whole.between(low, high).all():
                read = pd.to_datetime(whole.astype(str), format=fmt, errors="coerce")
                if read.notna().all():
                    return read, f"time column '{column}' holds whole numbers that all read as {what}"
        if whole.max() < 1000:
            raise DataError(f"time column '{column}' holds step numbers ({whole.iloc[0]}, {whole.iloc[-1]}, ...), not "
                            "dates: give each step a date (e.g. 2000-01-01 plus one day, month or year per step), "
                            "so that the steps' frequency is known")
        if whole.min() < 1678 and whole.max() <= 2999:
            raise DataError(f"time column '{column}' holds whole years before 1678 ({whole.min()}, ...), outside "
                            "the dates this tool can hold (1678-2261): renumber them from a later year")
    elif (fractional := _fractional_years(numbers, column)) is not None:
        return fractional
    shown = numbers[(numbers % 1) != 0].iloc[0] if not bool(((numbers % 1) == 0).all()) else numbers.iloc[0]
    raise DataError(f"time column '{column}' holds numbers ({_as_written(shown)}, ...) that are not dates; give "
                    "dates such as 2024-01-31 (or whole years, yyyymm or yyyymmdd numbers, or years with fractions "
                    "in months or quarters as R's time() writes them)")


def _quarter_times(text: pd.Series, column: str) -> tuple[pd.Series, str] | None:
    """Quarter labels (``Q1 1959``, ``1959 Q1``, ``1959Q1``, ``1959-Q1``) as each quarter's first day,
    with a note for the log; None unless every value is one."""
    if text.empty or not _QUARTER.match(str(text.iloc[0])):
        return None
    parts = text.str.extract(_QUARTER.pattern, flags=re.IGNORECASE)
    quarter, year = parts[0].fillna(parts[3]), parts[1].fillna(parts[2])
    if quarter.isna().any() or year.isna().any():
        return None
    month = (quarter.astype(int) - 1) * 3 + 1
    times = pd.to_datetime(pd.DataFrame({"year": year.astype(int), "month": month, "day": 1}))
    note = (f"time column '{column}' holds quarter labels, read as each quarter's first day ({text.iloc[0]!r} is "
            f"{times.iloc[0]:%Y-%m-%d}); future rows are read the same way")
    return times.set_axis(text.index), note


def _read_text(text: pd.Series, kwargs: dict[str, object]) -> pd.Series | None:
    """``text`` read one way (UTC for times with offsets), or None where that reading fails a value."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(text, errors="coerce", utc=True, **kwargs)  # type: ignore[call-overload]
        except (ValueError, TypeError, OverflowError):
            return None
    return parsed.dt.tz_convert(None) if parsed.notna().all() else None


def _text_times(text: pd.Series, dayfirst: bool | None) -> tuple[pd.Series | None, bool | None]:
    """Read date text with one reading for the whole column: ISO 8601, then month-first, then day-first
    (``13/01/2013`` can only be 13 January), then each value on its own. ``dayfirst`` (what training
    chose) rules one of the two out. Returns the times (None if a value is no date) and the order the
    values tell: True day-first, False month-first, None when they do not tell (ISO dates, or every
    number ≤ 12: ``01/02/2013`` reads either way)."""
    if (iso := _read_text(text, {"format": "ISO8601"})) is not None:
        return iso, None
    if dayfirst is not True and (month := _read_text(text, {})) is not None:
        return month, (False if dayfirst is False or _read_text(text, {"dayfirst": True}) is None else None)
    if dayfirst is not False and (day := _read_text(text, {"dayfirst": True})) is not None:
        return day, True
    return _read_text(text, {"format": "mixed", "dayfirst": bool(dayfirst)}), dayfirst


def parse_times(values: pd.Series, column: str,
                dayfirst: bool | None = None) -> tuple[pd.Series, str | None, bool | None]:
    """Timestamps from a column of dates (or whole-number years, yyyymm, yyyymmdd); DataError naming bad values.

    Times with a UTC offset are converted to UTC (one instant each, whatever the clock). Returns the
    times, a note for the log (or None) and the day/month order the text tells (True day-first,
    False month-first, None when it does not tell); ``dayfirst`` forces that order when it is known
    (future rows are read as the training data was).
    """
    if values.isna().any():
        raise DataError(f"time column '{column}' has {int(values.isna().sum())} missing value(s); every row "
                        "needs a timestamp")
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values)
        return (out.dt.tz_convert(None) if out.dt.tz is not None else out), None, None
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        times, why = _number_times(values.astype(float), column)
        return times, why, None
    text = values.astype(str).str.strip()
    if (numbers := pd.to_numeric(text, errors="coerce")).notna().all():  # numbers read as text (future rows)
        times, why = _number_times(numbers.astype(float), column)
        return times, why, None
    if (quarters := _quarter_times(text, column)) is not None:
        return quarters[0], quarters[1], None
    parsed, order = _text_times(text, dayfirst)
    if parsed is None:
        loose = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=bool(dayfirst))
        bad = text[loose.isna()] if loose.isna().any() else text
        sample = ", ".join(repr(v) for v in bad.unique()[:3])
        raise DataError(f"time column '{column}' has {len(bad)} value(s) that are not dates, e.g. {sample}; "
                        "write them like 2024-01-31 or 2024-01-31 12:00")
    note: str | None = None
    if order and dayfirst is None:
        shown = text[parsed.dt.day > 12]
        example = f", e.g. {shown.iloc[0]!r} is {parsed[shown.index[0]]:%d %B %Y}" if len(shown) else ""
        note = f"time column '{column}' read day-first{example}; future rows are read the same way"
    return parsed, note, order


def time_format(freq: str, anchors: Iterable[pd.Timestamp]) -> str:
    """The ``strftime`` pattern of a model's times: ``%Y-%m-%d`` when every step of its grid falls at
    midnight (daily, weekly, monthly, quarterly... data), else ISO 8601 with the clock (with fractions of
    a second for sub-second steps). ``anchors`` are the series' last timestamps, from which the grid goes
    on; the answer depends on the model only, never on which steps one forecast happens to hold."""
    stamps = pd.DatetimeIndex(list(anchors))
    if len(stamps):
        stamps = stamps.append(pd.DatetimeIndex([stamps[0] + pd.tseries.frequencies.to_offset(freq)]))
    if (stamps == stamps.normalize()).all():
        return DATE
    return CLOCK + ".%f" if bool((stamps.microsecond != 0).any()) else CLOCK
