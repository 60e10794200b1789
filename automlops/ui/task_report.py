"""What a forecasting, clustering or anomaly-detection model shows after training (and in Models).

Everything is drawn from the model's ``meta.json`` (its ``report``): the engine's own figures
(:func:`automlops.tasks.report_figures`) and the tables that explain them: the backtest of every
forecasting model, the profile of every cluster, the rows most likely to be anomalies.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from automlops.ui import components

__all__ = ["render_report"]

_TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {  # kind -> (meta key, title, caption)
    "forecasting": (
        ("backtest", "Backtest", "Each candidate forecast the last windows of the history from their past only "
                                 "(expanding window); MASE < 1 beats the seasonal naive forecast."),
        ("forecast", "Forecast", "The next steps of each series, with 80 % and 95 % intervals."),
    ),
    "clustering": (
        ("profile", "Cluster profiles", "Each cluster's size, the mean of each numeric column and the most frequent "
                                        "value of each categorical one: what its rows have in common."),
    ),
    "anomaly": (
        ("top_anomalies", "Top anomalies", "The training rows with the highest anomaly scores, most anomalous first."),
    ),
}


def _summary(kind: str, meta: dict[str, Any]) -> None:
    if kind == "forecasting":
        st.caption(f"Horizon {meta.get('horizon')} steps · frequency {meta.get('freq')} "
                   f"({meta.get('freq_reason', 'given')}) · {meta.get('n_series', 1)} series")
    elif kind == "clustering":
        scores = meta.get("reference_scores") or {}
        extra = "".join(f" · {k.upper()} vs the reference {v:.3f}" for k, v in scores.items()
                        if isinstance(v, int | float))
        st.caption(f"{meta.get('n_clusters')} clusters · sizes {meta.get('cluster_sizes')}{extra}")
        if meta.get("assigner"):
            st.caption(str(meta["assigner"]))
    elif kind == "anomaly":
        st.caption(f"Threshold {meta.get('threshold', float('nan')):.4g} · {meta.get('n_flagged')} rows flagged "
                   f"({100 * float(meta.get('flagged_share') or 0):.1f} %) · contamination "
                   f"{meta.get('contamination')} ({meta.get('contamination_rule', '')})")
        if meta.get("label_metrics"):
            components.metric_cards(meta["label_metrics"])


def render_report(kind: str, meta: dict[str, Any] | None, *, key: str) -> None:
    """The figures and tables of a non-tabular model (nothing for a tabular one)."""
    if not meta or kind == "tabular":
        return
    from automlops.tasks import report_figures

    _summary(kind, meta)
    for name, figure in report_figures(meta).items():
        components.show_chart(figure, key=f"{key}-{name}")
    for meta_key, title, caption in _TABLES.get(kind, ()):
        rows = meta.get(meta_key)
        if rows:
            st.markdown(f"**{title}**")
            st.caption(caption)
            st.dataframe(pd.DataFrame.from_records(rows), hide_index=True)
