"""The dashboard's background stability analysis (run by :mod:`automlops.ui.analysis_jobs` in a worker).

``params`` is JSON: ``{"model": "NAME@vN", "splits": K | None, "seeds": N | None, "sensitivity": bool,
"points": P, "repeats": R, "time_budget": S | None, "n_jobs": J, "track": bool}`` (only ``model`` is
required). The job reports progress after each refit, stops between batches when cancelled (the
partial report says ``cancelled: true``) and returns :meth:`StabilityReport.to_dict`, tracked in MLflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from automlops.errors import ConfigError

__all__ = ["options_from", "run_job"]


def _int_or_none(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value in (None, "", 0):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"'{key}' must be a whole number, not {value!r}") from None


def options_from(params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`~automlops.stability.service.stability_report` for job ``params``."""
    model = params.get("model")
    if not model or not isinstance(model, str):
        raise ConfigError("choose a saved model (NAME@vN) to analyse")
    budget = params.get("time_budget")
    return {"splits": _int_or_none(params, "splits"), "seeds": _int_or_none(params, "seeds"),
            "sensitivity": bool(params.get("sensitivity", False)), "points": int(params.get("points") or 5),
            "repeats": int(params.get("repeats") or 3),
            "time_budget": float(budget) if budget not in (None, "", 0) else None,
            "n_jobs": int(params.get("n_jobs") or -1), "track": bool(params.get("track", True))}


def run_job(params: dict[str, Any], report: Callable[[float, str], None],
            cancelled: Callable[[], bool]) -> dict[str, Any]:
    """Run the analysis ``params`` describe (see the module docstring); return the report as a dict."""
    from automlops.stability.service import stability_report

    options = options_from(params)
    result = stability_report(params["model"], progress=report, cancelled=cancelled, **options)
    report(1.0, "cancelled: partial report" if result.cancelled else f"done: {result.n_fits} refits")
    return result.to_dict()
