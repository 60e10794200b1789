"""The Train page's job panel: live progress while a job runs, its results once it is done.

The live part is a fragment that re-runs itself every second (only that part of the page is
redrawn) and reads a :class:`~automlops.ui.jobs.JobSnapshot`; when the job ends it asks for
one full rerun so the results replace the progress bar. A job waiting for a free worker slot
shows its place in the queue instead. Jobs live in the studio's job table, not in the browser
tab, so :func:`job_picker` lets any tab (or a dashboard restarted since) open a running,
queued or recent job; and the job a tab follows is in its URL (``ui.state``), so reloading the
tab lands back on it, with its progress and its Cancel button.
"""

from __future__ import annotations

import time

import streamlit as st

from automlops.ui import components, jobs, state

__all__ = ["job_picker", "render"]

STATUS_TEXT = {"failed": "Training failed", "cancelled": "Training cancelled"}
CANCEL_HELP = ("Stops the search after the running trial, and saves nothing: a cancelled training never becomes a "
               "model version. Its MLflow run is marked cancelled. A training still busy {grace:g} s later is ended.")


def _history_frame(snap: jobs.JobSnapshot):  # type: ignore[no-untyped-def]
    import pandas as pd

    return pd.DataFrame([{"number": p.number, "model": p.model, "state": p.state, "value": p.value}
                         for p in snap.history], columns=["number", "model", "state", "value"])


@st.fragment(run_every=1.0)
def _live(job_id: str) -> None:
    with components.guard("showing the training progress"):
        _live_panel(job_id)


def _live_panel(job_id: str) -> None:
    job = jobs.get(job_id)
    if job is None:
        return
    snap = job.snapshot()
    if not snap.running:
        st.rerun()  # the whole page: results replace the progress panel
    r = snap.request
    st.subheader(f"Training '{r.name}' on {r.dataset} v{r.version:04d} → {r.headline}")
    if snap.status == "queued":
        _queued(job, snap)
        return
    components.show_job_progress(snap)
    if snap.history:
        from automlops.tasks import metric_direction

        metric = r.metric or "score"
        direction = metric_direction(r.task, r.metric)
        components.show_chart(components.history_chart(_history_frame(snap), metric, direction), key="live-history")
    else:
        st.info("The first trials are running; the optimisation chart appears as soon as one finishes.")
    if st.button("Cancel", key="train_cancel", disabled=snap.cancel_requested,
                 help=CANCEL_HELP.format(grace=jobs.CANCEL_GRACE_S)):
        job.cancel()
        st.toast("Stopping after the running trial…")
    st.caption("You can leave this page: the training keeps running in its own process and this panel comes back.")


def _queued(job: jobs.TrainingJob, snap: jobs.JobSnapshot) -> None:
    limit = state.settings().max_training_jobs
    st.info(f"Waiting in the queue, position {snap.queue_position or '?'}: at most {limit} training(s) run at once "
            "(MAX_TRAINING_JOBS), and this one starts as soon as a running one finishes.",
            icon=":material/hourglass_top:")
    if st.button("Cancel", key="train_cancel", help="Removes the job from the queue; nothing has run yet."):
        job.cancel()
        st.rerun()


def _ended_text(snap: jobs.JobSnapshot) -> str:
    """"Training cancelled: nothing was saved", "Training failed: <why>"."""
    error = snap.error or "no result"
    if snap.status == "cancelled" and error.startswith("cancelled"):
        return f"Training {error}"
    return f"{STATUS_TEXT.get(snap.status, 'Training stopped')}: {error}"


def _results(snap: jobs.JobSnapshot) -> None:
    if snap.result is None:
        (st.warning if snap.status == "cancelled" else st.error)(_ended_text(snap))
        return
    res = snap.result
    st.success(f"Saved model **{res.model_name} v{res.model_version:04d}** — best: {res.best_model}; "
               f"test {res.metric} = {res.test_score:.4f}")
    if snap.status == "stopped":  # jobs recorded before cancelling stopped saving
        st.info("You stopped the search early; the best model found so far was refitted, tested and saved.")
    for note in res.notes:
        st.warning(note)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(f"Validation {res.metric}", f"{res.val_score:.4f}", help=f"± {res.val_std:.4f} across folds")
    c2.metric(f"Test {res.metric}", f"{res.test_score:.4f}", help="scored once, on rows no model ever saw")
    c3.metric("Trials", len(res.trials))
    c4.metric("Time", f"{snap.elapsed:.1f} s")
    tabs = st.tabs(["Leaderboard", "Test metrics", "Optimisation",
                    "Diagnostics" if res.kind == "tabular" else "Results", "Decisions"])
    with tabs[0]:
        components.leaderboard_table(res.leaderboard, res.decisions)
    with tabs[1]:
        components.metric_cards(res.test_metrics)
    with tabs[2]:
        components.show_chart(components.history_chart(res.trials, res.metric, res.direction), key="res-history")
    with tabs[3]:
        if res.diagnostics:
            components.show_diagnostics(res.diagnostics, key="res-diag")
        elif res.report:
            from automlops.ui.task_report import render_report

            render_report(res.kind, res.report, key="res-report")
        else:
            st.info("No diagnostics for this run.")
    with tabs[4]:
        components.decision_list(res.decisions)
    where = f"MLflow run `{res.run_id}` in {res.tracking_uri}" if res.run_id else "not tracked"
    st.caption(f"{where}.")
    c1, c2 = st.columns(2)
    c1.page_link("automlops/ui/pages/experiments.py", label="Compare it in Experiments", icon=":material/science:")
    c2.page_link("automlops/ui/pages/models.py", label="Predict with it in Models", icon=":material/inventory_2:")


def render(job_id: str) -> bool:
    """Show the tab's job; returns True while it is still running.

    An ended job's results sit in an expander, so the form below (to train again) is not buried
    under them; "Hide these results" lets the tab follow no job (the job picker reopens it).
    """
    job = jobs.get(job_id)
    if job is None:  # e.g. the job table was removed, or a stale link
        state.set_active_job_id(None)
        return False
    snap = job.snapshot()
    if snap.running:
        _live(job_id)
        return True
    r = snap.request
    with st.expander(f"Last training: '{r.name}' on {r.dataset} v{r.version:04d} · {snap.status}", expanded=True):
        _results(snap)
        if st.button("Hide these results", key="train_hide_results", icon=":material/visibility_off:"):
            state.set_active_job_id(None)
            st.rerun()
    return False


def _label(snap: jobs.JobSnapshot) -> str:
    r = snap.request
    where = f" #{snap.queue_position}" if snap.queue_position else ""
    started = time.strftime("%d %b %H:%M", time.localtime(snap.created))
    return f"{r.name} · {r.dataset} v{r.version:04d} · {snap.status}{where} · {started}"


def job_picker(current: str | None) -> None:
    """The studio's other jobs (running, queued, recent; also from before a restart): open one to follow it."""
    snaps = [j.snapshot() for j in jobs.recent_jobs(limit=10)
             if j.id != current and not j.request.is_vision]  # vision jobs: on the Vision page
    if not snaps:
        return
    active = sum(s.running for s in snaps)
    labels = {s.id: _label(s) for s in snaps}
    with st.expander(f"Training jobs: {active} running or queued, {len(snaps) - active} recent", expanded=active > 0):
        pick = st.selectbox("Job", list(labels), format_func=labels.__getitem__, key="train_job_pick")
        if st.button("Open", key="train_job_open", help="Follow its progress, or read its results."):
            state.set_active_job_id(pick)
            st.rerun()
