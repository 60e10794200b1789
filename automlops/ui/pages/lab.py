"""Search lab: compare search strategies on one lake table (same budget, same seeds), in the background."""

from __future__ import annotations

import streamlit as st

from automlops.mlops.lake import DataLake
from automlops.ui import analysis_jobs, components, lab_view, state

settings = state.settings()
st.caption(lab_view.INTRO)

job_id = state.analysis_job_id(lab_view.KIND)
snap = analysis_jobs.get(job_id, settings=settings) if job_id else None
if job_id is not None and snap is None:  # a stale link, or the analysis table was removed
    state.set_analysis_job_id(lab_view.KIND, None)

if snap is not None and snap.running:  # one lab per browser tab at a time
    lab_view.live(snap.job_id)
else:
    if snap is not None:
        st.subheader("Result")
        with components.guard("showing the lab's result"):
            lab_view.show_outcome(snap)
        if st.button("Hide this result", key="lab_hide", icon=":material/visibility_off:"):
            state.set_analysis_job_id(lab_view.KIND, None)
            st.rerun()
    st.subheader("New lab" if snap is not None else "Settings")
    params = None
    with components.guard("preparing the lab form"):
        params = lab_view.form(DataLake(settings=settings))
    if params is not None:
        with components.guard("starting the lab"):
            lab_view.submit(params, settings)
    with components.guard("listing earlier labs"):
        lab_view.past_labs(settings, job_id)
