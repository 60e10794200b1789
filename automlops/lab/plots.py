"""Plotly figures of a lab: convergence with bands (against time and trials) and the test scores.

* **Convergence** – for each strategy, the median best validation score so far across seeds (a
  line) inside its min–max band (a shaded area): a strategy whose line climbs first finds good
  configurations sooner; a wide band means its result depends on luck (the seed).
* **Test scores** – each run's test score as a dot, the mean with its 95 % t-interval as an error
  bar: overlapping bars are the picture of "within noise".
"""

from __future__ import annotations

from typing import Any

from automlops.lab.types import Band, LabResult

__all__ = ["convergence_figure", "figures", "test_score_figure"]

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _band_traces(band: Band, color: str) -> list[Any]:
    import plotly.graph_objects as go

    keep = [i for i, m in enumerate(band.median) if m is not None]
    x = [band.x[i] for i in keep]
    low, high = [band.low[i] for i in keep], [band.high[i] for i in keep]
    shape = "hv"  # best-so-far is a step function
    return [go.Scatter(x=x, y=high, mode="lines", line={"width": 0, "shape": shape}, hoverinfo="skip",
                       showlegend=False, legendgroup=band.strategy),
            go.Scatter(x=x, y=low, mode="lines", line={"width": 0, "shape": shape}, fill="tonexty",
                       fillcolor=_rgba(color, 0.18), hoverinfo="skip", showlegend=False, legendgroup=band.strategy),
            go.Scatter(x=x, y=[band.median[i] for i in keep], mode="lines", name=band.strategy,
                       line={"color": color, "shape": shape}, legendgroup=band.strategy)]


def convergence_figure(result: LabResult, axis: str = "seconds") -> Any:
    """Best validation score so far vs ``axis`` ("seconds" or "trials"): median line, min–max band."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, name in enumerate(result.strategies):
        band = next((b for b in result.curves if b.strategy == name and b.axis == axis), None)
        if band is not None:
            fig.add_traces(_band_traces(band, COLORS[i % len(COLORS)]))
    if result.target_level is not None:
        fig.add_hline(y=result.target_level, line_dash="dot", line_color="grey",
                      annotation_text="target level", annotation_position="bottom right")
    better = "higher" if result.direction == "maximize" else "lower"
    fig.update_layout(title=f"Best validation {result.metric} so far ({better} is better): median and min–max "
                            f"over {result.repeats} seeds",
                      xaxis_title="seconds since the run started" if axis == "seconds" else "trials ended",
                      yaxis_title=result.metric, height=420, margin={"l": 40, "r": 20, "t": 60, "b": 40})
    return fig


def test_score_figure(result: LabResult) -> Any:
    """Each run's test score (dots) and each strategy's mean with its 95 % t-interval (error bars)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, s in enumerate(result.summaries):
        color = COLORS[i % len(COLORS)]
        scores = [r.test_score for r in result.runs if r.strategy == s.strategy and r.ok]
        fig.add_trace(go.Scatter(x=[s.strategy] * len(scores), y=scores, mode="markers", name=s.strategy,
                                 marker={"color": color, "opacity": 0.5, "size": 8}, showlegend=False))
        if s.test.n >= 2:
            fig.add_trace(go.Scatter(x=[s.strategy], y=[s.test.mean], mode="markers", showlegend=False,
                                     marker={"color": color, "symbol": "diamond", "size": 12},
                                     error_y={"type": "data", "symmetric": False,
                                              "array": [s.test.ci_high - s.test.mean],
                                              "arrayminus": [s.test.mean - s.test.ci_low]}))
    fig.update_layout(title=f"Final test {result.metric}: runs and mean with 95 % CI", yaxis_title=result.metric,
                      height=380, margin={"l": 40, "r": 20, "t": 60, "b": 40})
    return fig


def figures(result: LabResult) -> dict[str, Any]:
    """Every figure of the lab, by name."""
    return {"convergence_seconds": convergence_figure(result, "seconds"),
            "convergence_trials": convergence_figure(result, "trials"),
            "test_scores": test_score_figure(result)}
