"""AutoMLOps Studio — the MLOps toolbox, in one import.

* ``DataLake``   – versioned, write-once datasets with SHA-256 manifests (``automlops/mlops/lake.py``)
* ``ImageLake`` – the same for zipped image datasets, every file checksummed (``image_lake.py``)
* ``ModelStore`` – versioned models with metadata, verified before loading (``store.py``)
* ``Tracker``    – MLflow tracking with explicit run ids, local SQLite or remote (``tracking.py``)
* ``ModelRegistry`` – MLflow Model Registry: stages (aliases), archive, rollback, history (``registry.py``)
* ``detect_drift`` / ``monitor_model`` – Evidently drift of live traffic vs training data (``drift.py``,
  ``monitoring.py``); ``record_feedback`` stores true labels beside the prediction log (``feedback.py``)
* ``model_card_for`` – one version's model card (``model_card.py``)
* ``seed_demo``  – real datasets from installed packages, offline (``automlops/demo.py``)
"""

from __future__ import annotations

from automlops.config import Settings, get_settings
from automlops.demo import DEMO_DATASETS, seed_demo
from automlops.mlops.drift import DriftReport, detect_drift
from automlops.mlops.feedback import FeedbackItem, record_feedback
from automlops.mlops.image_lake import ImageDatasetVersion, ImageLake
from automlops.mlops.lake import DataLake, DatasetVersion
from automlops.mlops.model_card import ModelCard, model_card_for
from automlops.mlops.monitoring import MonitorResult, monitor_model
from automlops.mlops.registry import ModelRegistry, Transition
from automlops.mlops.store import ModelStore, StoredModel, parse_model_ref
from automlops.mlops.tracking import ConnectionStatus, Tracker

__all__ = ["DEMO_DATASETS", "ConnectionStatus", "DataLake", "DatasetVersion", "DriftReport", "FeedbackItem",
           "ImageDatasetVersion", "ImageLake",
           "ModelCard", "ModelRegistry", "ModelStore", "MonitorResult", "Settings", "StoredModel", "Tracker",
           "Transition", "detect_drift", "get_settings", "model_card_for", "monitor_model", "parse_model_ref",
           "record_feedback", "seed_demo"]
