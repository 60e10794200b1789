"""Turning results into plain JSON values (numbers, strings, lists, dicts) before they are written.

numpy scalars become Python numbers, arrays become lists, anything else unknown becomes its text,
so a ``meta.json`` or an MLflow artifact never fails to serialise halfway through.
:func:`json_line` also writes a missing number (NaN, an infinity) as ``null``: Python's ``json``
would write ``NaN``, which is not JSON, and which ``JSON.parse`` or ``jq`` reading a CLI's
``--json`` line refuse.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["json_line", "jsonable"]


def _default(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` made only of JSON types."""
    return json.loads(json.dumps(value, default=_default))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def json_line(value: Any) -> str:
    """``value`` as one line of strict JSON: NaN and infinities become ``null``."""
    return json.dumps(_finite(jsonable(value)), allow_nan=False)
