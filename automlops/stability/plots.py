"""The stability report's figures (plotly): distributions, sensitivity curves, importances.

* **distribution** – one box per section (splits, seeds) with every refit's score as a dot: the
  box shows where the middle half of the scores lies, the dots show there is no hidden outlier.
* **sensitivity** – one panel per hyperparameter: the mean score at each swept value with a band
  of ± one standard deviation over the repeated splits, the chosen value marked. A curve whose
  swing stays inside the band is noise, not sensitivity.
* **importances** – fANOVA's share of the score's variation per hyperparameter.

Plotly is imported inside the functions (a tabular-only install and the CLI without figures stay
light).
"""

from __future__ import annotations

import math
from typing import Any

from automlops.stability.types import SensitivityCurve, StabilityReport

__all__ = ["figures"]


def _distribution(report: StabilityReport) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for kind, name in (("split", "splits"), ("seed", "seeds")):
        scores = [f.score for f in report.fits if f.kind == kind and f.ok]
        if scores:
            fig.add_trace(go.Box(y=scores, name=f"{name} (n={len(scores)})", boxpoints="all", jitter=0.4,
                                 pointpos=0, boxmean="sd"))
    fig.update_layout(title=f"{report.metric} across refits", yaxis_title=report.metric, showlegend=False,
                      margin={"t": 50, "b": 40, "l": 60, "r": 20}, height=380)
    return fig


def _xs(curve: SensitivityCurve) -> list[Any]:
    return [str(v) if curve.categorical else v for v, _ in curve.points]


def _sensitivity(report: StabilityReport) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    curves = report.sensitivity
    cols = min(3, len(curves))
    rows = math.ceil(len(curves) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[c.param for c in curves])
    for i, curve in enumerate(curves):
        row, col = i // cols + 1, i % cols + 1
        xs = _xs(curve)
        means = [s.mean for _, s in curve.points]
        stds = [s.std if s.n >= 2 and math.isfinite(s.std) else 0.0 for _, s in curve.points]
        fig.add_trace(go.Scatter(x=xs, y=means, mode="lines+markers", name=curve.param, showlegend=False,
                                 error_y={"type": "data", "array": stds, "visible": True}), row=row, col=col)
        chosen = [m for x, m, (v, _) in zip(xs, means, curve.points, strict=True) if v == curve.chosen]
        if chosen:
            fig.add_trace(go.Scatter(x=[str(curve.chosen) if curve.categorical else curve.chosen], y=chosen[:1],
                                     mode="markers", marker={"symbol": "star", "size": 14, "color": "crimson"},
                                     name="chosen", showlegend=i == 0), row=row, col=col)
        axis = "category" if curve.categorical else "log" if curve.log else "linear"
        fig.update_xaxes(type=axis, row=row, col=col)
    fig.update_layout(title=f"Sensitivity: {report.metric} around the chosen configuration (★), ±1 std",
                      height=300 * rows + 80, margin={"t": 80, "b": 40, "l": 60, "r": 20})
    return fig


def _importances(report: StabilityReport) -> Any:
    import plotly.graph_objects as go

    items = sorted(report.importances.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    fig.update_layout(title="fANOVA importance (share of the score's variation in the search)",
                      xaxis_title="importance", xaxis_tickformat=".0%", height=120 + 30 * len(items),
                      margin={"t": 50, "b": 40, "l": 140, "r": 20})
    return fig


def figures(report: StabilityReport) -> dict[str, Any]:
    """The report's plotly figures by name (``distribution``, ``sensitivity``, ``importances``), where data exists."""
    out: dict[str, Any] = {}
    if any(f.ok and f.kind in ("split", "seed") for f in report.fits):
        out["distribution"] = _distribution(report)
    if report.sensitivity:
        out["sensitivity"] = _sensitivity(report)
    if report.importances:
        out["importances"] = _importances(report)
    return out
