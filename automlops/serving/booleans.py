"""True/False in prediction rows, however they are written.

A column that was ``True``/``False`` in training (a flag in the CSV) may come back written ``1``/``0``,
``yes``/``no`` or ``t``/``f`` (another export, a form, a JSON client). Left as they are, those are
categories the model never saw: a 4-class model's answers changed on 0.8 % of the rows, and probabilities
moved by up to 0.38. They are read as booleans, and a warning names what was read.

Used by :mod:`automlops.serving.validation` (the API and ``automlops predict``), and copied with it
into bundles, so it imports nothing from the studio.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["BOOLEAN_CATEGORIES", "read_booleans"]

BOOLEAN_CATEGORIES = frozenset({"False", "True"})  # a feature's categories, as text, when training had a flag
_SPELLINGS = {"true": True, "false": False, "t": True, "f": False, "yes": True, "no": False, "y": True,
              "n": False, "1": True, "0": False, "1.0": True, "0.0": False}


def read_booleans(name: str, values: Sequence[Any], warnings: list[str]) -> list[Any]:
    """``values`` of the flag column ``name`` with every spelling of true and false as ``True``/``False``;
    anything else is left as it is (and judged as an unknown category). ``warnings`` gets one line naming the
    spellings read, when there were any besides ``True``/``False``."""
    out, read = [], set()
    for value in values:
        spelled = _SPELLINGS.get(str(value).strip().lower()) if not isinstance(value, bool) else None
        if spelled is None or value is None:
            out.append(value)
            continue
        out.append(spelled)
        if str(value) not in BOOLEAN_CATEGORIES:  # 'True' as text is how training wrote it: nothing to say
            read.add(repr(value) if not isinstance(value, str) else f"'{value}'")
    if read:
        warnings.append(f"column '{name}': read {', '.join(sorted(read))} as False/True, as the column was in training")
    return out
