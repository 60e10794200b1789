"""The Models page's "Predict on a CSV": a saved table model answers an uploaded file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from automlops.config import Settings
from automlops.tasks import answer_table, model_kind
from automlops.ui import components

__all__ = ["predict_csv"]


def predict_csv(settings: Settings, chosen: Any, meta: dict[str, Any], load: Callable[[], Any]) -> None:
    """Upload a CSV, predict it with ``chosen`` (loaded by ``load``, cached by the page), offer the answers."""
    st.subheader("Predict on a CSV")
    st.caption(f"The file needs the columns the model was trained on: {', '.join(meta.get('input_columns') or [])}.")
    upload = st.file_uploader("CSV to predict", type=["csv", "tsv", "txt"], key="models_predict_upload")
    if upload is None:
        return
    with components.guard("predicting"), st.spinner("Predicting…"):
        from automlops.core.csv_safety import to_people_csv
        from automlops.mlops.ingest import read_csv_robust
        from automlops.tabular.predict import predict_frame

        frame = read_csv_robust(upload.getvalue(), max_bytes=settings.max_upload_bytes, min_columns=1).frame
        loaded = load()
        if model_kind(meta) == "tabular":
            predictions = predict_frame(loaded.model, loaded.meta, frame)
        else:  # clusters, anomaly scores and flags, or the forecast for the file's future timestamps
            predictions = answer_table(loaded.model, loaded.meta, frame)
        st.success(f"{len(predictions)} predictions from {chosen.ref}.")
        st.dataframe(predictions.head(200), hide_index=True)
        st.download_button(":material/download: predictions.csv", to_people_csv(predictions),
                           file_name="predictions.csv", mime="text/csv", key="models_download_predictions")
