"""The Models page's model card: one version's data, scores with spread, SHAP features, drift and stages.

The card is built by :func:`automlops.mlops.model_card.model_card_for` from the model store, the
registry of the dashboard's tracking target and the drift history; a source that cannot be read
is named on the card rather than hiding it. *Download* exports the same card as Markdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from automlops.ui import components

if TYPE_CHECKING:
    from automlops.config import Settings
    from automlops.mlops.store import StoredModel

__all__ = ["render_model_card"]


def render_model_card(chosen: StoredModel, settings: Settings) -> None:
    """An expander with the card of ``chosen`` and its Markdown download."""
    with st.expander(":material/badge: Model card", expanded=False), components.guard("building the model card"):
        from automlops.mlops.model_card import model_card_for
        from automlops.mlops.registry import ModelRegistry
        from automlops.ui import tracking

        card = model_card_for(chosen.name, chosen.version, settings=settings,
                              registry=ModelRegistry(tracking.current_tracker()))
        markdown = card.to_markdown()
        st.markdown(markdown.split("\n", 1)[1])  # the page already names the version: skip the title line
        st.download_button(":material/download: model card (.md)", markdown,
                           file_name=f"{chosen.name}-v{chosen.version:04d}-model-card.md", mime="text/markdown",
                           key="models_card_download")
