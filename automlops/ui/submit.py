"""Start a dashboard training job, after checking that its runs can be logged.

A run that cannot reach a remote tracking server would be lost, so the Train and Vision pages
both check the server first (briefly, with a spinner) and only then hand the request to the job
system, with a tracker for the current target.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from automlops.config import Settings
from automlops.ui import jobs, tracking

__all__ = ["submit_checked"]


def submit_checked(request: jobs.TrainRequest, settings: Settings) -> Any:
    """The submitted job, or ``None`` after an error box when the remote tracking server is not usable."""
    target = tracking.current_target()
    if target.is_remote:
        with st.spinner(f"Checking {target.label}…"):
            status = tracking.check(target)
        if not status.ok:
            st.error(f"Tracking server {status.state}: {status.message}. Fix it on the Settings page or switch "
                     "back to local tracking.")
            return None
    return jobs.submit(request, settings=settings, tracker=tracking.new_tracker(target),
                       tracking_uri=target.display_uri())
