"""The Models page's "Explain" section: SHAP for a saved tabular model, on demand.

One click explains a sample of the rows the model was trained on (its lake dataset version,
named in ``meta.json``) with :mod:`automlops.tabular.explain`, then draws:

* a **bar chart** of mean |SHAP| per feature: how much each feature moves the answers on average;
* a **beeswarm**: one dot per row and feature, placed at its SHAP value and coloured by the
  feature's value (red high, blue low, purple for text), so "high values push up" reads at a glance;
* a **waterfall** for one chosen row: from the base value, feature by feature, to its output.

The explainer and the sample's explanation are cached per model version (a version never
changes), so changing the row or coming back to the page costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from automlops.ui import components

if TYPE_CHECKING:
    from automlops.config import Settings
    from automlops.mlops.store import LoadedModel, StoredModel
    from automlops.tabular.explain import Explainer, GlobalExplanation

__all__ = ["render_explanations"]

SHOWN = 15  # features on the charts (the rest are summed as "other features" in the waterfall)
ROWS_TREE, ROWS_AGNOSTIC = 300, 40  # rows explained: tree SHAP is fast, the sampled explainer is not
_OPEN = "models_explain_open"
SHAP_COLOURS = [[0.0, "#1E88E5"], [1.0, "#FF0D57"]]  # SHAP's own blue (low) to red (high); text sits in between
OUTPUT_WORDS = {"log-odds": "log-odds", "margin": "score before the softmax", "probability": "probability",
                "value": "predicted value"}


@st.cache_resource(max_entries=4, show_spinner=False)
def _explained(model_sha: str, dataset: str, version: int | None, root: str,
               _loaded: LoadedModel, _settings: Settings) -> tuple[Explainer, GlobalExplanation]:
    """Build the explainer and explain a sample of the training rows, once per model version."""
    from automlops.mlops.lake import DataLake
    from automlops.tabular.explain import explain_global, make_explainer, tree_inside

    background = DataLake(settings=_settings).load(dataset, version)
    explainer = make_explainer(_loaded.model, _loaded.meta, background)
    rows = ROWS_TREE if tree_inside(_loaded.model) is not None else ROWS_AGNOSTIC
    return explainer, explain_global(_loaded.model, _loaded.meta, background, max_rows=rows, explainer=explainer)


def _bar(summary: GlobalExplanation) -> Any:
    import plotly.graph_objects as go

    features, sizes = list(summary.features[:SHOWN])[::-1], list(summary.mean_abs[:SHOWN])[::-1]
    fig = go.Figure(go.Bar(x=sizes, y=features, orientation="h", marker_color="#1f77b4"))
    fig.update_layout(title="Mean |SHAP| per feature", xaxis_title=f"mean |SHAP| ({OUTPUT_WORDS[summary.output]})")
    return fig


def _colour(values: pd.Series) -> np.ndarray:
    """A feature's values as 0..1 for the colour scale (ranks; text and missing values in the middle)."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() < 2:
        return np.full(len(values), 0.5)
    return numbers.rank(pct=True).fillna(0.5).to_numpy()


def _beeswarm(summary: GlobalExplanation) -> Any:
    import plotly.graph_objects as go

    rng = np.random.default_rng(0)
    xs: list[float] = []
    ys: list[float] = []
    colours: list[float] = []
    texts: list[str] = []
    for j, feature in enumerate(summary.features[:SHOWN]):
        column = summary.data[feature]
        xs.extend(summary.values[:, j])
        ys.extend(len(summary.features[:SHOWN]) - 1 - j + rng.uniform(-0.3, 0.3, len(column)))
        colours.extend(_colour(column))
        texts.extend(f"{feature} = {v}" for v in column)
    shown = list(summary.features[:SHOWN])
    fig = go.Figure(go.Scattergl(x=xs, y=ys, mode="markers", text=texts, hoverinfo="text+x", marker={
        "size": 5, "color": colours, "colorscale": SHAP_COLOURS, "colorbar": {"title": "value", "tickvals": [0, 1],
                                                                           "ticktext": ["low", "high"]}}))
    fig.update_layout(title="Each row's SHAP values (colour: the feature's value)",
                      xaxis_title=f"SHAP value ({OUTPUT_WORDS[summary.output]})",
                      yaxis={"tickvals": list(range(len(shown))), "ticktext": shown[::-1]})
    return fig


def _waterfall(explainer: Explainer, row: pd.DataFrame) -> tuple[Any, Any]:
    import plotly.graph_objects as go

    from automlops.tabular.explain import explain_rows

    (explained,) = explain_rows(explainer, row, top_k=None)
    shown, rest = explained.contributions[:SHOWN - 1], explained.contributions[SHOWN - 1:]
    labels = ["base value", *(f"{c.feature} = {c.value}" for c in shown)]
    values = [explained.base_value, *(c.contribution for c in shown)]
    if rest:
        labels.append(f"{len(rest)} other features")
        values.append(sum(c.contribution for c in rest))
    measures = ["absolute", *["relative"] * (len(values) - 1), "total"]
    fig = go.Figure(go.Waterfall(orientation="h", y=[*labels, "output"], x=[*values, 0], measure=measures))
    fig.update_layout(title=f"Why this row: prediction {explained.prediction}"
                            + (f" (explained class: {explained.class_name})" if explained.class_name is not None else ""),
                      xaxis_title=OUTPUT_WORDS[explainer.output], yaxis={"autorange": "reversed"})
    return fig, explained


def _charts(chosen: StoredModel, loaded: LoadedModel, settings: Settings) -> None:
    dataset = chosen.meta.get("dataset") or {}
    with st.spinner("Explaining a sample of the training rows (the first time takes a few seconds)…"):
        explainer, summary = _explained(str(chosen.meta.get("model_sha256")), str(dataset["name"]),
                                        dataset.get("version"), str(chosen.path), loaded, settings)
    method = "exact tree SHAP" if summary.method == "tree" else "sampled permutation SHAP (model-agnostic)"
    about = ("for the predicted value" if summary.class_name is None else "for each row's predicted class"
             if summary.class_name == "predicted class of each row" else f"for class **{summary.class_name}**")
    st.caption(f"{len(summary.data)} rows of {dataset['name']} v{dataset.get('version')}, {method}, {about}; "
               f"values in {OUTPUT_WORDS[summary.output]} (base value {summary.base_value:.4g}).")
    left, right = st.columns(2)
    with left:
        components.show_chart(_bar(summary), key="models_explain_bar")
    with right:
        components.show_chart(_beeswarm(summary), key="models_explain_beeswarm")
    row = st.number_input("Row of the sample to explain", 0, len(summary.data) - 1, 0, key="models_explain_row")
    fig, _ = _waterfall(explainer, summary.data.iloc[[int(row)]])
    components.show_chart(fig, key="models_explain_waterfall")


def render_explanations(chosen: StoredModel, loaded_model: LoadedModel | Callable[[], LoadedModel],
                        settings: Settings) -> None:
    """The "Explanations (SHAP)" section for ``chosen`` (``loaded_model``: the loaded model, or a
    function that loads it, called only when the user asks for explanations)."""
    meta = chosen.meta
    st.subheader("Explanations (SHAP)")
    top = meta.get("shap_top_features") or []
    if top:
        st.caption("Most important features, measured at training time: "
                   + ", ".join(f"{t['feature']} ({t['mean_abs']:.3g})" for t in top[:5]))
    if meta.get("task") not in ("classification", "regression"):
        st.caption("Explanations exist for classification and regression models.")
        return
    if not (meta.get("dataset") or {}).get("name"):
        st.caption("This model records no training dataset in the lake, so there are no rows to explain it on.")
        return
    if st.button(":material/psychology: Explain", key="models_explain"):
        st.session_state[_OPEN] = chosen.ref
    if st.session_state.get(_OPEN) != chosen.ref:
        return
    with components.guard("explaining the model"):
        loaded = loaded_model() if callable(loaded_model) else loaded_model
        _charts(chosen, loaded, settings)
