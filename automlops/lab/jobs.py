"""The lab as a dashboard background analysis: ``run_job(params, report, cancelled) -> dict``.

The dashboard's Search lab page submits ``analysis_jobs.submit("lab", params)``; a worker process
(:mod:`automlops.ui.analysis_worker`) calls :func:`run_job` with

* ``params`` – ``{"dataset": NAME, "version": N or None, "target": COL, "budget": S, "repeats": R,
  "strategies": [...], "seed": S, "preset": "medium", "models": [...] or None}`` (plain JSON);
* ``report(fraction, message)`` – progress for the page's bar;
* ``cancelled()`` – polled between trials: a cancelled lab returns the runs that finished.

It returns :meth:`LabResult.to_dict() <automlops.lab.types.LabResult.to_dict>`. Bad parameters
raise :class:`~automlops.errors.AutoMLOpsError` subclasses: the page shows their message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from automlops.errors import ConfigError

__all__ = ["lab_params", "run_job"]


def lab_params(dataset: str, target: str, *, version: int | None = None, budget: float = 20.0, repeats: int = 3,
               strategies: list[str] | None = None, seed: int = 0, preset: str = "medium",
               models: list[str] | None = None) -> dict[str, Any]:
    """The JSON parameters of a lab analysis (what the page submits)."""
    from automlops.lab.runner import DEFAULT_STRATEGIES

    return {"dataset": dataset, "version": version, "target": target, "budget": float(budget),
            "repeats": int(repeats), "strategies": list(strategies or DEFAULT_STRATEGIES), "seed": int(seed),
            "preset": preset, "models": list(models) if models else None}


def _number(params: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = params.get(key, default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"lab parameter '{key}' must be a number, not {value!r}") from None


def run_job(params: dict[str, Any], report: Callable[[float, str], None],
            cancelled: Callable[[], bool]) -> dict[str, Any]:
    """Load the lake dataset, run the lab with progress and cancel, return the result as a dict."""
    from automlops.config import get_settings
    from automlops.lab.runner import DEFAULT_STRATEGIES, run_lab
    from automlops.mlops.lake import DataLake

    dataset, target = params.get("dataset"), params.get("target")
    if not dataset or not target:
        raise ConfigError("a lab needs a lake dataset and a target column")
    lake = DataLake(settings=get_settings())
    entry = lake.get_version(str(dataset), params.get("version"))
    report(0.0, f"loading {entry.dataset}@v{entry.version}")
    frame = lake.load(entry.dataset, entry.version)
    result = run_lab(frame, str(target), budget=_number(params, "budget", float, 20.0),
                     repeats=_number(params, "repeats", int, 3),
                     strategies=list(params.get("strategies") or DEFAULT_STRATEGIES),
                     seed=_number(params, "seed", int, 0), progress=report, cancelled=cancelled,
                     preset=str(params.get("preset") or "medium"), models=params.get("models") or None,
                     dataset=f"{entry.dataset}@v{entry.version}")
    return result.to_dict()
