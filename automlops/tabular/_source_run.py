"""The MLflow run of a model that did not come from a search: an upload, or a retrain.

A search logs its run from a background thread (:mod:`automlops.search.tracking_sink`); an
upload or a retrain is one fit (or none), so its run is logged in line, in a few calls: the
run with its tags, the parameters, the dataset it was checked or trained on (lineage), the
scores, the decisions and the model itself. Tracking is *best effort* here as in a training:
if MLflow cannot be reached, the model is still saved and the reason joins the decisions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from automlops.errors import AutoMLOpsError

__all__ = ["log_source_run"]


def log_source_run(tracker: Any, *, name: str, tags: Mapping[str, Any], params: Mapping[str, Any],
                   metrics: Mapping[str, float], dataset: Mapping[str, Any] | None, decisions: Sequence[str],
                   model: Any, input_example: Any) -> tuple[str | None, tuple[str, ...]]:
    """Log one finished run; return its id (``None`` if it could not be opened) and any tracking errors."""
    if tracker is None:
        return None, ()
    try:
        run_id = tracker.start_run(name, tags=dict(tags))
    except AutoMLOpsError as exc:
        return None, (f"could not open the MLflow run: {exc}"[:300],)
    try:
        tracker.log_params(run_id, params)
        if dataset:
            tracker.log_dataset_input(run_id, **_dataset_input(dataset))
        tracker.log_metrics(run_id, {k: v for k, v in metrics.items() if v == v})  # NaN: not a score
        tracker.log_text(run_id, "\n".join(decisions), "decisions.txt")
        from sklearn.base import BaseEstimator

        if isinstance(model, BaseEstimator):
            tracker.log_sklearn_model(run_id, model, input_example=input_example)
        tracker.end_run(run_id, "FINISHED")
    except AutoMLOpsError as exc:
        return run_id, (f"the MLflow run {run_id} is incomplete: {exc}"[:300],)
    return run_id, ()


def _dataset_input(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """The lake lineage (``DatasetVersion.lineage()``) as ``Tracker.log_dataset_input`` takes it."""
    keys = ("name", "version", "sha256", "rows", "columns", "source")
    return {k: dataset[k] for k in keys if k in dataset}
