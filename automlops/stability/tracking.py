"""A stability report as one MLflow run, nested under the run that trained the model.

The run is named ``stability-NAME-vN`` and, when the tracking store still has the model's
training run (``meta["run_id"]``), is its *child*: opening the training run in MLflow shows its
stability analyses beneath it. It holds

* **params** – what was asked (splits K, seeds N, sensitivity, points, repeats, budget), the
  split scheme and the configuration's hyperparameters (``config.<name>``);
* **metrics** – the headline ``mean``, ``std``, ``ci_low``, ``ci_high``, ``n_fits``, each
  section's spread (``split_std``, ``seed_std``…), each hyperparameter's sensitivity swing and
  fANOVA importance, the wall time;
* **artifacts** – ``report.md``, ``report.html`` (figures inline), ``fits.csv`` (every refit) and
  ``report.json`` (the whole report, readable back with ``StabilityReport.from_dict``).

Tracking is a record, not the analysis: if MLflow cannot be reached the report is still returned,
with a decision saying what was not logged.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

from automlops.errors import AutoMLOpsError
from automlops.stability.types import StabilityReport

__all__ = ["report_metrics", "run_name", "track_report"]


def run_name(model: str) -> str:
    """``stability-NAME-vN`` for ``NAME@vN`` (other labels are cleaned to MLflow-friendly text)."""
    return "stability-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", model.replace("@", "-")).strip("-")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_./ -]+", "_", name)


def report_metrics(report: StabilityReport) -> dict[str, float]:
    """The report's numbers as MLflow metrics (only finite ones)."""
    summary = report.summary()
    metrics: dict[str, Any] = {k: summary[k] for k in ("mean", "std", "ci_low", "ci_high", "n_fits", "seconds")}
    for name, spread in (("split", report.splits), ("seed", report.seeds)):
        if spread is not None:
            metrics.update({f"{name}_mean": spread.mean, f"{name}_std": spread.std, f"{name}_ci_low": spread.ci_low,
                            f"{name}_ci_high": spread.ci_high, f"{name}_n": spread.n})
    metrics.update({f"swing.{_safe(c.param)}": c.swing for c in report.sensitivity})
    metrics.update({f"importance.{_safe(k)}": v for k, v in report.importances.items()})
    metrics["n_failed"] = sum(1 for f in report.fits if not f.ok)
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))}


def _params(report: StabilityReport) -> dict[str, Any]:
    extra = report.extra
    asked = {"model": report.model, "kind": report.kind, "configuration": report.label, "metric": report.metric,
             "direction": report.direction, "resampling": report.resampling[:500],
             "splits": sum(1 for f in report.fits if f.kind == "split") or None,
             "seeds": sum(1 for f in report.fits if f.kind == "seed") or None,
             "sensitivity": bool(report.sensitivity), "points": extra.get("points"),
             "repeats": extra.get("repeats"), "time_budget": extra.get("time_budget"),
             "planned_fits": extra.get("planned"), "skipped_fits": extra.get("skipped"),
             "cancelled": report.cancelled}
    asked.update({f"config.{_safe(k)}": v for k, v in report.params.items()})
    return {k: v for k, v in asked.items() if v is not None}


def _parent(tracker: Any, parent_run_id: str | None) -> tuple[str | None, str | None]:
    """The parent run id if the store has it, else ``None`` and a note saying why."""
    if not parent_run_id:
        return None, None
    try:
        tracker.get_run(parent_run_id)
    except AutoMLOpsError:
        return None, (f"the model's training run {parent_run_id} is not in this tracking store, so the stability "
                      "run is not nested under it")
    return parent_run_id, None


def _log(tracker: Any, run_id: str, report: StabilityReport) -> None:
    from automlops.stability.report import fits_frame, to_html, to_markdown

    tracker.log_params(run_id, _params(report))
    tracker.log_metrics(run_id, report_metrics(report))
    tracker.log_text(run_id, to_markdown(report), "report.md")
    tracker.log_text(run_id, to_html(report), "report.html")
    tracker.log_text(run_id, json.dumps(report.to_dict(), default=str), "report.json")
    tracker.log_dataframe(run_id, fits_frame(report), "fits.csv")


def track_report(report: StabilityReport, tracker: Any, *, parent_run_id: str | None = None) -> StabilityReport:
    """Log ``report`` as one MLflow run (see the module docstring); return it with ``run_id`` set."""
    parent, note = _parent(tracker, parent_run_id)
    notes = [note] if note else []
    try:
        run_id = tracker.start_run(run_name(report.model), parent_run_id=parent,
                                   tags={"automlops.kind": "stability", "automlops.model": report.model,
                                         "automlops.engine": report.kind,
                                         "mlflow.note.content": report.verdict})
    except AutoMLOpsError as exc:
        return replace(report, decisions=(*report.decisions, *notes, f"not tracked in MLflow: {exc}"))
    report = replace(report, run_id=run_id, decisions=(*report.decisions, *notes))
    try:
        _log(tracker, run_id, report)
    except AutoMLOpsError as exc:
        tracker.end_run(run_id, "FAILED")
        return replace(report, decisions=(*report.decisions, f"MLflow run {run_id} is incomplete: {exc}"))
    tracker.end_run(run_id)
    return report
