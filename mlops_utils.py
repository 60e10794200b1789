"""AutoMLOps Studio — the MLOps toolbox, in one import.

* ``DataLake``   – versioned, write-once datasets with SHA-256 manifests (``automlops/mlops/lake.py``)
* ``ModelStore`` – versioned models with metadata, verified before loading (``store.py``)
* ``Tracker``    – MLflow tracking with explicit run ids, local SQLite or remote (``tracking.py``)
* ``seed_demo``  – real datasets from installed packages, offline (``automlops/demo.py``)
"""

from __future__ import annotations

from automlops.config import Settings, get_settings
from automlops.demo import DEMO_DATASETS, seed_demo
from automlops.mlops.lake import DataLake, DatasetVersion
from automlops.mlops.store import ModelStore, StoredModel, parse_model_ref
from automlops.mlops.tracking import ConnectionStatus, Tracker

__all__ = ["DEMO_DATASETS", "ConnectionStatus", "DataLake", "DatasetVersion", "ModelStore", "Settings",
           "StoredModel", "Tracker", "get_settings", "parse_model_ref", "seed_demo"]
