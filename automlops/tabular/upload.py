"""Bringing your own model: an uploaded file is checked, validated on lake data, then saved.

**Formats.** A model file is either *data* or a *program*:

* ``.skops`` (preferred) is data: a zip with a JSON tree naming every object's type and state.
  Before anything is built, :func:`skops.io.get_untrusted_types` lists the types the file needs;
  the studio allows only the libraries its own models are made of (scikit-learn, numpy, scipy,
  LightGBM, XGBoost, CatBoost: the allow-list of :mod:`automlops.mlops.formats`) and refuses anything
  else, naming the types. Nothing in the file can make the loader run code.
* ``.pkl`` / ``.joblib`` are pickles: a list of instructions that loading *executes*, so a
  pickle can do anything your account can. They are loaded only when you say you trust the
  file (``--trust-pickle``, or the dashboard's confirmation box).

Anything else (an ``.onnx``, a CSV renamed ``.pkl``, a zip that is not skops) is refused.

**Validation** happens before anything reaches ``models/``: the object must be a
scikit-learn-compatible estimator that can ``predict``; it must know the chosen lake
dataset's columns (``feature_names_in_`` when it has them, else the dataset's columns without
the target); it predicts a sample, then every row, and is scored there. That score is honest
about what it is: **the dataset it was validated on, not an untouched test set** (the model
may have been trained on those very rows). Its task comes from scikit-learn's own
``is_classifier`` / ``is_regressor``.

**What is stored.** The model is saved through :class:`~automlops.mlops.store.ModelStore` like
any trained one (temp folder + rename, SHA-256, signed ``meta.json``; registered in MLflow by
:func:`~automlops.tabular.persist.save_model`) and *always as skops*: a pickle you trusted runs
once, here, at your request; what the API loads afterwards is skops data checked against the
allow-list again. A model whose objects skops cannot represent within the allow-list is refused.
"""

from __future__ import annotations

import io
import time
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automlops.config import Settings, get_settings
from automlops.errors import ConfigError, DataError, ModelError

if TYPE_CHECKING:
    import pandas as pd

    from automlops.core.fit import FitResult
    from automlops.core.problem import Problem
    from automlops.mlops.store import StoredModel

__all__ = ["PICKLE_SUFFIXES", "SCORE_NOTE", "SKOPS_SUFFIXES", "import_model", "load_upload"]

SKOPS_SUFFIXES = (".skops",)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
SCORE_NOTE = "scored on the dataset it was validated on; not an untouched test set"
MAX_ZIP_ENTRIES = 10_000
SAMPLE_ROWS = 20


def import_model(path: Path, *, name: str, dataset: str, dataset_version: int | None, target: str,
                 trust_pickle: bool = False, settings: Settings | None = None, tracker: Any = None,
                 filename: str | None = None, notes: list[str] | None = None, tracking: bool = True) -> StoredModel:
    """Load, validate and save an uploaded model as the next version of ``name``.

    ``filename`` is the name the user gave the file (a dashboard upload arrives in a temporary
    file); its suffix picks the format. Every refusal (format, trust, types, schema, a model that
    cannot predict) raises before the store is touched. ``tracker`` defaults to the studio's
    (``tracking=False``: no MLflow run, e.g. when the remote server did not answer);
    ``notes`` collects what went wrong on the side (tracking, registration) while the model was saved.
    """
    from automlops.mlops.lake import DataLake
    from automlops.mlops.store import NAME_PATTERN, ModelStore
    from automlops.tabular.persist import save_model

    settings = settings or get_settings()
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ModelError(f"invalid model name {name!r}: use 1-64 letters, digits, '_' or '-'")
    lake = DataLake(settings=settings)
    entry = lake.get_version(dataset, dataset_version)  # a wrong dataset is said before any file is opened
    shown = filename or Path(path).name
    model = load_upload(Path(path), filename=shown, trust_pickle=trust_pickle, max_bytes=settings.max_upload_bytes)
    frame = lake.load(entry.dataset, entry.version)
    tracker = _tracker(tracker, settings) if tracking else None
    result = validate_upload(model, frame, target=target, filename=shown, dataset=entry.lineage(),
                             tracker=tracker, run_name=name)
    collected = notes if notes is not None else []
    collected.extend(result.tracking_errors)
    return save_model(result, ModelStore(settings=settings), name, dataset=entry.lineage(), tracker=tracker,
                      notes=collected, register=tracking)


def _tracker(tracker: Any, settings: Settings) -> Any:
    if tracker is not None:
        return tracker
    from automlops.mlops.tracking import Tracker

    return Tracker(settings=settings)


# ------------------------------------------------------------------------------------- reading
def load_upload(path: Path, *, filename: str, trust_pickle: bool, max_bytes: int) -> Any:
    """The object in an uploaded model file, or a ModelError saying why it was refused."""
    suffix = Path(filename).suffix.lower()
    if suffix not in SKOPS_SUFFIXES + PICKLE_SUFFIXES:
        raise ModelError(f"{filename}: '{suffix or 'no extension'}' is not a model format the studio reads; "
                         "upload a .skops file (preferred) or a .pkl/.joblib pickle")
    if suffix in PICKLE_SUFFIXES and not trust_pickle:
        raise ConfigError(f"{filename} is a pickle, and a pickle is code: loading it runs whatever it contains. "
                          "Save the model with skops (skops.io.dump) and upload the .skops file, or, if you "
                          "trust where this file comes from, confirm it (--trust-pickle on the command line, "
                          "'I trust this file' in the dashboard)")
    size = path.stat().st_size if path.is_file() else -1
    if size < 0:
        raise DataError(f"no such file: {path}")
    if size > max_bytes:
        raise ModelError(f"{filename} is {size / 2**20:.1f} MB; the upload limit is {max_bytes / 2**20:.0f} MB "
                         "(AUTOMLOPS_MAX_UPLOAD_MB)")
    data = path.read_bytes()
    return _load_skops(data, filename, max_bytes) if suffix in SKOPS_SUFFIXES else _load_pickle(data, filename)


def _load_skops(data: bytes, filename: str, max_bytes: int) -> Any:
    """skops through the studio's allow-list (the same check the model store applies)."""
    from automlops.mlops.formats import SkopsFormat

    _check_zip(data, filename, max_bytes)
    trusted = SkopsFormat.trusted_types(data, filename)  # IntegrityError naming any type outside it
    from automlops.mlops._skops import load_skops_io

    skops_io = load_skops_io()

    try:
        return skops_io.loads(data, trusted=trusted)
    except Exception as exc:
        raise ModelError(f"{filename} could not be read as a skops model: {type(exc).__name__}: {exc}"[:400]) from exc


def _check_zip(data: bytes, filename: str, max_bytes: int) -> None:
    """A skops file is a zip with a schema.json; cap its entries and unpacked size (zip bombs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise ModelError(f"{filename} is not a skops file (a skops file is a zip archive; this is not one)") from None
    if "schema.json" not in {i.filename for i in infos}:
        raise ModelError(f"{filename} is a zip archive but not a skops model (it has no schema.json)")
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > 10 * max_bytes:
        raise ModelError(f"{filename} unpacks to more than the studio accepts ({len(infos)} entries, "
                         f"{sum(i.file_size for i in infos) / 2**20:.0f} MB)")


def _load_pickle(data: bytes, filename: str) -> Any:
    """joblib reads plain pickles too (and its own compressed files)."""
    import joblib

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return joblib.load(io.BytesIO(data))
    except Exception as exc:
        raise ModelError(f"{filename} is not a readable pickle/joblib file: {type(exc).__name__}: {exc}"[:400]) from exc


# ----------------------------------------------------------------------------------- validation
def input_columns_of(model: Any, frame: pd.DataFrame, target: str) -> list[str]:
    """The columns the model reads: its ``feature_names_in_``, else every column but the target.

    DataError names what does not fit (columns missing from the dataset, a model that reads its
    own target, or a column count that differs from what the model was fitted on).
    """
    if target not in frame.columns:
        raise DataError(f"target column '{target}' is not in the dataset; its columns are: "
                        + ", ".join(map(str, list(frame.columns)[:20])))
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        columns = [str(c) for c in names]
        if target in columns:
            raise DataError(f"the model reads the target column '{target}' as an input; choose the column it predicts")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise DataError(f"the dataset lacks column(s) the model needs: {', '.join(missing[:10])}{more}")
        return columns
    columns = [str(c) for c in frame.columns if c != target]
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and int(expected) != len(columns):
        raise DataError(f"the model was fitted on {int(expected)} columns without names; the dataset has "
                        f"{len(columns)} besides '{target}' ({', '.join(columns[:10])})")
    return columns


def _problem(model: Any, frame: pd.DataFrame, target: str) -> Problem:
    """Classification or regression from scikit-learn's own tags; the default metric of that task."""
    from dataclasses import replace

    from sklearn.base import is_classifier, is_regressor

    from automlops.core.problem import infer_problem

    task = "classification" if is_classifier(model) else "regression" if is_regressor(model) else None
    problem = infer_problem(frame, target, task=task)
    if problem.task.value == "classification":
        classes = tuple(getattr(model, "classes_", problem.classes))
        metric = problem.metric if callable(getattr(model, "predict_proba", None)) else "accuracy"
        problem = replace(problem.with_metric(metric), classes=tuple(c.item() if hasattr(c, "item") else c
                                                                     for c in classes))
    return problem


def _predict(model: Any, X: pd.DataFrame, problem: Problem, filename: str) -> tuple[Any, Any]:
    """A small sample first (a quick, readable failure), then every row."""
    from automlops.tabular.evaluate import predict_outputs

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predict_outputs(model, X.head(SAMPLE_ROWS), problem)
            return predict_outputs(model, X, problem)
    except Exception as exc:
        raise DataError(f"{filename} could not predict the dataset's rows: {type(exc).__name__}: {exc}"[:400]) from exc


def _check_classes(problem: Problem, y: Any, filename: str) -> list[str]:
    """Refuse a classifier none of whose classes occur in the target; note a partial overlap."""
    if problem.task.value != "classification":
        return []
    labels = {str(v) for v in y.unique()}
    known = {str(c) for c in problem.classes}
    if not labels & known:
        raise DataError(f"{filename} predicts the classes {sorted(known)[:10]}, none of which is a value of "
                        f"'{problem.target}' ({sorted(labels)[:10]}): it was trained for another target")
    unknown = sorted(labels - known)
    return [f"the target has value(s) the model never predicts: {', '.join(unknown[:10])}"] if unknown else []


def validate_upload(model: Any, frame: pd.DataFrame, *, target: str, filename: str, dataset: dict[str, Any],
                    tracker: Any = None, run_name: str = "upload") -> FitResult:
    """Check ``model`` against ``frame`` and describe it as a :class:`FitResult` ready to save."""
    from automlops.core.metrics import score_all

    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"{filename} holds a {type(model).__name__}, which cannot predict: it is not a model")
    from sklearn.base import BaseEstimator

    if not isinstance(model, BaseEstimator):
        raise ModelError(f"{filename} holds a {type(model).__name__}; the studio accepts scikit-learn-compatible "
                         "estimators and pipelines (scikit-learn, LightGBM, XGBoost)")
    _check_storable(model, filename)
    started = time.perf_counter()
    columns = input_columns_of(model, frame, target)
    rows = frame[frame[target].notna()]
    problem = _problem(model, rows, target)
    notes = _check_classes(problem, rows[target], filename)
    pred, proba = _predict(model, rows[columns], problem, filename)
    metrics = score_all(problem.task, rows[target].to_numpy(), pred, proba, problem.classes)
    return _result(model, problem, rows, columns, metrics, notes, filename=filename, dataset=dataset,
                   tracker=tracker, run_name=run_name, seconds=time.perf_counter() - started)


def _check_storable(model: Any, filename: str) -> None:
    """The store will write skops: refuse now (naming the types) if that cannot be done within the allow-list."""
    from automlops.mlops.formats import outside_allow_list
    from automlops.mlops.skops_snapshot import skops_snapshot

    try:
        needed = skops_snapshot(model).untrusted_types
    except Exception as exc:
        raise ModelError(f"{filename}: the studio stores uploaded models as skops data, and skops cannot represent "
                         f"this {type(model).__name__}: {type(exc).__name__}: {exc}"[:400]) from exc
    refused = outside_allow_list(list(needed))
    if refused:
        raise ModelError(f"{filename} holds type(s) outside the studio's allow-list: {', '.join(refused)}; "
                         "it cannot be stored as skops data, so it was not saved")


def feature_schema_for(frame: pd.DataFrame, columns: list[str], problem: Problem) -> dict[str, Any]:
    """The ``feature_schema`` of ``meta.json``, built by the tabular engine's own planner.

    :func:`~automlops.tabular.preprocessing.plan_features` describes each column (kind, dtype,
    categories); columns it would drop (an ID, a constant) stay in the schema when the uploaded
    model reads them, and the dataset's other columns are listed as ignored.
    """
    from dataclasses import replace

    from automlops.tabular.preprocessing import FeatureSpec, _kind_of, plan_features

    unplanned = replace(problem, target=None)  # no leakage check: nothing is being trained here
    try:
        planned = {f.name: f for f in plan_features(frame[columns], unplanned).features}
    except DataError:  # every column would be dropped by the planner: describe them all below
        planned = {}
    features = []
    for column in columns:
        spec = planned.get(column)
        if spec is None:
            s = frame[column]
            spec = FeatureSpec(column, _kind_of(s), str(s.dtype), bool(s.isna().any()), None, int(s.isna().sum()))
        features.append(spec.to_dict())
    ignored = {str(c): "the uploaded model does not read it" for c in frame.columns
               if c not in columns and c != problem.target}
    return {"features": features, "dropped": ignored}


def _result(model: Any, problem: Problem, rows: pd.DataFrame, columns: list[str], metrics: dict[str, float],
            notes: list[str], *, filename: str, dataset: dict[str, Any], tracker: Any, run_name: str,
            seconds: float) -> FitResult:
    import numpy as np
    import pandas as pd

    from automlops.core.fit import Artifact, FitResult, ValidationSummary
    from automlops.core.results import Decision

    score = float(metrics.get(problem.metric, float("nan")))
    label = f"{dataset.get('name')}@v{dataset.get('version')}"
    decisions = [Decision("source", f"uploaded from {filename}; loaded, then validated on {label}"),
                 *(Decision("task", r) for r in problem.reasons[:1]),
                 *(Decision("data", n) for n in notes),
                 Decision("result", f"{problem.metric} = {score:.4f} on {len(rows)} rows: {SCORE_NOTE}")]
    params = {k: v for k, v in model.get_params(deep=False).items() if not hasattr(v, "get_params")}
    run_id, errors = _log(tracker, run_name, model, problem, metrics, params, rows[columns].head(5), dataset,
                          decisions, filename)
    artifact = Artifact("tabular", model, format="skops", meta={
        "source": "upload", "origin_filename": filename, "score_note": SCORE_NOTE,
        "validated_on": label})
    return FitResult(
        engine="tabular", problem=problem, best_model=_describe(model), best_params=params,
        val_score=float("nan"), val_std=float("nan"), test_score=score, test_metrics=metrics,
        test_rows=np.arange(len(rows)), validation=ValidationSummary("upload", 0, SCORE_NOTE),
        leaderboard=pd.DataFrame(), trials=pd.DataFrame({"state": []}), decisions=tuple(decisions),
        timings={"wall": seconds}, artifact=artifact, run_id=run_id, tracking_errors=errors,
        input_columns=tuple(columns), feature_schema=feature_schema_for(rows, columns, problem))


def _describe(model: Any) -> str:
    """``LogisticRegression``, or ``Pipeline(StandardScaler, LogisticRegression)`` for a pipeline."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        return f"{type(model).__name__}({', '.join(type(step).__name__ for _, step in steps)})"[:120]
    return type(model).__name__


def _log(tracker: Any, run_name: str, model: Any, problem: Problem, metrics: dict[str, float],
         params: dict[str, Any], example: pd.DataFrame, dataset: dict[str, Any], decisions: list[Any],
         filename: str) -> tuple[str | None, tuple[str, ...]]:
    from automlops.tabular._source_run import log_source_run

    return log_source_run(
        tracker, name=f"{run_name}-upload",
        tags={"automlops.kind": "upload", "automlops.engine": "tabular", "automlops.task": problem.task.value,
              "source": "upload", "origin_filename": filename},
        params={"source": "upload", "origin_filename": filename, "model_class": _describe(model), **params},
        metrics={f"validation_{k}": v for k, v in metrics.items()}, dataset=dataset,
        decisions=[str(d) for d in decisions], model=model, input_example=example)
