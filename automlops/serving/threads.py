"""One thread per request: a served model predicts on the thread that answers the request.

Training wants every core: a forest of 300 trees fitted with ``n_jobs=2`` takes half the time.
Serving is the opposite. A request holds a handful of rows, so handing 300 tiny tree
predictions to a joblib thread pool costs more in dispatch than it saves: 10 rows took 81 ms
with ``n_jobs=2`` and 27 ms with ``n_jobs=1`` on a 2-core machine (breast-cancer forest). The
server already runs requests side by side, so the cores stay busy anyway. :func:`one_thread`
walks the loaded model (pipeline steps, ensemble members, wrapped estimators) and sets every
``n_jobs`` it finds to 1; the model file itself is never touched.
"""

from __future__ import annotations

from typing import Any

__all__ = ["one_thread"]

_CHILDREN = ("steps", "estimators_", "named_estimators_", "final_estimator_", "estimator_", "regressor_",
             "transformers_", "model", "models", "detectors", "members")


def one_thread(model: Any, _seen: set[int] | None = None) -> int:
    """Set ``n_jobs = 1`` on ``model`` and everything inside it; returns how many were changed."""
    seen = _seen if _seen is not None else set()
    if id(model) in seen or model is None or isinstance(model, str | bytes | int | float):
        return 0
    seen.add(id(model))
    changed = 0
    if isinstance(model, list | tuple):
        return sum(one_thread(item, seen) for item in model)
    if isinstance(model, dict):
        return sum(one_thread(item, seen) for item in model.values())
    jobs = getattr(model, "n_jobs", None) if not isinstance(model, type) else None
    if isinstance(jobs, int) and not isinstance(jobs, bool) and jobs != 1:
        try:
            model.n_jobs = 1
            changed += 1
        except (AttributeError, TypeError):  # a read-only property: leave it
            pass
    for attr in _CHILDREN:
        child = getattr(model, attr, None)
        if child is not None and child is not model:
            changed += one_thread(child, seen)
    return changed
