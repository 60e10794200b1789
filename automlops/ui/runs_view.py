"""The Experiments page's building blocks: the run table, its filters, one run, and a comparison.

Runs are read through :mod:`automlops.mlops.reports` from whichever tracking target is active.
A finished run never changes, so its artifacts (leaderboard, diagnostics, decisions, trials)
are cached per run; the run list itself is read fresh on every visit.

MLflow knows RUNNING, FINISHED, FAILED and KILLED; a run the user cancelled carries the tag
``automlops.cancelled`` and is shown as **CANCELLED** (nothing was saved from it). Dashboard runs
are named after the model version they produced (``iris-v3``), so runs of one dataset differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from automlops.ui import components, tracking

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["compare", "comparison_table", "details", "filter_runs", "label", "load_runs", "run_table"]


CANCELLED_COLUMN = "tags.automlops.cancelled"
STATUS_NOTE = {
    "RUNNING": "This run is still running: its leaderboard, diagnostics and decisions are logged when it ends.",
    "CANCELLED": "This run was cancelled by the user: the search stopped early and nothing was saved.",
    "FAILED": "This run failed before it logged a leaderboard (its error is in the Parameters tab's tags).",
    "KILLED": "This run was ended before it logged a leaderboard.",
}


def load_runs() -> pd.DataFrame:
    """AutoML parent runs, newest first; ``status`` says CANCELLED for runs the user cancelled."""
    from automlops.mlops.reports import automl_runs

    runs = automl_runs(tracking.current_tracker())
    if CANCELLED_COLUMN in runs:
        runs = runs.assign(status=runs["status"].mask(runs[CANCELLED_COLUMN] == "true", "CANCELLED"))
    return runs


def _metric(row: pd.Series, prefix: str) -> float | None:
    value = row.get(f"metrics.{prefix}_{row.get('params.metric')}")
    return None if value is None or value != value else float(value)


def run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One readable row per run (validation and test score in the run's own metric)."""
    import pandas as pd

    return pd.DataFrame({
        "run": runs["run_name"], "started": runs["start_time"], "status": runs["status"],
        "task": runs.get("params.task"), "target": runs.get("params.target"),
        "best model": runs.get("tags.best_model"), "metric": runs.get("params.metric"),
        "validation": [_metric(r, "val") for _, r in runs.iterrows()],
        "test": [_metric(r, "test") for _, r in runs.iterrows()],
        "preset": runs.get("params.preset"), "search": runs.get("params.search"),
        "seconds": runs["duration"], "run_id": runs["run_id"]})


def label(runs: pd.DataFrame, run_id: str) -> str:
    row = runs.loc[runs["run_id"] == run_id].iloc[0]
    started = row["start_time"].strftime("%Y-%m-%d %H:%M:%S") if row["start_time"] == row["start_time"] else "?"
    best = row.get("tags.best_model")
    outcome = best if isinstance(best, str) and best and row["status"] == "FINISHED" else row["status"]
    return f"{row['run_name']} · {started} · {outcome}"


def filter_runs(runs: pd.DataFrame) -> pd.DataFrame:
    c1, c2, c3, c4 = st.columns(4)
    text = c1.text_input("Search (name or target)", key="exp_text").strip().lower()
    options = {col: sorted(runs[col].dropna().unique().tolist()) if col in runs else []
               for col in ("status", "params.task", "tags.best_model")}
    status = c2.multiselect("Status", options["status"], key="exp_status")
    task = c3.multiselect("Task", options["params.task"], key="exp_task")
    model = c4.multiselect("Best model", options["tags.best_model"], key="exp_model")
    mask = runs["run_id"].notna()
    if text:
        haystack = runs["run_name"].fillna("") + " " + runs.get("params.target", runs["run_name"]).fillna("")
        mask &= haystack.str.lower().str.contains(text, regex=False)
    for column, chosen in (("status", status), ("params.task", task), ("tags.best_model", model)):
        if chosen:
            mask &= runs[column].isin(chosen)
    return runs[mask]


@st.cache_data(show_spinner="Reading the run's artifacts…", max_entries=32)
def _artifacts(target_key: str, run_id: str, metric: str | None, status: str) -> dict[str, Any]:
    """Everything shown for one run (cached per run *and status*: a running run is re-read when it ends)."""
    from automlops.mlops.reports import (
        read_artifact_text,
        read_json_artifact,
        read_leaderboard,
        trial_history,
    )

    tracker = tracking.current_tracker()
    return {"details": tracker.get_run(run_id), "leaderboard": read_leaderboard(tracker, run_id),
            "diagnostics": read_json_artifact(tracker, run_id, "diagnostics.json"),
            "decisions": read_artifact_text(tracker, run_id, "decisions.txt"),
            "trials": trial_history(tracker, run_id, metric)}


def details(run: pd.Series) -> None:
    """Params, metrics, leaderboard, plots and decisions of one run."""
    from automlops.core.metrics import METRICS
    from automlops.tabular.diagnostics import param_importances

    metric = run.get("params.metric")
    data = _artifacts(tracking.current_target().key, run["run_id"], metric, str(run["status"]))
    info = data["details"]
    direction = run.get("params.direction")  # logged by the driver for every engine's metric
    if direction not in ("maximize", "minimize"):  # runs logged before it was
        direction = METRICS.get(metric).direction if metric in METRICS else "maximize"
    st.caption(f"Run `{info.run_id}` · {run['status']} · {len(info.artifacts)} artifact files")
    components.metric_cards({k: v for k, v in sorted(info.metrics.items()) if k.startswith(("val_", "test_"))})
    tabs = st.tabs(["Leaderboard", "Optimisation", "Diagnostics", "Parameters", "Decisions"])
    with tabs[0]:
        if data["leaderboard"] is not None:
            components.leaderboard_table(data["leaderboard"], data["decisions"])
        else:
            st.info(STATUS_NOTE.get(str(run["status"]), "This run has no leaderboard artifact."))
    with tabs[1]:
        trials = data["trials"]
        if trials.empty:
            st.info("No trial runs were recorded for this run.")
        else:
            components.show_chart(components.history_chart(trials, metric or "score", direction), key="exp-history")
            importances = param_importances(trials, direction)
            if importances.empty:
                st.caption("Hyperparameter importance needs at least 3 finished trials of the best model's "
                           "family with varied settings.")
            else:
                components.show_chart(components.param_importance_chart(importances), key="exp-importance")
    with tabs[2]:
        if data["diagnostics"]:
            components.show_diagnostics(data["diagnostics"], key="exp-diag")
        else:
            st.info("No diagnostics.json for this run: runs trained from the dashboard record the confusion matrix, "
                    "ROC curve or residuals and the feature importance.")
    with tabs[3]:
        st.dataframe([{"parameter": k, "value": v} for k, v in sorted(info.params.items())], hide_index=True)
    with tabs[4]:
        components.decision_list((data["decisions"] or "").splitlines())


def comparison_table(chosen: pd.DataFrame, names: list[str], *, differences_only: bool) -> pd.DataFrame:
    """Params and metrics side by side (one column per run); optionally only the rows that differ."""
    fields = [c for c in chosen.columns if c.startswith(("params.", "metrics.")) and chosen[c].notna().any()]
    side = chosen[fields].T.astype(str).replace({"nan": "", "None": ""})
    side.columns = names
    if differences_only:
        side = side[side.nunique(axis=1) > 1]
    side.index = side.index.str.replace("params.", "param · ").str.replace("metrics.", "metric · ")
    return side


def compare(runs: pd.DataFrame, run_ids: list[str]) -> None:
    """Params and metrics of several runs side by side, and one bar chart per shared test metric
    (each on its own axis: an r2 near 1 and an rmse of 40 on one axis would hide the r2)."""
    chosen = runs.set_index("run_id").loc[run_ids]
    names = [f"{label(runs, rid)} [{rid[:6]}]" for rid in run_ids]
    only = st.toggle("Only the differences", key="exp_diff_only", help="Hide the settings and metrics all these "
                     "runs share.")
    table = comparison_table(chosen, names, differences_only=only)
    if table.empty:
        st.info("These runs have the same parameters and metrics.")
    else:
        st.dataframe(table)
    metric_cols = [c for c in chosen.columns if c.startswith("metrics.test_") and chosen[c].notna().all()]
    for start in range(0, len(metric_cols), 2):
        for col, column in zip(st.columns(2), metric_cols[start:start + 2], strict=False):
            metric = column[len("metrics."):]
            with col:
                components.show_chart(components.compare_chart(names, chosen[column].tolist(), metric),
                                      key=f"exp-compare-{metric}")
