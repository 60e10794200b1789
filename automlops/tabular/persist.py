"""Saving a tabular fit: the engine-independent code lives in :mod:`automlops.mlops.persist`.

Kept so that ``from automlops.tabular.persist import save_model`` (older code, notebooks) works.
"""

from __future__ import annotations

from automlops.mlops.persist import model_metadata, save_model

__all__ = ["model_metadata", "save_model"]
