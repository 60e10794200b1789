"""Figures of a forecasting fit, built from ``artifact.meta`` alone (the dashboard has nothing else).

* ``forecast`` – each series' recent history (solid), the forecast (dashed) and its 80 % and 95 %
  intervals as shaded bands: the wider band is where the truth should fall 19 times out of 20;
* ``backtest`` – the backtest score of every model (and the ensemble, if one was built) as bars,
  with the other metrics and the interval coverage in the hover text.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

__all__ = ["figures"]

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _band(fig: go.Figure, fc: pd.DataFrame, level: int, color: str, name: str) -> None:
    x = list(fc["ds"]) + list(fc["ds"])[::-1]
    y = list(fc[f"yhat_hi_{level}"]) + list(fc[f"yhat_lo_{level}"])[::-1]
    fig.add_trace(go.Scatter(x=x, y=y, fill="toself", fillcolor=_rgba(color, 0.12 if level == 95 else 0.25),
                             line={"width": 0}, hoverinfo="skip", name=f"{name} {level} %", legendgroup=name,
                             showlegend=False))


def forecast_figure(meta: dict[str, Any]) -> go.Figure:
    """History + forecast + 80/95 % bands, one colour per series (at most ten)."""
    history = pd.DataFrame(meta.get("history") or [], columns=["unique_id", "ds", "y"])
    forecast = pd.DataFrame(meta.get("forecast") or [])
    fig = go.Figure()
    for i, uid in enumerate(list(dict.fromkeys(history["unique_id"]))[:10]):
        color = _COLORS[i % len(_COLORS)]
        past = history[history["unique_id"] == uid]
        fig.add_trace(go.Scatter(x=past["ds"], y=past["y"], mode="lines", name=str(uid), legendgroup=str(uid),
                                 line={"color": color}))
        fc = forecast[forecast["unique_id"] == uid] if len(forecast) else forecast
        if len(fc):
            for level in (95, 80):
                _band(fig, fc, level, color, str(uid))
            fig.add_trace(go.Scatter(x=fc["ds"], y=fc["yhat"], mode="lines", name=f"{uid} forecast",
                                     legendgroup=str(uid), line={"color": color, "dash": "dash"}))
    fig.update_layout(title=f"Forecast of {meta.get('target')} ({meta.get('horizon')} steps, 80 % and 95 % "
                            "intervals)", xaxis_title=str(meta.get("time_column")), yaxis_title=str(meta.get("target")),
                      template="plotly_white")
    return fig


def backtest_figure(meta: dict[str, Any]) -> go.Figure:
    """The backtest score of every model, best first."""
    table = pd.DataFrame(meta.get("backtest") or [])
    metric = str(meta.get("metric") or "mase")
    fig = go.Figure()
    if len(table) and metric in table:
        table = table.sort_values(metric)
        hover = table.apply(lambda r: "<br>".join(f"{k}: {r[k]}" for k in table.columns if k != "model"), axis=1)
        fig.add_trace(go.Bar(x=table["model"], y=table[metric], hovertext=hover, hoverinfo="text+x",
                             marker_color=["#d62728" if str(m).startswith("ensemble") else "#1f77b4"
                                           for m in table["model"]]))
    fig.update_layout(title=f"Backtest {metric.upper()} per model (lower is better; "
                            f"{table['cutoffs'].iloc[0] if 'cutoffs' in table and len(table) else '?'} cut-offs)",
                      yaxis_title=metric, template="plotly_white")
    return fig


def figures(meta: dict[str, Any]) -> dict[str, go.Figure]:
    """``{"forecast": ..., "backtest": ...}`` from a forecasting artifact's meta."""
    return {"forecast": forecast_figure(meta), "backtest": backtest_figure(meta)}
