"""Reusable pieces of the dashboard: page headers, error boxes, tables and interactive charts.

Charts are Plotly figures (zoom, hover, legend toggles) built from the plain data the engines
return. Errors follow one rule: an :class:`~automlops.errors.AutoMLOpsError` carries a message
written for the user, so it is shown as it is; anything else is a bug, so the user gets a short
generic message and the traceback goes to the log, never to the screen.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from automlops.errors import AutoMLOpsError

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from automlops.ui.jobs import JobSnapshot

__all__ = ["balance_chart", "compare_chart", "confusion_chart", "decision_list", "feature_importance_chart", "guard",
           "history_chart", "leaderboard_table", "metric_cards", "page_header", "param_importance_chart",
           "regression_charts", "report_error", "roc_chart", "show_chart", "show_job_progress",
           "significance_caption"]

log = logging.getLogger("automlops.ui")
CHART_HEIGHT = 360


def page_header(title: str, purpose: str) -> None:
    """A clear title and the page's purpose in one line."""
    st.title(title)
    st.caption(purpose)


def report_error(exc: BaseException, action: str) -> None:
    """Show ``exc`` without a traceback: its own message if it is ours, a generic one otherwise."""
    if isinstance(exc, AutoMLOpsError):
        st.error(str(exc), icon=":material/warning:")
        return
    log.error("unexpected error while %s", action, exc_info=exc)
    st.error(f"Something went wrong while {action}. The details were written to the dashboard's log.", icon=":material/error:")


@contextlib.contextmanager
def guard(action: str) -> Iterator[None]:
    """``with guard("loading runs"):`` — any error inside becomes an ``st.error`` box."""
    try:
        yield
    except Exception as exc:  # st.rerun/st.stop are BaseExceptions and pass through
        report_error(exc, action)


def show_chart(fig: go.Figure, key: str | None = None) -> None:
    fig.update_layout(height=CHART_HEIGHT, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


# ------------------------------------------------------------------------- tables

def leaderboard_table(leaderboard: pd.DataFrame, decisions: Sequence[object] | str | None = None) -> None:
    """The leaderboard with readable numbers and parameters as short JSON; ``decisions`` (the run's
    decisions, as objects, lines or one text) supply the caption naming the significance test."""
    frame = leaderboard.copy()
    if "params" in frame:
        frame["params"] = frame["params"].map(lambda p: json.dumps(p, default=str) if isinstance(p, dict) else p)
    st.dataframe(frame, hide_index=True, column_config={
        "score": st.column_config.NumberColumn(format="%.4f"), "std": st.column_config.NumberColumn(format="%.4f"),
        "ci_low": st.column_config.NumberColumn("CI low", format="%.4f", help="95 % interval of the score"),
        "ci_high": st.column_config.NumberColumn("CI high", format="%.4f", help="95 % interval of the score"),
        "p_next": st.column_config.NumberColumn("p (vs next)", format="%.3f",
                                                help="two-sided p-value of this row's lead over the next row"),
        "fit_seconds": st.column_config.NumberColumn("fit s", format="%.2f"),
        "predict_seconds": st.column_config.NumberColumn("predict s", format="%.3f")})
    caption = significance_caption(decisions)
    if caption:
        st.caption(plain_markdown(caption))


def significance_caption(decisions: Sequence[object] | str | None) -> str | None:
    """The run's "[significance] ..." decision (the test behind ``p_next``/``lead``), without its topic."""
    lines = decisions.splitlines() if isinstance(decisions, str) else [str(d) for d in decisions or ()]
    for line in lines:
        if line.startswith("[significance] "):
            return line.removeprefix("[significance] ").strip()
    return None


def metric_cards(metrics: dict[str, float], columns: int = 4) -> None:
    items = list(metrics.items())
    for start in range(0, len(items), columns):
        cols = st.columns(columns)
        for col, (name, value) in zip(cols, items[start:start + columns], strict=False):
            col.metric(name, f"{value:.4f}" if isinstance(value, int | float) else str(value))


_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*$<>"})


def plain_markdown(text: str) -> str:
    """``text`` with the Markdown that could change its meaning escaped: ``$`` (LaTeX in Streamlit),
    ``*`` (emphasis), backquotes and angle brackets. Weight lists like ``[1.0, 2.0]`` and names like
    ``random_forest`` are left alone: CommonMark shows them as written."""
    return text.translate(_MARKDOWN_SPECIAL)


def decision_list(decisions: Sequence[object]) -> None:
    """The plain-language decisions of a fit, one bullet each, exactly as the engine wrote them."""
    lines = [str(d) for d in decisions if str(d).strip()]
    st.markdown("\n".join(f"- {plain_markdown(line)}" for line in lines) if lines else "No decisions log.")


def show_job_progress(snap: JobSnapshot) -> None:
    st.progress(snap.fraction, text=snap.progress_text)
    st.caption(f"Now: {snap.stage}")


# ------------------------------------------------------------------------- charts

def balance_chart(balance: pd.DataFrame, target: str) -> go.Figure:
    import plotly.express as px

    frame = balance.assign(value=balance["value"].astype(str))
    return px.bar(frame, x="value", y="count", hover_data={"share": ":.1%"},
                  title=f"Balance of '{target}' (rows per value)", labels={"value": target})


def history_chart(trials: pd.DataFrame, metric: str, direction: str) -> go.Figure:
    """Every trial's validation score and the best so far (the optimisation history)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    done = trials[trials["value"].notna()].sort_values("number")
    for model, group in done.groupby("model", dropna=False):
        fig.add_scatter(x=group["number"], y=group["value"], mode="markers", name=str(model),
                        hovertemplate="trial %{x}<br>" + metric + " %{y:.4f}<extra>" + str(model) + "</extra>")
    if not done.empty:
        best = done["value"].cummax() if direction == "maximize" else done["value"].cummin()
        fig.add_scatter(x=done["number"], y=best, mode="lines", name="best so far", line={"shape": "hv"})
    fig.update_layout(title=f"Optimisation history ({metric}, {'higher' if direction == 'maximize' else 'lower'}"
                            " is better)", xaxis_title="trial", yaxis_title=metric)
    return fig


def param_importance_chart(importances: pd.DataFrame) -> go.Figure:
    import plotly.express as px

    frame = importances.sort_values("importance")
    model = f" of {frame['model'].iloc[0]}" if "model" in frame and len(frame) else ""
    return px.bar(frame, x="importance", y="param", orientation="h",
                  title=f"Hyperparameter importance{model} (fANOVA: share of the score's variance)")


def confusion_chart(confusion: dict[str, Any]) -> go.Figure:
    import plotly.express as px

    labels = confusion["labels"]
    fig = px.imshow(confusion["matrix"], x=labels, y=labels, text_auto=True, color_continuous_scale="Blues",
                    labels={"x": "predicted", "y": "true", "color": "rows"})
    fig.update_layout(title="Confusion matrix (test rows)")
    return fig


def roc_chart(curves: Sequence[dict[str, Any]]) -> go.Figure:
    import plotly.graph_objects as go

    fig = go.Figure()
    for curve in curves:
        fig.add_scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", name=f"{curve['label']} (AUC {curve['auc']:.3f})")
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "grey"})
    fig.update_layout(title="ROC curve (test rows)", xaxis_title="false-positive rate",
                      yaxis_title="true-positive rate")
    return fig


def regression_charts(points: dict[str, Any]) -> tuple[go.Figure, go.Figure]:
    """Predicted vs actual (with the perfect-prediction diagonal) and residuals vs predicted."""
    import plotly.graph_objects as go

    actual, predicted, residual = points["actual"], points["predicted"], points["residual"]
    low, high = min(actual + predicted), max(actual + predicted)
    pva = go.Figure([go.Scatter(x=actual, y=predicted, mode="markers", name="rows", opacity=0.6),
                     go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect",
                                line={"dash": "dash", "color": "grey"})])
    pva.update_layout(title="Predicted vs actual (test rows)", xaxis_title="actual", yaxis_title="predicted")
    res = go.Figure([go.Scatter(x=predicted, y=residual, mode="markers", name="rows", opacity=0.6)])
    res.add_hline(y=0, line_dash="dash", line_color="grey")
    res.update_layout(title="Residuals (actual − predicted)", xaxis_title="predicted", yaxis_title="residual")
    return pva, res


def feature_importance_chart(importance: dict[str, Any]) -> go.Figure | None:
    if not importance.get("columns"):
        return None
    import plotly.graph_objects as go

    top = list(zip(importance["columns"], importance["importance"], importance["std"], strict=True))[:20][::-1]
    fig = go.Figure(go.Bar(x=[t[1] for t in top], y=[t[0] for t in top], orientation="h",
                           error_x={"type": "data", "array": [t[2] for t in top]}))
    fig.update_layout(title=f"Permutation importance (drop of {importance['scoring']} when a column is shuffled)")
    return fig


def compare_chart(runs: Sequence[str], values: Sequence[float], metric: str) -> go.Figure:
    """One metric across runs: one bar per run, on the metric's own axis."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=list(runs), y=list(values), text=[f"{v:.4f}" for v in values],
                           textposition="auto", marker_color="#4C78A8"))
    fig.update_layout(title=metric, yaxis_title=metric, xaxis={"showticklabels": len(runs) <= 4})
    return fig


def show_diagnostics(diagnostics: dict[str, Any], key: str) -> None:
    """Confusion matrix + ROC, or predicted-vs-actual + residuals, then feature importance."""
    left, right = st.columns(2)
    if "confusion" in diagnostics:
        with left:
            show_chart(confusion_chart(diagnostics["confusion"]), key=f"{key}-cm")
        with right:
            if diagnostics.get("roc"):
                show_chart(roc_chart(diagnostics["roc"]), key=f"{key}-roc")
            else:
                st.info("No ROC curve: the final model gives labels, not probabilities (e.g. hard voting).")
    elif "regression" in diagnostics:
        pva, res = regression_charts(diagnostics["regression"])
        with left:
            show_chart(pva, key=f"{key}-pva")
        with right:
            show_chart(res, key=f"{key}-res")
    fig = feature_importance_chart(diagnostics.get("feature_importance") or {})
    if fig is not None:
        show_chart(fig, key=f"{key}-fi")
    elif (diagnostics.get("feature_importance") or {}).get("note"):
        st.caption(f"Feature importance {diagnostics['feature_importance']['note']}.")
