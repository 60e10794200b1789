"""Train: configure an AutoML search, run it in the background, and read its results."""

from __future__ import annotations

import streamlit as st

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from automlops.ui import components, jobs, model_sources, state, train_form, training_view
from automlops.ui.submit import submit_checked


def start(request: jobs.TrainRequest, settings: Settings) -> None:
    """Check a remote tracking server first (a run that cannot be logged would be lost), then submit."""
    job = submit_checked(request, settings)
    if job is not None:
        state.set_active_job_id(job.id)
        st.rerun()


def train_again(job_id: str) -> None:
    """Below an ended job: the form starts from that job's request (once per job, then it is the user's)."""
    job = jobs.get(job_id)
    if job is None:
        return
    st.subheader("Train again")
    st.caption("The form starts from the choices of the training above; change what you like.")
    if state.prefilled_from() != job_id:
        snap = job.snapshot()
        train_form.prefill(snap.request, snap.result.task if snap.result else None)
        state.set_prefilled_from(job_id)


job_id = state.active_job_id()
running = job_id is not None and training_view.render(job_id)  # one job per browser tab at a time
if not running:
    with components.guard("listing the training jobs"):
        training_view.job_picker(state.active_job_id())
    if (ended := state.active_job_id()) is not None:
        st.divider()
        train_again(ended)
    settings = state.settings()
    source = model_sources.pick_source()
    with components.guard("preparing the training form"):
        if source != model_sources.AUTOML:
            model_sources.render(source, DataLake(settings=settings), settings)
        elif (request := train_form.render(DataLake(settings=settings))) is not None:
            start(request, settings)
