"""What every page shares: the sidebar (tracking target, workspace, running jobs) and warm-up.

The sidebar never waits for the network: the tracking status comes from a cache refreshed in a
background thread. The warm-up (:mod:`automlops.ui.imports`) loads the heavy libraries once per
process in a background thread after the first page is drawn, so the first visit to Train or
Experiments does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from automlops.ui import imports, jobs, state, tracking

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

__all__ = ["STATUS_ICON", "background", "sidebar"]

STATUS_ICON = {"connected": ":material/check_circle:", "unauthorized": ":material/lock:",
               "unreachable": ":material/cloud_off:", "error": ":material/error:"}
PENDING_ICON = ":material/hourglass_top:"


def sidebar(slot: DeltaGenerator | None = None) -> DeltaGenerator:
    """Tracking target and status (from the cache), workspace, and this tab's running job.

    Drawn into ``slot`` (an ``st.sidebar.empty()``), so calling it again after the page replaces
    the first drawing with what the page changed (e.g. the workspace it just chose).
    """
    slot = slot or st.sidebar.empty()
    state.sync_url()  # the URL keeps the workspace and the job: a reload lands back on them
    target = tracking.current_target()
    status = tracking.cached_status(target)
    with slot.container():
        icon = STATUS_ICON.get(status.state, PENDING_ICON) if status else PENDING_ICON
        state_text = status.state if status else "checking…"
        st.caption(f"{icon} Tracking: **{target.label}** ({state_text})")
        ws = state.workspace()
        st.caption(f":material/database: Workspace: **{ws.label}**" if ws else
                   ":material/database: Workspace: none chosen yet")
        for job_id in dict.fromkeys((state.active_job_id(), state.vision_job_id())):  # Train's, Vision's
            job = jobs.get(job_id)
            snap = job.snapshot() if job is not None else None
            if snap is not None and snap.running:
                where = "waiting in the queue" if snap.status == "queued" else "in the background"
                st.caption(f":material/model_training: Training '{snap.request.name}' {where}")
    return slot


def background() -> None:
    """After the page is drawn: refresh a stale tracking status and warm up the imports."""
    imports.warm_up()
    if tracking.cached_status() is None:
        tracking.refresh_status()
