"""Experiments: AutoML runs from MLflow (local or remote) — filter, inspect one, compare several."""

from __future__ import annotations

import streamlit as st

from automlops.ui import components, runs_view, tracking

target = tracking.current_target()
st.caption(f"Reading from **{target.label}** — {target.display_uri()}")

with components.guard("loading the runs from MLflow"):
    with st.spinner("Loading runs from MLflow…"):
        runs = runs_view.load_runs()
    if runs.empty:
        st.info("No AutoML runs here yet — train a model on the Train page and it appears here. (Runs logged to "
                "another tracking store show up after switching to it in Settings.)", icon=":material/info:")
        st.page_link("automlops/ui/pages/train.py", label="Train a model", icon=":material/model_training:")
        st.stop()

    shown = runs_view.filter_runs(runs)
    st.dataframe(runs_view.run_table(shown), hide_index=True, column_config={
        "validation": st.column_config.NumberColumn(format="%.4f"),
        "test": st.column_config.NumberColumn(format="%.4f"),
        "seconds": st.column_config.NumberColumn(format="%.1f")})
    st.caption(f"{len(shown)} of {len(runs)} runs shown.")
    if shown.empty:
        st.info("No run matches these filters.")
        st.stop()

    ids = shown["run_id"].tolist()
    tab_one, tab_compare = st.tabs([":material/search: One run", ":material/compare_arrows: Compare runs"])
    with tab_one:
        run_id = st.selectbox("Run", ids, format_func=lambda rid: runs_view.label(runs, rid), key="exp_run")
        with components.guard("reading the run"):
            runs_view.details(shown.loc[shown["run_id"] == run_id].iloc[0])
    with tab_compare:
        chosen = st.multiselect("Runs to compare (two or more)", ids, default=ids[:2] if len(ids) >= 2 else [],
                                format_func=lambda rid: runs_view.label(runs, rid), key="exp_compare")
        if len(chosen) < 2:
            st.info("Pick at least two runs to compare.")
        else:
            with components.guard("comparing the runs"):
                runs_view.compare(runs, chosen)
