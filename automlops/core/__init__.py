"""Core vocabulary shared by every engine: tasks, problems, metrics, registries and fit results.

Public names are re-exported lazily: importing ``automlops.core.registry`` (or the API, which
needs only a registry) does not import scikit-learn and pandas through the metrics module.
"""

from __future__ import annotations

from automlops.core.lazy import lazy_exports

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "METRICS": "metrics", "MetricContext": "metrics", "MetricSpec": "metrics", "get_metric": "metrics",
    "score_all": "metrics", "Problem": "problem", "TaskType": "problem", "infer_problem": "problem",
    "Registry": "registry", "Artifact": "fit", "FitResult": "fit",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
