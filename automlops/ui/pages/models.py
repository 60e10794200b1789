"""Models: saved model versions with their lineage; which one the API serves (and "Serve this
version"); download one, or predict on a new CSV."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import streamlit as st

from automlops.errors import ModelError
from automlops.mlops.serving_pointer import clear_serving_pointer, point_serving_at, read_serving_pointer
from automlops.mlops.store import LoadedModel, ModelStore
from automlops.tasks import model_kind
from automlops.ui import state
from automlops.ui.bundle_view import render_bundle
from automlops.ui.explain_view import render_explanations
from automlops.ui.export_view import render_export
from automlops.ui.model_card_view import render_model_card
from automlops.ui.model_predict import predict_csv
from automlops.ui.registry_view import render_registry

FORMAT_NOTES = {
    "skops": "A .skops file stores the model as data, not code: skops loads it only after checking every type "
             "in it against an allow-list. The studio also checks the SHA-256 above before it loads its own.",
    "joblib": "A .joblib file is a pickle: loading it runs code. Only load model files you trust; the studio "
              "checks the SHA-256 above before it loads its own.",
    "torch-state-dict": "A .pt file holding only the network's weights (a state dict, read with weights_only=True: "
                        "no code runs); the architecture is rebuilt by name from meta.json.",
}


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def load_model(root: str, name: str, version: int, sha256: str) -> LoadedModel:
    """Verify (SHA-256) and load a stored version once; a version never changes."""
    return ModelStore(Path(root)).load(name, version)


def served_by_api(url: str, timeout: float = 0.3) -> str | None:
    """``"name@v3"``: what the API at ``url`` serves now (its public health record), or None."""
    try:
        with urllib.request.urlopen(f"{url}/", timeout=timeout) as response:
            model = json.loads(response.read(65536)).get("model") or {}
    except (OSError, ValueError, AttributeError):
        return None
    return f"{model['name']}@v{model.get('version')}" if isinstance(model, dict) and model.get("name") else None


settings = state.settings()
store = ModelStore(settings=settings)
models = store.list_models()
if not models:
    st.info("No saved models yet — train one on the Train page; each training saves a new version here.", icon=":material/info:")
    st.page_link("automlops/ui/pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()


def _dataset(meta: dict) -> str:
    ds = meta.get("dataset") or {}
    return f"{ds.get('name')} v{int(ds.get('version', 0)):04d}" if ds.get("name") else "—"


served = served_by_api(settings.resolved_api_url)
st.dataframe([{"model": m.ref, "API": "serving" if m.ref == served else "", "task": m.meta.get("task"),
               "best model": m.meta.get("best_model"),
               "metric": m.meta.get("metric"), "test score": m.meta.get("test_score"), "dataset": _dataset(m.meta),
               "created": m.created.strftime("%Y-%m-%d %H:%M"), "run": (m.meta.get("run_id") or "—")[:12]}
              for m in reversed(models)], hide_index=True,
             column_config={"test score": st.column_config.NumberColumn(format="%.4f")})

refs = [m.ref for m in reversed(models)]
ref = st.selectbox("Model version", refs, key="models_pick")
chosen = models[len(models) - 1 - refs.index(ref)]
meta = chosen.meta
ds = meta.get("dataset") or {}

st.subheader("Serving")
try:
    pointer = read_serving_pointer(store.root)
except ModelError as exc:
    pointer = None
    st.warning(str(exc))
st.caption((f"The API at {settings.resolved_api_url} serves **{served}**." if served else
            f"No API answers at {settings.resolved_api_url} (start it with `automlops serve`).")
           + (f" You chose **{pointer.ref}** with *Serve this version*." if pointer else
              " It keeps serving one model name and follows that name's new versions."))
serve_col, unpin_col = st.columns(2)
if serve_col.button(f":material/rocket_launch: Serve this version ({chosen.ref})", key="models_serve",
                    disabled=pointer is not None and pointer.ref == chosen.ref):
    point_serving_at(store.root, chosen.name, chosen.version)
    st.success(f"The API switches to {chosen.ref} within a second (it checks every "
               f"{settings.api_reload_interval:g} s); a broken version is refused and the old one keeps serving.")
if pointer is not None and unpin_col.button(":material/undo: Clear the choice (back to the API's own pin)",
                                            key="models_unpin"):
    clear_serving_pointer(store.root)
    st.rerun()
render_registry(chosen, store, settings)  # stages (staging/production/archived), promote, roll back, history
render_model_card(chosen, settings)  # data, scores with spread, SHAP features, drift, stage history (+ .md)

left, right = st.columns([3, 2])
with left:
    st.subheader("Lineage")
    run = meta.get("run_id") or "not tracked"
    dot = (f'digraph {{ rankdir=LR; node [shape=box, style="rounded,filled", fillcolor="#eef4ff", fontname="sans"];'
           f' d [label="dataset\\n{_dataset(meta)}\\nsha {str(ds.get("sha256", ""))[:12]}"];'
           f' r [label="MLflow run\\n{run[:12]}"]; m [label="model\\n{chosen.ref}"]; d -> r -> m; }}')
    st.graphviz_chart(dot)
    st.caption(f"Dataset SHA-256: `{ds.get('sha256', '—')}` · model SHA-256: `{meta.get('model_sha256', '—')}`")
with right:
    st.subheader("Scores")
    st.metric(f"Validation {meta.get('metric')}", f"{meta.get('val_score', float('nan')):.4f}",
              help=f"± {meta.get('val_std', float('nan')):.4f} ({meta.get('validation')})")
    st.metric(f"Test {meta.get('metric')}", f"{meta.get('test_score', float('nan')):.4f}",
              help=f"on {meta.get('n_test_rows')} rows the model had not seen when it was scored"
                   + ("; the shipped model was then refitted on all rows, test rows included"
                      if meta.get("refit_on_all_rows") else "")
                   + ("; the shipped blend was then refitted on all rows, test rows included, except "
                      + ", ".join(meta["refit_kept_members"]) + " (the time budget ran out: they kept their fit on "
                      "the training rows)" if meta.get("refit_kept_members") else ""))

if model_kind(meta) == "tabular":
    render_explanations(chosen, lambda: load_model(str(store.root), chosen.name, chosen.version, meta["model_sha256"]), settings)
if model_kind(meta) != "tabular":
    from automlops.ui.task_report import render_report

    with st.expander("Results: plots and tables", expanded=True):
        render_report(model_kind(meta), meta, key="models-report")

with st.expander("Metadata (meta.json)"):
    st.json(meta, expanded=False)

st.subheader("Download")
model_file = chosen.path / str(meta.get("model_file", "model.joblib"))
st.caption(FORMAT_NOTES.get(str(meta.get("model_format", "joblib")), FORMAT_NOTES["joblib"]))
c1, c2 = st.columns(2)
if model_file.is_file():
    c1.download_button(f":material/download: {model_file.name}", model_file.read_bytes(),
                       file_name=f"{chosen.name}-v{chosen.version:04d}{model_file.suffix}",
                       mime="application/octet-stream", key="models_download")
c2.download_button(":material/download: meta.json", json.dumps(meta, indent=2, default=str), file_name=f"{chosen.name}-v"
                   f"{chosen.version:04d}-meta.json", mime="application/json", key="models_download_meta")
render_export(chosen, meta, str(store.root), lambda: load_model(str(store.root), chosen.name, chosen.version,
                                                                  str(meta.get("model_sha256"))))
render_bundle(chosen, meta, str(store.root), settings)  # a Docker build context serving it

if model_kind(meta) == "vision":  # it answers images, not rows
    from automlops.ui.vision_results import try_an_image

    try_an_image(settings, chosen.name, chosen.version, meta)
else:
    predict_csv(settings, chosen, meta, lambda: load_model(str(store.root), chosen.name, chosen.version,
                                                           str(meta.get("model_sha256"))))
