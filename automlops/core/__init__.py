"""Core vocabulary shared by every engine: tasks, problems, metrics, registries and fit results.

Public names are re-exported lazily: importing ``automlops.core.registry`` (or the API, which
needs only a registry) does not import scikit-learn and pandas through the metrics module.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "METRICS": "metrics", "MetricContext": "metrics", "MetricSpec": "metrics", "get_metric": "metrics",
    "score_all": "metrics", "Problem": "problem", "TaskType": "problem", "infer_problem": "problem",
    "Registry": "registry", "Artifact": "fit", "FitResult": "fit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
