"""Stability: is a saved model's score real, or luck? Refit it over splits, seeds and sweeps, in the background."""

from __future__ import annotations

import streamlit as st

from automlops.mlops.store import ModelStore
from automlops.ui import analysis_jobs, components, stability_view, state

settings = state.settings()
st.caption(stability_view.INTRO)

job_id = state.analysis_job_id(stability_view.KIND)
snap = analysis_jobs.get(job_id, settings=settings) if job_id else None
if job_id is not None and snap is None:  # a stale link, or the analysis table was removed
    state.set_analysis_job_id(stability_view.KIND, None)

if snap is not None and snap.running:  # one analysis per browser tab at a time
    stability_view.live(snap.job_id)
else:
    if snap is not None:
        st.subheader(f"Report: {snap.params.get('model')}")
        with components.guard("showing the stability report"):
            stability_view.show_outcome(snap)
        if st.button("Hide this report", key="stab_hide", icon=":material/visibility_off:"):
            state.set_analysis_job_id(stability_view.KIND, None)
            st.rerun()
    models, left_out = stability_view.analysable(ModelStore(settings=settings))
    if not models:
        st.info("No saved model to analyse yet: train one on the Train page (a model uploaded without its data "
                "cannot be refitted)." + (f" {left_out} uploaded model(s) left out." if left_out else ""),
                icon=":material/info:")
    else:
        st.subheader("New analysis" if snap is not None else "Analyse a model")
        chosen = stability_view.pick_model(models)
        if left_out:
            st.caption(f"{left_out} uploaded model version(s) are not listed: without their dataset version "
                       "they cannot be refitted.")
        params = None
        with components.guard("preparing the analysis form"):
            params = stability_view.form(chosen)
        if params is not None:
            with components.guard("starting the analysis"):
                stability_view.submit(params, settings)
        with components.guard("listing earlier analyses"):
            stability_view.past_analyses(settings, chosen.ref, job_id)
