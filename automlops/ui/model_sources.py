"""The Train page's model sources besides the AutoML search: the registry, and an upload.

* **From the registry** picks a saved version (``NAME@vN``) and a lake dataset version, and fits
  the same pipeline with the same hyperparameters on that data (warm-starting where the
  estimator supports it): :func:`automlops.tabular.retrain.retrain_saved`. The new version
  records its parent, and its MLflow run is tagged with it.
* **Upload a model** takes a ``.skops`` file (data, read through the studio's type allow-list)
  or a ``.pkl``/``.joblib`` pickle (code: only after the user confirms they trust it), validates
  it on a lake dataset and target, and saves it: :func:`automlops.tabular.upload.import_model`.

Both are one fit (or none) on a small table: seconds, so they run in the page's own script
run under a spinner rather than in a background job. Every refusal is an ``st.error``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from automlops.ui import components, tracking

if TYPE_CHECKING:
    from automlops.config import Settings
    from automlops.mlops.lake import DataLake, DatasetVersion

__all__ = ["AUTOML", "REGISTRY", "SOURCES", "UPLOAD", "pick_source", "render"]

AUTOML, REGISTRY, UPLOAD = "automl", "registry", "upload"
SOURCES = {AUTOML: "AutoML search", REGISTRY: "From the registry", UPLOAD: "Upload a model"}
CAPTIONS = {AUTOML: "scikit-learn, LightGBM, CatBoost and XGBoost models, searched and tuned for you",
            REGISTRY: "retrain a saved version on another dataset version (same pipeline and hyperparameters)",
            UPLOAD: "bring your own model: .skops (preferred), or a .pkl/.joblib pickle you trust"}
UPLOAD_TYPES = ["skops", "pkl", "pickle", "joblib"]
PICKLE_WARNING = ("A pickle is code: loading it runs whatever it contains, with your account's rights. Upload it "
                  "only if you know where it comes from; a .skops file needs no such trust.")


def pick_source() -> str:
    """The model source radio (AutoML search by default)."""
    return str(st.radio("Model source", list(SOURCES), format_func=SOURCES.__getitem__, key="train_source",
                        captions=[CAPTIONS[s] for s in SOURCES], horizontal=True))


def render(source: str, lake: DataLake, settings: Settings) -> None:
    """Draw the form of ``source`` (``REGISTRY`` or ``UPLOAD``) and run it when its button is pressed."""
    if source == REGISTRY:
        _registry_form(lake, settings)
    elif source == UPLOAD:
        _upload_form(lake, settings)


def _lake_version(lake: DataLake, key: str, label: str, preferred: str | None = None) -> DatasetVersion | None:
    """A dataset + version picker; ``None`` (and a hint) when the lake is empty."""
    datasets = lake.list_datasets()
    if not datasets:
        st.info("No datasets yet — add a CSV in the Data Lake, or load the demo datasets there.")
        return None
    names = [d.name for d in datasets]
    left, right = st.columns(2)
    name = left.selectbox(label, names, index=names.index(preferred) if preferred in names else 0,
                          key=f"{key}_dataset")
    versions = list(reversed(datasets[names.index(name)].versions))
    entry = right.selectbox("Version", versions, format_func=lambda v: f"v{v.version:04d} · {v.rows} rows",
                            key=f"{key}_version_{name}")
    return entry


def _tracking() -> tuple[Settings, Any, str | None]:
    """The active tracking target's settings and a tracker; a note instead when its server does not answer."""
    target = tracking.current_target()
    if target.is_remote:
        with st.spinner(f"Checking {target.label}…"):
            status = tracking.check(target)
        if not status.ok:
            return target.settings(), None, (f"Tracking server {status.state}: {status.message}. The model is saved "
                                             "locally without an MLflow run.")
    return target.settings(), tracking.new_tracker(target), None


# --------------------------------------------------------------------------------- registry
def _registry_form(lake: DataLake, settings: Settings) -> None:
    from automlops.mlops.store import ModelStore
    from automlops.tabular.retrain import RETRAINABLE_KINDS

    st.subheader("Retrain a saved model")
    stored = [m for m in reversed(ModelStore(settings=settings).list_models())
              if str(m.meta.get("kind") or "tabular") in RETRAINABLE_KINDS
              and m.meta.get("task") in ("classification", "regression")]
    if not stored:
        st.info("No saved classification or regression model yet: train one with the AutoML search first, or "
                "upload one.")
        return
    by_ref, stages = {m.ref: m for m in stored}, _stages({m.name for m in stored})
    ref = st.selectbox("Saved version", list(by_ref), key="retrain_ref",
                       format_func=lambda r: _label(by_ref[r], stages.get(r)))
    parent = by_ref[ref]
    trained_on = parent.meta.get("dataset") or {}
    st.caption(f"{ref} learned from {trained_on.get('name')}@v{trained_on.get('version')}; it reads "
               f"{len(parent.meta.get('input_columns') or [])} columns and predicts '{parent.meta.get('target')}'.")
    entry = _lake_version(lake, "retrain", "Retrain on dataset", preferred=trained_on.get("name"))
    if entry is None:
        return
    warm = st.checkbox("Warm start where the model supports it", value=True, key="retrain_warm",
                       help="Forests and boosting add trees or iterations on top of the saved ones; linear models "
                            "and neural networks start from the saved coefficients. Otherwise: a fresh fit.")
    name = st.text_input("Save the model as", value=parent.name, key="retrain_name")
    if st.button("Retrain", type="primary", key="retrain_start"):
        with components.guard("retraining the model"):
            _retrain(ref, entry, name.strip() or parent.name, warm)


def _label(stored: Any, stage: str | None) -> str:
    meta = stored.meta
    return (f"{stored.ref}{f' ({stage})' if stage else ''} · {meta.get('best_model', '?')} · {meta.get('task', '?')} "
            f"· {stored.created:%Y-%m-%d %H:%M}")


def _stages(names: set[str]) -> dict[str, str]:
    """``NAME@vN -> stage`` from the local model registry (a remote one is not asked while drawing a form)."""
    from automlops.errors import AutoMLOpsError
    from automlops.mlops.registry import ModelRegistry
    from automlops.mlops.tracking import sqlite_path

    target = tracking.current_target()
    db = sqlite_path(target.settings().resolved_tracking_uri)
    if target.is_remote or db is None or not db.exists():
        return {}
    registry, stages = ModelRegistry(tracking.current_tracker()), {}
    for name in sorted(names):
        try:
            stages.update({f"{name}@v{v.version}": v.stage for v in registry.versions(name) if v.stage})
        except AutoMLOpsError:  # not registered (yet), or the registry could not be read: no labels
            continue
    return stages


def _retrain(ref: str, entry: DatasetVersion, name: str, warm: bool) -> None:
    from automlops.tabular.retrain import retrain_saved

    settings, tracker, note = _tracking()
    notes: list[str] = [note] if note else []
    with st.spinner(f"Retraining {ref} on {entry.dataset}@v{entry.version}…"):
        stored, result = retrain_saved(ref, dataset=entry.dataset, dataset_version=entry.version, name=name,
                                       settings=settings, tracker=tracker, warm_start=warm, notes=notes,
                                       tracking=tracker is not None)
    st.success(f"Saved **{stored.ref}** (parent {ref}): test {result.problem.metric} = {result.test_score:.4f} on "
               f"{result.n_test_rows} held-out rows of {entry.dataset}@v{entry.version}.")
    for decision in result.decisions:
        st.caption(str(decision))
    for line in notes:
        st.warning(line)


# ----------------------------------------------------------------------------------- upload
def _upload_form(lake: DataLake, settings: Settings) -> None:
    st.subheader("Upload a model")
    uploaded = st.file_uploader("Model file (.skops preferred; .pkl / .joblib)", type=UPLOAD_TYPES,
                                key="upload_file")
    trusted = False
    if uploaded is not None and Path(uploaded.name).suffix.lower() != ".skops":
        st.warning(PICKLE_WARNING, icon=":material/warning:")
        trusted = st.checkbox("I trust this file: a pickle runs code", value=False, key="upload_trust")
    entry = _lake_version(lake, "upload", "Validate on dataset")
    if entry is None:
        return
    columns = list(entry.columns)
    default = columns.index("target") if "target" in columns else len(columns) - 1
    target = st.selectbox("Target column (what the model predicts)", columns, index=default,
                          key=f"upload_target_{entry.dataset}")
    stem = Path(uploaded.name).stem if uploaded is not None else "uploaded"
    name = st.text_input("Save the model as", value=_safe_name(stem), key=f"upload_name_{_safe_name(stem)}")
    st.caption("The model must read this dataset's columns and predict every row before it is saved; its score "
               "is on this dataset, which it may have been trained on (not an untouched test set).")
    if st.button("Validate and save", type="primary", key="upload_start", disabled=uploaded is None):
        with components.guard("importing the model"):
            _import(uploaded, entry, target, name.strip(), trusted)


def _score(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "n/a"


def _safe_name(stem: str) -> str:
    from automlops.mlops.lake import dataset_name_from_filename

    return dataset_name_from_filename(stem)


def _import(uploaded: Any, entry: DatasetVersion, target: str, name: str, trusted: bool) -> None:
    from automlops.tabular.upload import SCORE_NOTE, import_model

    settings, tracker, note = _tracking()
    notes: list[str] = [note] if note else []
    with st.spinner(f"Validating {uploaded.name} on {entry.dataset}@v{entry.version}…"), \
            tempfile.TemporaryDirectory(prefix="automlops-upload-") as folder:
        path = Path(folder) / "model.upload"
        path.write_bytes(uploaded.getvalue())
        stored = import_model(path, name=name, dataset=entry.dataset, dataset_version=entry.version, target=target,
                              trust_pickle=trusted, settings=settings, tracker=tracker, filename=uploaded.name,
                              notes=notes, tracking=tracker is not None)
    meta = stored.meta
    st.success(f"Saved **{stored.ref}**: {meta.get('best_model')} ({meta.get('task')}), {meta.get('metric')} = "
               f"{_score(meta.get('test_score'))} on {entry.dataset}@v{entry.version} — {SCORE_NOTE}.")
    for line in notes:
        st.warning(line)
