"""What an earlier dashboard left behind: jobs nobody watches and MLflow runs nobody will close.

A dashboard can end without warning: a crash, ``kill -9``, a container restart. Its job table
then still says ``queued`` or ``running`` for jobs nobody will ever finish, and MLflow still
shows their runs as RUNNING. When a new job registry starts, :func:`triage` sorts those rows
by who is still alive. Each row names the dashboard process that queued it and the worker that
runs it, each as a pid *and* a start time (pids are recycled, a container restart often gives
the new dashboard the old one's pid):

* the dashboard that queued it is alive → not ours to judge (another dashboard on this home);
* the dashboard is gone but the worker runs → adopt it: watch it until it ends (it records its
  own result);
* both gone → ``failed``, with a message saying so; :func:`fail_runs` marks its MLflow run,
  if one was opened and is still RUNNING, as FAILED.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from automlops.config import Settings
from automlops.ui.job_process import process_alive
from automlops.ui.job_store import JobRow, JobStore

if TYPE_CHECKING:
    from automlops.mlops.tracking import Tracker

__all__ = ["fail_runs", "terminate_run", "tracker_for", "triage"]

log = logging.getLogger(__name__)


def triage(store: JobStore) -> tuple[list[JobRow], list[JobRow]]:
    """(rows whose worker lives on and can be adopted, rows just marked failed that have an MLflow run)."""
    adopt: list[JobRow] = []
    lost: list[JobRow] = []
    for row in store.active():
        if process_alive(row.owner_pid, row.owner_started):
            continue
        if row.status == "running" and process_alive(row.pid, row.pid_started):
            adopt.append(row)
            continue
        why = ("the dashboard stopped before this job started" if row.status == "queued" else
               "the dashboard stopped while this job was running, and its worker process is gone")
        marked = store.update(row.id, only_active=True, status="failed", stage="failed", ended=time.time(),
                              error=f"{why}; start it again")
        if marked and row.run_id:
            lost.append(row)
    return adopt, lost


def tracker_for(settings: Settings, uri: str) -> Tracker | None:
    """A tracker for a recorded URI (with the configured credentials only if it is the configured server)."""
    from automlops.mlops.tracking import Tracker

    if not uri:
        return None
    if uri != settings.resolved_tracking_uri:
        settings = settings.model_copy(update={"tracking_uri": uri, "tracking_username": None,
                                               "tracking_password": None})
    return Tracker(uri, settings=settings)


def terminate_run(tracker: Tracker, run_id: str, status: str) -> None:
    """Mark an MLflow run that is still RUNNING as ``status`` (FAILED or KILLED); log, never raise."""
    from automlops.search.tracking_sink import CANCELLED_TAG
    from automlops.ui import imports

    try:
        with imports.serialized():  # the dashboard may still be warming MLflow up in another thread
            client = tracker.client
        if client.get_run(run_id).info.status == "RUNNING":
            if status == "KILLED":  # a kill only follows a cancel
                tracker.set_tags(run_id, {CANCELLED_TAG: "true"})
            tracker.end_run(run_id, status)
    except Exception as exc:  # the job's own status is what matters; the run stays as it was
        log.warning("could not mark MLflow run %s %s: %s", run_id, status, exc)


def fail_runs(settings: Settings, rows: list[JobRow]) -> None:
    """Mark the MLflow runs of jobs lost with their dashboard FAILED."""
    for row in rows:
        tracker = tracker_for(settings, row.tracking_uri)
        if tracker is not None and row.run_id:
            terminate_run(tracker, row.run_id, "FAILED")
