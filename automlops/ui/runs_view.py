"""The Experiments page's building blocks: the run table, its filters, one run, and a comparison.

Runs are read through :mod:`automlops.mlops.reports` from whichever tracking target is active.
A finished run never changes, so its artifacts (leaderboard, diagnostics, decisions, trials)
are cached per run; the run list itself is read fresh on every visit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from automlops.ui import components, tracking

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["compare", "details", "filter_runs", "label", "load_runs", "run_table"]


def load_runs() -> pd.DataFrame:
    from automlops.mlops.reports import automl_runs

    return automl_runs(tracking.current_tracker())


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
    return f"{row['run_name']} · {started} · {row.get('tags.best_model') or row['status']}"


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
    direction = METRICS.get(metric).direction if metric in METRICS else "maximize"
    st.caption(f"Run `{info.run_id}` · {info.status} · {len(info.artifacts)} artifact files")
    components.metric_cards({k: v for k, v in sorted(info.metrics.items()) if k.startswith(("val_", "test_"))})
    tabs = st.tabs(["Leaderboard", "Optimisation", "Diagnostics", "Parameters", "Decisions"])
    with tabs[0]:
        if data["leaderboard"] is not None:
            components.leaderboard_table(data["leaderboard"])
        else:
            st.info("This run has no leaderboard artifact (it may have failed or been stopped).")
    with tabs[1]:
        trials = data["trials"]
        if trials.empty:
            st.info("No trial runs were recorded for this run.")
        else:
            components.show_chart(components.history_chart(trials, metric or "score", direction), key="exp-history")
            importances = param_importances(trials, direction)
            if importances.empty:
                st.caption("Hyperparameter importance needs at least 3 finished trials with varied settings.")
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
        st.markdown("\n".join(f"- {line}" for line in (data["decisions"] or "").splitlines()) or "No decisions log.")


def compare(runs: pd.DataFrame, run_ids: list[str]) -> None:
    """Params and metrics of several runs side by side, and their shared metrics as grouped bars."""
    import pandas as pd

    chosen = runs.set_index("run_id").loc[run_ids]
    names = [f"{label(runs, rid)} [{rid[:6]}]" for rid in run_ids]
    fields = [c for c in chosen.columns if c.startswith(("params.", "metrics.")) and chosen[c].notna().any()]
    side = chosen[fields].T
    side.columns = names
    side.index = side.index.str.replace("params.", "param · ").str.replace("metrics.", "metric · ")
    st.dataframe(side.astype(str).replace({"nan": "", "None": ""}))
    metric_cols = [c for c in fields if c.startswith("metrics.test_") and chosen[c].notna().all()]
    if metric_cols:
        frame = pd.DataFrame({"run": names, **{c[len("metrics."):]: chosen[c].to_numpy() for c in metric_cols}})
        components.show_chart(components.compare_chart(frame, [c[len("metrics."):] for c in metric_cols]),
                              key="exp-compare")
