"""Saving a fit's model with everything needed to trust and reuse it.

``meta.json`` beside the model answers the questions a serving API or a reviewer asks: what
does it predict (task, target, classes), what does it expect (the feature schema with dtypes
and categories), how good is it (validation ± spread, untouched test), and where did it come
from (dataset version + SHA-256 → MLflow run → model version): its *lineage*. Everything is
read from the :class:`~automlops.core.fit.FitResult`, so any engine's result saves the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from automlops import __version__
from automlops.core.fit import FitResult
from automlops.core.jsonable import jsonable
from automlops.mlops.store import ModelStore, StoredModel

if TYPE_CHECKING:
    from automlops.mlops.tracking import Tracker

__all__ = ["model_metadata", "save_model", "search_trials"]

log = logging.getLogger("automlops.registry")


MAX_SAVED_TRIALS = 300  # enough for fANOVA per model; keeps meta.json small


def search_trials(trials: Any) -> list[dict[str, Any]]:
    """The search's trials (model, params, value, state), capped, so fANOVA can run from a saved model.

    Complete trials are kept first (the ones fANOVA reads), then the most recent others.
    """
    if trials is None or not hasattr(trials, "to_dict") or "model" not in getattr(trials, "columns", ()):
        return []
    rows = [{"number": r.get("number"), "model": r.get("model"), "state": r.get("state"),
             "value": r.get("value"), "params": r.get("params")} for r in trials.to_dict(orient="records")]
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    others = [r for r in rows if r["state"] != "COMPLETE"]
    room = max(0, MAX_SAVED_TRIALS - len(complete))
    kept = complete[-MAX_SAVED_TRIALS:] + (others[-room:] if room else [])
    return sorted(kept, key=lambda r: r["number"] if r["number"] is not None else -1)


def model_metadata(result: FitResult, *, dataset: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta.json`` content for a :class:`FitResult`."""
    problem = result.problem
    return jsonable({
        **dict(result.artifact.meta),
        "kind": result.artifact.kind,
        "engine": result.engine,
        "task": problem.task.value,
        "target": problem.target,
        "metric": problem.metric,
        "direction": problem.direction,
        "classes": list(problem.classes),
        "time_column": problem.time_column,
        "best_model": result.best_model,
        "best_params": dict(result.best_params),
        "val_score": result.val_score,
        "val_std": result.val_std,
        "validation": result.validation.kind,
        "test_score": result.test_score,
        "test_metrics": dict(result.test_metrics),
        "n_test_rows": result.n_test_rows,
        "feature_schema": dict(result.feature_schema),
        "input_columns": list(result.input_columns),
        "dataset": dict(dataset) if dataset else None,
        "run_id": result.run_id,
        "preset": result.config.get("preset"),
        "search": result.config.get("search"),
        "seed": result.config.get("seed"),  # the split and the models' random_state (eject to code)
        "n_trials": result.n_trials,
        "leaderboard": result.leaderboard.head(10).to_dict(orient="records"),
        "trials": search_trials(result.trials),
        "decisions": [str(d) for d in result.decisions],
        "automlops_version": __version__,
    })


def save_model(result: FitResult, store: ModelStore, name: str, *, dataset: Mapping[str, Any] | None = None,
               tracker: Tracker | None = None, notes: list[str] | None = None, register: bool = True) -> StoredModel:
    """Write the result's artifact as the next version of ``name`` (write-once, SHA-checked).

    The saved version is then registered in the MLflow Model Registry (through ``tracker``, the
    training's, when given), best effort: if that fails the version stays saved and a one-line note
    goes to ``notes`` (or to the ``automlops.registry`` log when no list is given). ``register=False``
    skips that (the caller knows the server is down: ``automlops models promote`` registers it later).
    """
    from automlops.mlops.registry import register_saved

    stored = store.save(name, result.artifact, model_metadata(result, dataset=dataset))
    if not register:
        return stored
    note = register_saved(stored, settings=getattr(store, "_settings", None), tracker=tracker)
    if note and notes is not None:
        notes.append(note)
    elif note:
        log.warning(note)
    return stored
