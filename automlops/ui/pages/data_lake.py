"""Data Lake: upload CSVs as versioned datasets, inspect a version, choose the training workspace."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from automlops.mlops.lake import DataLake, DatasetProfile, dataset_name_from_filename
from automlops.ui import components, state


@st.cache_data(show_spinner="Reading the version…", max_entries=16)
def look_inside(root: str, name: str, number: int, sha256: str, target: str | None) -> tuple[DatasetProfile, object]:
    """Profile and first rows of a version (a version never changes: cached by its SHA-256)."""
    lake = DataLake(Path(root))
    return lake.profile(name, number, target=target), lake.load(name, number).head(50)


settings = state.settings()
lake = DataLake(settings=settings)
if (flash := state.pop_flash()) is not None:
    getattr(st, flash.kind)(flash.text)

with st.container(border=True):
    st.subheader("Add a CSV")
    uploaded = st.file_uploader("CSV file (drag and drop)", type=["csv", "tsv", "txt"], key="lake_upload",
                                help="Comma, semicolon or tab separated; UTF-8 or Latin-1; ',' or '.' decimals.")
    names = [d.name for d in lake.list_datasets()]
    c1, c2 = st.columns(2)
    mode = c1.radio("Store it as", ["new", "existing"], horizontal=True, key="lake_mode",
                    format_func={"new": "a new dataset", "existing": "a new version of a dataset"}.get,
                    disabled=not names)
    if mode == "existing" and names:
        name = c2.selectbox("Dataset", names, key="lake_existing")
    else:
        name = c2.text_input("Dataset name", value=dataset_name_from_filename(uploaded.name) if uploaded else "",
                             help="1-64 letters, digits, '_' or '-'")
    # One note per uploaded file: a new file starts with an empty note (no stale provenance).
    note = st.text_input("Note (optional)", key=f"lake_note_{uploaded.file_id}" if uploaded else "lake_note",
                         placeholder="where the data comes from, what changed")
    if st.button("Add to the data lake", type="primary", key="lake_add", disabled=uploaded is None):
        with components.guard("adding the file to the data lake"):
            assert uploaded is not None
            version = lake.add(name, uploaded.getvalue(), note=note, filename=uploaded.name)
            state.set_workspace(version.dataset, version.version)
            for key in ("lake_view_dataset", f"lake_view_version_{version.dataset}"):
                st.session_state.pop(key, None)  # the viewer below follows the new version
            verb = "is already stored as" if version.reused else "was added as"
            state.show_flash("success", f"{uploaded.name} {verb} {version.dataset} {version.id} ({version.rows} rows "
                                        f"× {len(version.columns)} columns); it is now the training workspace.")
            st.rerun()

datasets = lake.list_datasets()
if not datasets:
    st.info("No datasets yet — upload a CSV above, or load the demo datasets (iris, wine, penguins, "
            "breast cancer, diabetes, cars) that ship with the studio.", icon=":material/info:")
    if st.button("Load the demo datasets", key="lake_demo"):
        with components.guard("loading the demo datasets"), st.spinner("Loading the demo datasets…"):
            from automlops.demo import seed_demo

            seed_demo(lake)
            st.rerun()
    st.stop()

st.subheader("Datasets and versions")
rows = [{"dataset": v.dataset, "version": v.id, "stage": v.stage, "rows": v.rows, "columns": len(v.columns),
         "sha256": v.sha256[:12], "note": v.note, "created": v.created} for d in datasets for v in d.versions]
st.dataframe(rows, hide_index=True)

st.subheader("Look inside a version")
ws = state.workspace()
names = [d.name for d in datasets]
c1, c2, c3 = st.columns(3)
name = c1.selectbox("Dataset", names, index=names.index(ws.dataset) if ws and ws.dataset in names else 0,
                    key="lake_view_dataset")
info = datasets[names.index(name)]
numbers = [v.version for v in reversed(info.versions)]
number = c2.selectbox("Version", numbers, format_func=lambda n: f"v{n:04d}", key=f"lake_view_version_{name}")
entry = next(v for v in info.versions if v.version == number)
columns = list(entry.columns)
target = c3.selectbox("Target to profile (optional)", [None, *columns], key=f"lake_view_target_{name}",
                      format_func=lambda c: "—" if c is None else c)

with components.guard(f"reading {name} {entry.id}"):
    profile, preview = look_inside(str(lake.root), name, number, entry.sha256, target)
    st.caption(f"{profile.rows} rows × {profile.columns} columns · created {entry.created} · SHA-256 {entry.sha256}")
    tab_preview, tab_profile = st.tabs(["Preview", "Profile"])
    with tab_preview:
        st.dataframe(preview, hide_index=True)
    with tab_profile:
        st.dataframe(profile.table, hide_index=True, column_config={
            "missing_pct": st.column_config.ProgressColumn("missing %", min_value=0, max_value=100, format="%.1f")})
        if profile.target_balance is not None:
            components.show_chart(components.balance_chart(profile.target_balance, str(target)), key="balance")
        elif profile.target_stats is not None:
            st.markdown(f"**'{target}' has many values** — summary statistics:")
            st.dataframe(profile.target_stats)
        else:
            st.caption("Choose a target column above to see its class balance or spread.")

is_workspace = ws is not None and (ws.dataset, ws.version) == (name, number)
if st.button(":material/check: This is the workspace" if is_workspace else "Use this version for training", key="lake_use",
             disabled=is_workspace, type="primary"):
    state.set_workspace(name, number)
    st.rerun()
if is_workspace:
    st.page_link("automlops/ui/pages/train.py", label="Train a model on it", icon=":material/model_training:")
