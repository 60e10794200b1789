"""Retraining a saved model on another lake version: same recipe, new data, a new MLflow run.

A saved tabular model is a scikit-learn pipeline (preprocessing, then the estimator) whose
hyperparameters were chosen by a search. When the data moves on (a new lake version), the
cheapest sensible step is to fit *the same recipe* to the new rows rather than to search
again: :func:`retrain_fit` does that, scores the result on held-out rows of the new data
(stratified by class for a classifier), logs it as a new MLflow run tagged with its parent
(``parent=NAME@vN``, ``source=registry``) and returns a :class:`~automlops.core.fit.FitResult`
whose artifact says ``"source": "retrain"`` and ``"parent": "NAME@vN"``. The caller saves it
with :func:`automlops.tabular.persist.save_model`, which registers it like any version.

**Cold refit** (``warm_start=False``, and whenever warm starting does not apply):
:func:`sklearn.base.clone` copies the pipeline's hyperparameters without its learned state,
and the copy is fitted on the new rows from scratch; the preprocessing (imputation medians,
scaling, category codes) is relearned from the new data too.

**Warm start** (the default, where the estimator supports it) continues from what the parent
learned instead of starting from nothing. The fitted preprocessing is kept as it is (so the
old state still means the same thing: a category keeps its code, a column keeps its scale;
values it has never seen are treated as unknown), and the estimator, with scikit-learn's
``warm_start=True``, is fitted on the new rows:

* **random forests, extra trees** keep their trees and *add* as many new trees, grown on the new
  rows (the model doubles in size: half old data, half new);
* **gradient boosting** (``GradientBoosting*``) and **histogram gradient boosting**
  (``HistGradientBoosting*``) keep their stages and add as many boosting iterations again,
  each one correcting the errors the current model makes *on the new data*;
* **linear models and neural networks** (logistic regression, elastic net, MLP...) start
  their optimiser from the old coefficients or weights: a convex model ends at the same
  optimum as a cold fit, only sooner; an MLP continues its training from where it stopped.

Warm starting is not used (the refit is cold, and the decisions say why) for estimators without
``warm_start`` (k-NN, SVMs, LightGBM and XGBoost wrappers, ridge), for ensembles and wrapped
estimators (voting, stacking, a scaled-target regressor), and for a classifier whose new data
has a different set of classes than it was trained on (its coefficients would not fit).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from automlops.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from automlops.core.fit import FitResult
    from automlops.core.problem import Problem
    from automlops.mlops.store import LoadedModel, StoredModel

__all__ = ["RETRAINABLE_KINDS", "log_retrained_model", "retrain_fit", "retrain_saved", "warm_started"]

RETRAINABLE_KINDS = ("tabular",)
TEST_SIZE = 0.2
WARM_START = "warm start"  # how the note of a warm-started fit begins (meta["retrain"])


def warm_started(meta: Mapping[str, Any]) -> bool:
    """Whether a saved model is a warm-started retrain: it continued its parent's learned state, so its data and
    hyperparameters alone cannot rebuild it (a cold refit can be rebuilt from them)."""
    return meta.get("source") == "retrain" and str(meta.get("retrain") or "").startswith(WARM_START)


def retrain_fit(loaded: LoadedModel, frame: pd.DataFrame, *, dataset: Mapping[str, Any], tracker: Any = None,
                seed: int = 0, warm_start: bool = True, parent_frame: pd.DataFrame | None = None) -> FitResult:
    """Fit ``loaded``'s pipeline again on ``frame`` (see the module docstring); nothing is saved here.

    ``parent_frame`` (the data the parent learned from, when known) lets a warm start say how many
    held-out rows the parent has already seen: lake versions often share rows, and a warm-started
    model keeps what it learned from them, so its test score is then optimistic.
    """
    from automlops.core.metrics import score_all
    from automlops.tabular.evaluate import one_openmp_thread, predict_outputs
    from automlops.tabular.validation import split_test

    meta, parent = loaded.meta, f"{loaded.name}@v{loaded.version}"
    problem, columns = _check(meta, frame, parent)
    rows = frame[frame[problem.target].notna()]
    if problem.time_column:  # dated rows: the held-out rows are the latest ones, as in a search
        rows = rows.sort_values(problem.time_column, kind="stable")
    rows = rows.reset_index(drop=True)
    train, test, how = split_test(rows, problem, test_size=TEST_SIZE, random_state=seed)
    started = time.perf_counter()
    with warnings.catch_warnings(), one_openmp_thread():
        warnings.simplefilter("ignore")
        model, note = _fit(loaded.model, train[columns], train[problem.target], warm_start)
        pred, proba = predict_outputs(model, test[columns], problem)
    seconds = time.perf_counter() - started
    if parent_frame is not None and note.startswith(WARM_START):
        how += _seen_note(test, parent_frame, [*columns, str(problem.target)], meta.get("dataset"))
    metrics = score_all(problem.task, test[problem.target].to_numpy(), pred, proba, problem.classes)
    return _result(loaded, model, problem, rows, test, columns, metrics, note, how, dataset=dataset,
                   tracker=tracker, seed=seed, seconds=seconds, parent=parent)


def _seen_note(test: pd.DataFrame, parent_frame: pd.DataFrame, columns: list[str], parent_data: Any) -> str:
    """"; 12 of the 28 held-out rows are also in the parent's training data..." (empty when none are)."""
    import pandas as pd

    if any(c not in parent_frame.columns for c in columns):
        return ""
    learned = set(pd.util.hash_pandas_object(parent_frame[columns], index=False).tolist())
    seen = int(pd.util.hash_pandas_object(test[columns], index=False).isin(learned).sum())
    if not seen:
        return ""
    where = f" ({parent_data.get('name')}@v{parent_data.get('version')})" if isinstance(parent_data, Mapping) else ""
    return (f"; {seen} of the {len(test)} held-out rows are also in the data the parent learned from{where}: "
            "warm start kept what it learned from them, so this test score is optimistic")


def _check(meta: Mapping[str, Any], frame: pd.DataFrame, parent: str) -> tuple[Problem, list[str]]:
    """The problem to retrain for, and the model's columns; refusals name what does not fit."""
    from automlops.core.problem import infer_problem

    kind = str(meta.get("kind") or "tabular")
    if kind not in RETRAINABLE_KINDS or meta.get("task") not in ("classification", "regression"):
        raise ConfigError(f"{parent} is a {kind} model ({meta.get('task')}); retraining from the registry works for "
                          "tabular classification and regression models: train other kinds again with a search")
    columns, target = [str(c) for c in meta.get("input_columns") or []], str(meta.get("target"))
    missing = [c for c in [*columns, target] if c not in frame.columns]
    if missing or not columns:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise DataError(f"the new data does not fit {parent}: it lacks column(s) {', '.join(missing[:10])}{more}")
    problem = infer_problem(frame, target, task=str(meta["task"]), metric=meta.get("metric"),
                            time_column=meta.get("time_column") if meta.get("time_column") in frame else None)
    return problem, columns


def _fit(model: Any, X: pd.DataFrame, y: pd.Series, warm_start: bool) -> tuple[Any, str]:
    """Warm-start a copy of the fitted pipeline where possible, else fit a clone; say which."""
    from sklearn.base import clone

    if warm_start:
        why_not = _warm_blocker(model, y)
        if why_not is None:
            return _warm_fit(model, X, y)
    else:
        why_not = "warm start was turned off"
    try:
        fitted = clone(model).fit(X, y)
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(f"the saved pipeline could not be fitted on the new data: {exc}"[:400]) from exc
    return fitted, f"cold refit (sklearn.clone: same hyperparameters, learned from scratch): {why_not}"


def _warm_blocker(model: Any, y: pd.Series) -> str | None:
    """Why warm starting does not apply to ``model`` (None: it does)."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return f"a {type(model).__name__} is not a preprocessing + estimator pipeline"
    estimator = model.steps[-1][1]
    if "warm_start" not in estimator.get_params(deep=False):
        return f"{type(estimator).__name__} has no warm start"
    known = getattr(estimator, "classes_", None)
    if known is not None and {str(c) for c in known} != {str(c) for c in y.unique()}:
        return "the new data's classes differ from the ones the model was trained on"
    return None


def _warm_fit(model: Any, X: pd.DataFrame, y: pd.Series) -> tuple[Any, str]:
    """Keep the fitted preprocessing, continue the estimator with ``warm_start=True`` on the new rows."""
    pipeline = copy.deepcopy(model)  # the loaded model stays as it was (it may be served or cached)
    prep, (_, estimator) = pipeline[:-1], pipeline.steps[-1]
    params, grown = estimator.get_params(deep=False), {}
    if "n_estimators" in params and hasattr(estimator, "estimators_"):  # forests, gradient boosting
        grown["n_estimators"] = len(estimator.estimators_) + int(params["n_estimators"])
    elif type(estimator).__name__.startswith("HistGradientBoosting"):  # (an MLP's max_iter is per fit call)
        grown["max_iter"] = int(estimator.n_iter_) + int(params["max_iter"])
    estimator.set_params(warm_start=True, **grown)
    try:
        estimator.fit(prep.transform(X), y)
    except (ValueError, TypeError, KeyError) as exc:
        raise DataError(f"warm-starting the saved model on the new data failed: {exc}"[:400]) from exc
    estimator.set_params(warm_start=False)  # its hyperparameters read as a plain fit again
    added = f"; {', '.join(f'{k} {params[k]} -> {v}' for k, v in grown.items())}" if grown else ""
    return pipeline, (f"{WARM_START}: kept the fitted preprocessing and continued {type(estimator).__name__} "
                      f"from its learned state on the new rows{added}")


def _result(loaded: LoadedModel, model: Any, problem: Problem, rows: pd.DataFrame, test: pd.DataFrame,
            columns: list[str], metrics: dict[str, float], note: str, how: str, *, dataset: Mapping[str, Any],
            tracker: Any, seed: int, seconds: float, parent: str) -> FitResult:
    import numpy as np
    import pandas as pd

    from automlops.core.fit import Artifact, FitResult, ValidationSummary
    from automlops.core.results import Decision
    from automlops.tabular.upload import feature_schema_for

    meta = loaded.meta
    score = float(metrics.get(problem.metric, float("nan")))
    label = f"{dataset.get('name')}@v{dataset.get('version')}"
    decisions = (Decision("source", f"retrained {parent} ({meta.get('best_model')}) on {label}"),
                 Decision("models", note), Decision("validation", how),
                 Decision("result", f"test {problem.metric} = {score:.4f} on {len(test)} held-out rows "
                                    f"(the parent scored {meta.get('test_score')} on its own test rows)"))
    params = dict(meta.get("best_params") or {})
    run_id, errors = log_retrained_model(tracker, loaded, model, problem, metrics, params, rows[columns].head(5),
                                         dataset, decisions, parent, note)
    artifact = Artifact("tabular", model, meta={
        "source": "retrain", "parent": parent, "retrain": note, "parent_dataset": meta.get("dataset"),
        "validation": "holdout", "refit_on_all_rows": False})
    return FitResult(
        engine="tabular", problem=problem, best_model=str(meta.get("best_model") or type(model).__name__),
        best_params=params, val_score=float("nan"), val_std=float("nan"), test_score=score, test_metrics=metrics,
        test_rows=np.asarray(test.index, dtype=np.int64), validation=ValidationSummary("holdout", 1, how),
        leaderboard=pd.DataFrame(), trials=pd.DataFrame({"state": []}), decisions=decisions,
        timings={"wall": seconds, "refit_seconds": seconds}, artifact=artifact, run_id=run_id,
        tracking_errors=errors, config={"seed": seed, "source": "retrain", "parent": parent},
        input_columns=tuple(columns), feature_schema=feature_schema_for(rows, columns, problem))


def log_retrained_model(tracker: Any, loaded: LoadedModel, model: Any, problem: Problem, metrics: dict[str, float],
                    params: dict[str, Any], example: pd.DataFrame, dataset: Mapping[str, Any],
                    decisions: tuple[Any, ...], parent: str, note: str) -> tuple[str | None, tuple[str, ...]]:
    """Log a retrained model as its own MLflow run, tagged with its parent (``NAME@vN``); returns the run id
    (None without a tracker) and what could not be logged."""
    from automlops.tabular._source_run import log_source_run

    tags = {"automlops.kind": "retrain", "automlops.engine": "tabular", "automlops.task": problem.task.value,
            "parent": parent, "source": "registry", "parent_run_id": loaded.meta.get("run_id") or "",
            "best_model": loaded.meta.get("best_model") or type(model).__name__}
    return log_source_run(
        tracker, name=f"{loaded.name}-retrain", tags=tags,
        params={"parent": parent, "source": "registry", "retrain": note[:200], **params},
        metrics={f"test_{k}": v for k, v in metrics.items()}, dataset=dataset,
        decisions=[str(d) for d in decisions], model=model, input_example=example)


def retrain_saved(ref: str, *, dataset: str, dataset_version: int | str | None = None, name: str | None = None,
                  settings: Any = None, tracker: Any = None, seed: int = 0, warm_start: bool = True,
                  notes: list[str] | None = None, tracking: bool = True) -> tuple[StoredModel, FitResult]:
    """Load ``ref`` (``NAME@vN``), retrain it on a lake version, save it as the next version of ``name``.

    The whole "From the registry" source in one call, for the command line and the dashboard.
    ``name`` defaults to the parent's name; ``tracking=False`` logs no MLflow run; ``notes`` collects what went wrong on the side
    (tracking, registration) while the model itself was saved.
    """
    from automlops.config import get_settings
    from automlops.mlops.lake import DataLake
    from automlops.mlops.store import ModelStore
    from automlops.tabular.persist import save_model

    settings = settings or get_settings()
    store = ModelStore(settings=settings)
    loaded = store.load(ref)
    lake = DataLake(settings=settings)
    entry = lake.get_version(dataset, dataset_version)
    if tracker is None and tracking:
        from automlops.mlops.tracking import Tracker

        tracker = Tracker(settings=settings)
    result = retrain_fit(loaded, lake.load(entry.dataset, entry.version), dataset=entry.lineage(), tracker=tracker,
                         seed=seed, warm_start=warm_start, parent_frame=_parent_frame(lake, loaded.meta))
    collected = notes if notes is not None else []
    collected.extend(result.tracking_errors)
    stored = save_model(result, store, name or loaded.name, dataset=entry.lineage(), tracker=tracker,
                        notes=collected, register=tracking)
    if result.run_id is not None:
        _name_run(tracker, result.run_id, stored.ref.replace("@", "-"), collected)
    return stored, result


def _parent_frame(lake: Any, meta: Mapping[str, Any]) -> pd.DataFrame | None:
    """The lake version the parent learned from, if the lake still has it intact (else None)."""
    from automlops.errors import AutoMLOpsError

    data = meta.get("dataset")
    if not isinstance(data, Mapping) or not data.get("name") or not data.get("version"):
        return None
    try:
        return lake.load(str(data["name"]), int(data["version"]))
    except (AutoMLOpsError, ValueError, TypeError):
        return None


def _name_run(tracker: Any, run_id: str, name: str, notes: list[str]) -> None:
    """Rename the run after the version it produced (``iris-v3``), as a search's run is."""
    from automlops.errors import AutoMLOpsError
    from automlops.search.tracking_sink import name_run

    try:
        name_run(tracker, run_id, name)
    except AutoMLOpsError as exc:
        notes.append(str(exc))
