"""The Monitoring page's pieces: traffic, the latest drift verdict, drift over time, live quality.

Everything here reads what :mod:`automlops.mlops.monitoring` wrote (the drift history, the HTML
reports) and what the API logged (:mod:`automlops.mlops.monitor`, :mod:`automlops.mlops.feedback`);
the page itself (``ui/pages/monitoring.py``) only arranges them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from automlops.config import Settings

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = ["WINDOWS", "column_table", "drift_chart", "live_chart", "model_names", "show_report", "show_verdict",
           "traffic", "traffic_chart"]

WINDOWS = ["1000", "5000", "1h", "24h", "7d"]


def model_names(settings: Settings) -> list[str]:
    """Saved model names, those with logged traffic first."""
    from automlops.mlops.store import ModelStore

    names = ModelStore(settings=settings).names()
    busy = set(traffic(settings, None)["model"]) if names else set()
    return sorted(names, key=lambda n: (n not in busy, n))


def traffic(settings: Settings, name: str | None) -> pd.DataFrame:
    """Hourly requests, rows and median latency of ``name`` (all models with a ``model`` column if None)."""
    import pandas as pd

    from automlops.mlops.live_metrics import traffic_by_hour
    from automlops.mlops.monitor import default_log_path

    path = default_log_path(settings)
    if name is not None:
        return traffic_by_hour(path, name)
    import contextlib
    import sqlite3

    if not path.exists():
        return pd.DataFrame(columns=["model"])
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT DISTINCT model_name FROM prediction_requests").fetchall()
    return pd.DataFrame(rows, columns=["model"])


def show_verdict(check: dict[str, Any]) -> None:
    """The latest check in one coloured line, with its numbers."""
    share, threshold = check["share_drifted"], check.get("drift_share", 0.5)
    n_drifted = len(check.get("drifted_columns", []))
    when = str(check["at"]).replace("T", " ")[:16] + " UTC"
    text = (f"**{check['model']}** at {when} (window {check['window']}): {n_drifted} of "
            f"{len(check.get('columns', []))} columns drifted ({share:.0%}; the dataset counts as drifted from "
            f"{threshold:.0%}). Compared {check['n_current']:,} live rows with {check['n_reference']:,} rows of "
            f"{check.get('reference', 'the training data')}.")
    (st.error if check["drifted"] else st.success)(("Drift detected — " if check["drifted"] else "No dataset drift — ")
                                                   + text)
    for kind, against in (("prediction", "the model's answers vs its answers on its training rows"),
                          ("target", "the true labels (feedback) vs the training target")):
        test = check.get(f"{kind}_drift")
        if test:
            st.caption(f"{kind.capitalize()} drift — {against}: {test['method']} "
                       f"{test['statistic']:.4g} → {'drifted' if test['drifted'] else 'no drift'}.")


def column_table(check: dict[str, Any]) -> pd.DataFrame:
    """One row per tested column: test, statistic, threshold, verdict."""
    import pandas as pd

    rows = [{"column": c["column"], "drifted": c["drifted"], "test": c["method"], "statistic": c["statistic"],
             "drift when": f"{'≤' if 'p_value' in c['method'] else '≥'} {c['threshold']:g}"}
            for c in check.get("columns", [])]
    rows += [{"column": name, "drifted": None, "test": "skipped (no values)", "statistic": None, "drift when": ""}
             for name in check.get("skipped", [])]
    return pd.DataFrame(rows)


def drift_chart(history: pd.DataFrame) -> go.Figure:
    """Drift over time per column: a heat map of verdicts (statistic on hover) and the drifted share."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    columns = history.attrs.get("columns", [])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.3, 0.7], vertical_spacing=0.06)
    fig.add_scatter(x=history["time"], y=history["share_drifted"], mode="lines+markers", name="share drifted",
                    row=1, col=1)
    z = [[float(v) if v == v and v is not None else None for v in history.get(f"drifted.{c}", [])] for c in columns]
    stats = [[f"{v:.4g}" if v == v and v is not None else "—" for v in history.get(f"stat.{c}", [])]
             for c in columns]
    fig.add_trace(go.Heatmap(x=history["time"], y=columns, z=z, text=stats, zmin=0, zmax=1, showscale=False,
                             colorscale=[[0, "#d7eed8"], [1, "#e45756"]],
                             hovertemplate="%{y} at %{x}<br>statistic %{text}<extra></extra>"), row=2, col=1)
    fig.update_yaxes(title_text="share", range=[0, 1], row=1, col=1)
    fig.update_layout(title="Drift over time (red: the column drifted in that check)", showlegend=False)
    return fig


def traffic_chart(hourly: pd.DataFrame) -> go.Figure:
    """Rows predicted per hour, with the median latency when the log has it."""
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=hourly["hour"], y=hourly["rows"], name="rows predicted")
    if hourly["latency_p50_ms"].notna().any():
        fig.add_scatter(x=hourly["hour"], y=hourly["latency_p50_ms"], mode="lines+markers",
                        name="median latency (ms)", secondary_y=True)
    fig.update_layout(title="Prediction volume per hour (and median latency)")
    return fig


def live_chart(history: pd.DataFrame) -> go.Figure | None:
    """Live accuracy / error per check, when feedback labels exist."""
    import plotly.express as px

    live = [c for c in history.columns if c.startswith("live_")]
    if not live or history[live].dropna(how="all").empty:
        return None
    long = history.melt(id_vars=["time"], value_vars=live, var_name="metric", value_name="value").dropna()
    long["metric"] = long["metric"].str.removeprefix("live_")
    return px.line(long, x="time", y="value", color="metric", markers=True,
                   title="Live quality on labelled rows (POST /feedback)")


def show_report(path: str | None, key: str) -> None:
    """The Evidently report: a download, and the page itself on demand (it is a few MB)."""
    if not path or not Path(path).is_file():
        st.caption("The HTML report of this check is no longer on disk (the newest 20 are kept; MLflow keeps all).")
        return
    data = Path(path).read_bytes()
    st.download_button(":material/download: Download the Evidently report (HTML)", data, file_name=Path(path).name,
                       mime="text/html", key=f"{key}_download")
    if st.toggle("Show the Evidently report here", key=f"{key}_show"):
        import streamlit.components.v1 as html_components

        html_components.html(data.decode("utf-8", errors="replace"), height=900, scrolling=True)


def retrain_after(result: Any, *, auto_promote: bool, settings: Settings) -> None:
    """The retrain-on-drift step after a check, its outcome in words (see :mod:`automlops.lifecycle`)."""
    from automlops.lifecycle import retrain_on_drift
    from automlops.ui import tracking

    with st.spinner("Drift and labels allowing: training a challenger and comparing it with the champion…"):
        outcome = retrain_on_drift(result, auto_promote=auto_promote, settings=settings,
                                   tracker=tracking.current_tracker())
    if outcome.action == "promoted":
        st.success(f"{outcome.challenger} promoted to {outcome.stage}: {outcome.reason}.", icon=":material/upgrade:")
    elif outcome.action == "kept_champion":
        st.warning(f"{outcome.challenger} was trained and saved, but the champion stays: {outcome.reason}.")
    else:
        st.info(f"No retraining: {outcome.reason}.", icon=":material/info:")
