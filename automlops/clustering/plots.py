"""The clustering figures, built from ``artifact.meta`` alone (so the dashboard needs no model).

* ``projection`` – the rows on the two PCA axes, coloured by cluster (noise in grey);
* ``sizes`` – rows per cluster;
* ``profile`` – a heatmap of each cluster's numeric means and median dates, each column rescaled
  0…1 across the clusters so columns in different units share one colour scale (the cell text shows
  the real value).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["figures"]


def _projection(meta: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    p = meta["projection"]
    x, y, cluster = np.asarray(p["x"]), np.asarray(p["y"]), np.asarray(p["cluster"], dtype=int)
    fig = go.Figure()
    for c in sorted(set(cluster.tolist()), key=lambda v: (v < 0, v)):
        mask = cluster == c
        fig.add_trace(go.Scattergl(x=x[mask], y=y[mask], mode="markers", name="noise" if c < 0 else f"cluster {c}",
                                   marker={"size": 6, "opacity": 0.75, **({"color": "lightgrey"} if c < 0 else {})}))
    ev = list(p.get("explained_variance") or []) + [0.0, 0.0]
    fig.update_layout(title=f"Clusters on the first two principal components ({sum(ev[:2]):.0%} of the variance)",
                      xaxis_title=f"PC1 ({ev[0]:.0%})", yaxis_title=f"PC2 ({ev[1]:.0%})", legend_title="cluster")
    return fig


def _sizes(meta: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    names = [f"cluster {c}" for c in meta["clusters"]]
    counts = list(meta["cluster_sizes"])
    if meta.get("noise_count"):
        names.append("noise")
        counts.append(int(meta["noise_count"]))
    fig = go.Figure(go.Bar(x=names, y=counts, text=counts, textposition="auto"))
    fig.update_layout(title="Rows per cluster (training rows)", yaxis_title="rows")
    return fig


def _profile(meta: dict[str, Any]) -> Any:
    import pandas as pd
    import plotly.graph_objects as go

    records = meta["profile"]
    columns_of = meta.get("profile_columns", {})
    numeric = list(columns_of.get("numeric") or [])
    medians = [f"{c} (median)" for c in columns_of.get("datetime") or []]
    rows = [f"cluster {r['cluster']}" if r["cluster"] >= 0 else "noise" for r in records]
    if not numeric and not medians:  # only categories: show the table of top values
        columns = ["cluster", "size", *columns_of.get("categorical", [])]
        return go.Figure(go.Table(header={"values": columns},
                                  cells={"values": [[r.get(c) for r in records] for c in columns]}))
    values = np.array([[np.nan if r.get(c) is None else float(r[c]) for c in numeric]
                       + [np.nan if r.get(c) is None else pd.Timestamp(r[c]).timestamp() for c in medians]
                       for r in records], dtype=float)
    text = [[f"{v:.3f}" if np.isfinite(v) else "" for v in row[: len(numeric)]]
            + [str(r.get(c) or "") for c in medians] for row, r in zip(values, records, strict=True)]
    low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    scaled = (values - low) / np.where(high > low, high - low, 1.0)
    fig = go.Figure(go.Heatmap(z=scaled, x=numeric + medians, y=rows, text=text, texttemplate="%{text}",
                               colorscale="Viridis", colorbar={"title": "low → high"}))
    fig.update_layout(title="Cluster profile: mean of each numeric column, median of each date "
                            "(colour rescaled per column)")
    return fig


def figures(meta: dict[str, Any]) -> dict[str, Any]:
    """``{"projection", "sizes", "profile"}`` plotly figures from a clustering model's meta."""
    return {"projection": _projection(meta), "sizes": _sizes(meta), "profile": _profile(meta)}
