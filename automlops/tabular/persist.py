"""Saving a trained runner's model with everything needed to trust and reuse it.

``meta.json`` beside the model answers the questions a serving API or a reviewer asks: what
does it predict (task, target, classes), what does it expect (the feature schema with dtypes
and categories), how good is it (validation ± spread, untouched test), and where did it come
from (dataset version + SHA-256 → MLflow run → model version): its *lineage*.
"""

from __future__ import annotations

from typing import Any

from automlops import __version__
from automlops.core.jsonable import jsonable as _jsonable
from automlops.mlops.store import ModelStore, StoredModel

__all__ = ["model_metadata", "save_model"]


def model_metadata(runner: Any, *, dataset: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta.json`` content for a fitted :class:`~automlops.tabular.runner.AutoMLRunner`."""
    problem = runner.problem_
    top = runner.leaderboard_.head(10).to_dict(orient="records")
    return _jsonable({
        "kind": "tabular",
        "task": problem.task.value,
        "target": problem.target,
        "metric": problem.metric,
        "direction": problem.direction,
        "classes": list(problem.classes),
        "time_column": problem.time_column,
        "best_model": runner.best_model_name_,
        "best_params": runner.best_params_,
        "val_score": runner.val_score_,
        "val_std": runner.val_std_,
        "validation": runner.validation_.kind,
        "test_score": runner.test_score_,
        "test_metrics": runner.test_metrics_,
        "n_test_rows": runner.n_test_rows_,
        "feature_schema": runner.plan_.schema(),
        "input_columns": runner.plan_.input_columns,
        "dataset": dataset,
        "run_id": runner.run_id_,
        "preset": runner.preset,
        "search": runner.search,
        "n_trials": len(runner.study_.trials),
        "leaderboard": top,
        "decisions": [str(d) for d in runner.decisions_],
        "automlops_version": __version__,
    })


def save_model(runner: Any, store: ModelStore, name: str, *, dataset: dict[str, Any] | None = None) -> StoredModel:
    """Write the runner's best pipeline as the next version of ``name`` (write-once, SHA-checked)."""
    return store.save(name, runner.best_estimator_, model_metadata(runner, dataset=dataset))
