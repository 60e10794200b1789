"""Dates in prediction rows: read as training read its dates, or refused with the reason.

A date is ISO 8601 (``2001-04-23``, with or without a time and an offset; an offset is converted to
UTC and dropped, like the offset-free times the model trained on). A model whose training CSV wrote
its dates ``23/04/2001`` records the order training read them in (``dayfirst`` in its feature
schema), and then dates written that way are read too. ``09/11/2001`` reads two ways: it is read in
training's order, unless the values themselves say otherwise (a ``23`` first can only be a day),
which is then followed, with a warning. A date pandas cannot hold (before 1677 or after 2262) is
refused as such, not as "not ISO 8601".

Used by :mod:`automlops.serving.validation` (the API and ``automlops predict``), and copied with it
into bundles, so it imports nothing else from the studio, and pandas only inside its functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["read_dates"]

_ORDER_WORDS = {True: "day first (31/05/2024)", False: "month first (05/31/2024)"}  # by ``dayfirst``


def read_dates(name: str, dayfirst: bool | None, values: Sequence[Any], warnings: list[str]
               ) -> tuple[Any, list[tuple[int, str]]]:
    """One column's date texts as offset-free UTC ``datetime64`` values, and ``(row, why)`` for each text
    that is not a date (NaT in the values). A warning is added when the values overrule training's order.

    ISO 8601 first. A model that recorded its training dates' day/month order (``dayfirst``) also reads
    dates written as they were (``23/04/2001``, ``9.11.2001``, ``09/11/01``), in the order the values
    state (:func:`_read_order`); a model saved without one reads ISO 8601 only, as before.
    """
    import pandas as pd

    text = pd.Series(values, dtype=object)
    parsed = _to_utc(text, format="ISO8601")
    rest = text[parsed.isna() & text.notna()]
    if dayfirst is not None and len(rest):
        order = _read_order(name, dayfirst, rest, warnings)
        parsed = parsed.combine_first(_day_month(rest, order))
        rest = text[parsed.isna() & text.notna()]
        if len(rest):  # other writings (two-digit years, month names): the format pandas infers from the first
            parsed = parsed.combine_first(_to_utc(rest, dayfirst=order))
    bad = parsed.isna().to_numpy() & text.notna().to_numpy()
    return parsed.to_numpy(), [(int(i), _not_a_date(values[i], dayfirst)) for i in bad.nonzero()[0]]


def _to_utc(text: Any, **how: Any) -> Any:
    """``pd.to_datetime`` with times that carry an offset (``...Z``, ``...+02:00``) converted to UTC and the
    offset dropped, like the offset-free times the model trained on; what does not parse is NaT."""
    import warnings as python_warnings

    import pandas as pd

    with python_warnings.catch_warnings():
        python_warnings.simplefilter("ignore")  # "could not infer format": each value then on its own
        return pd.to_datetime(text, errors="coerce", utc=True, **how).dt.tz_localize(None)


def _day_month(text: Any, dayfirst: bool) -> Any:
    """``a/b/yyyy`` texts (``/``, ``.`` or ``-`` between, a time after or not), each read on its own (one
    request may mix ``23/04/2001`` and ``9.11.2001``) day first or month first; any other text is NaT."""
    parts = text.astype(str).str.extract(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4})((?:[ T].*)?)$")
    day, month = (parts[0], parts[2]) if dayfirst else (parts[2], parts[0])
    return _to_utc(parts[3] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + parts[4], format="ISO8601")


def _read_order(name: str, trained: bool, text: Any, warnings: list[str]) -> bool:
    """Day first (True) or month first for ``a/b/...`` texts: training's order, unless the values state the
    other one (a first number above 12, ``23/04/2001``, and no second one; or the reverse), which is then
    followed, with a warning. Values that do not tell (``09/11/2001``), or contradict each other, take training's.
    """
    import pandas as pd

    parts = text.astype(str).str.extract(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d")
    above = [pd.to_numeric(parts[i], errors="coerce").gt(12) for i in (0, 1)]  # cannot be a month
    if above[0].any() == above[1].any() or above[0].any() == trained:
        return trained
    example = text[above[int(trained)]].iloc[0]
    warnings.append(f"column '{name}': dates such as {example!r} can only be read {_ORDER_WORDS[not trained]}, "
                    f"but the model's training dates were read {_ORDER_WORDS[trained]}; they were read as written")
    return not trained


def _not_a_date(value: Any, dayfirst: bool | None) -> str:
    """Why ``value`` is not a date: out of pandas' range (1677-2262), or not written in a readable way."""
    import pandas as pd

    readings: list[dict[str, Any]] = [{"format": "ISO8601"}]
    if dayfirst is not None:
        readings.append({"dayfirst": dayfirst})
    for how in readings:
        try:
            pd.to_datetime(value, **how)
        except pd.errors.OutOfBoundsDatetime:
            return (f"{value!r} is outside the dates the model can hold ({pd.Timestamp.min.ceil('D'):%Y-%m-%d} "
                    f"to {pd.Timestamp.max.floor('D'):%Y-%m-%d})")
        except (ValueError, TypeError, OverflowError):
            continue
    trained = "" if dayfirst is None else f", or {_ORDER_WORDS[dayfirst]} as in training"
    return f"{value!r} is not an ISO 8601 date/time (e.g. 2024-05-31){trained}"
