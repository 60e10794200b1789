"""Vision: add an image archive, look inside it, train a network in the background, see what it sees."""

from __future__ import annotations

import streamlit as st

from automlops.mlops.image_lake import ImageLake
from automlops.ui import components, jobs, state, vision_results, vision_train, vision_view

settings = state.settings()
lake = ImageLake(settings=settings)
if (flash := state.pop_flash()) is not None:
    getattr(st, flash.kind)(flash.text)

has_images = bool(lake.list_datasets())
with st.expander("Add images (.zip)") if has_images else st.container(border=True):  # first: the way in
    vision_view.upload_section(lake)

job_id = state.vision_job_id()
job = jobs.get(job_id)
snap = job.snapshot() if job is not None else None
if job_id is not None and snap is None:  # a stale link, or the job table was removed
    state.set_vision_job_id(None)

st.subheader("1 · Images")
entry = None
with components.guard("listing the image datasets"):
    entry = vision_view.pick_version(lake, (snap.request.dataset, snap.request.version) if snap else None)
    if entry is not None:
        vision_view.show_version(lake, entry)
if snap is not None and snap.running:  # one vision training per browser tab at a time
    st.subheader("2 · Train")
    vision_train.live(snap.id)
else:
    if snap is not None:
        r = snap.request
        st.subheader("2 · Results")
        with st.expander(f"'{r.name}' on {r.dataset} v{r.version:04d} → {r.headline} · {snap.status}", expanded=True):
            with components.guard("showing the results"):
                vision_results.render(snap, settings)
            if st.button("Hide these results", key="vision_hide_results", icon=":material/visibility_off:"):
                state.set_vision_job_id(None)
                st.rerun()
    st.subheader("3 · Train again" if snap is not None else "2 · Train")
    with components.guard("listing the vision trainings"):
        vision_train.job_picker(job_id)
    if entry is None:
        st.caption("Add or pick an image dataset above to train on it.")
    else:
        with components.guard("preparing the training form"):
            if (request := vision_train.render_form(entry)) is not None:
                vision_train.submit(request, settings)
