"""Tabular AutoML: problems, preprocessing, the model zoo, Optuna search, ensembles, the runner."""

from __future__ import annotations

from automlops.tabular.ensemble import EnsembleConfig
from automlops.tabular.presets import PRESETS, Preset, get_preset
from automlops.tabular.runner import AutoMLRunner
from automlops.tabular.search import STRATEGIES
from automlops.tabular.zoo import ZOO, ModelSpec, available_models, get_model

__all__ = ["PRESETS", "STRATEGIES", "ZOO", "AutoMLRunner", "EnsembleConfig", "ModelSpec", "Preset",
           "available_models", "get_model", "get_preset"]
