"""Turning results into plain JSON values (numbers, strings, lists, dicts) before they are written.

numpy scalars become Python numbers, arrays become lists, anything else unknown becomes its text,
so a ``meta.json`` or an MLflow artifact never fails to serialise halfway through.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["jsonable"]


def _default(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` made only of JSON types."""
    return json.loads(json.dumps(value, default=_default))
