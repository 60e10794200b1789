"""Figures of an anomaly model, built from ``artifact.meta`` alone (the dashboard has nothing else).

* **scores** – the histogram of the training rows' scores with the threshold as a vertical line:
  a good detector puts most rows in a hump on the left and a thin tail on the right; the flagged
  rows are the part of the tail beyond the line.
* **top_anomalies** – a table of the highest-scoring rows with their original values, so a person
  can look at *why* a row stands out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automlops.anomaly.report import top_anomalies_frame

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["figure_files", "figures"]


def _scores_figure(meta: dict[str, Any]) -> go.Figure:
    import plotly.graph_objects as go

    hist = meta["score_histogram"]
    edges, counts = hist["edges"], hist["counts"]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    widths = [b - a for a, b in zip(edges[:-1], edges[1:], strict=True)]
    threshold = float(meta["threshold"])
    colors = ["#d62728" if c > threshold else "#1f77b4" for c in centers]
    fig = go.Figure(go.Bar(x=centers, y=counts, width=widths, marker_color=colors, name="rows"))
    fig.add_vline(x=threshold, line_dash="dash", line_color="black",
                  annotation_text=f"threshold {threshold:.3f} ({meta.get('n_flagged', 0)} flagged)")
    fig.update_layout(title="Anomaly scores of the training rows", xaxis_title="score (higher = more anomalous)",
                      yaxis_title="rows", bargap=0.02, showlegend=False)
    return fig


def _top_figure(meta: dict[str, Any]) -> go.Figure:
    import plotly.graph_objects as go

    frame = top_anomalies_frame(list(meta.get("top_anomalies", [])))
    if frame.empty:
        return go.Figure().update_layout(title="No rows scored")
    frame["score"] = frame["score"].round(4)
    cells = [frame[c].map(lambda v: "" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)))
             for c in frame.columns]
    fig = go.Figure(go.Table(header={"values": list(frame.columns)}, cells={"values": cells}))
    fig.update_layout(title=f"The {len(frame)} highest-scoring rows")
    return fig


def figures(meta: dict[str, Any]) -> dict[str, go.Figure]:
    """``{"scores": histogram with the threshold, "top_anomalies": table of the strangest rows}``."""
    return {"scores": _scores_figure(meta), "top_anomalies": _top_figure(meta)}


def figure_files(meta: dict[str, Any]) -> dict[str, str]:
    """The files ``finalize`` logs with the run: ``scores.html`` and ``top_anomalies.csv``."""
    html = _scores_figure(meta).to_html(include_plotlyjs="cdn", full_html=True)
    csv = top_anomalies_frame(list(meta.get("top_anomalies", []))).to_csv(index=False)
    return {"scores.html": html, "top_anomalies.csv": csv}
