"""Helpers for the monitoring tests: a real lake version, a real saved model, real logged traffic.

The model is a small scikit-learn pipeline trained on scikit-learn's wine table, stored through
:class:`~automlops.mlops.store.ModelStore` with the lineage a trained model carries
(``meta["dataset"]`` = the lake version), and traffic goes through the API's own
:class:`~automlops.mlops.monitor.PredictionLog`.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from automlops.mlops.monitor import PredictionLog, PredictionRecord, default_log_path
from automlops.mlops.store import ModelStore, StoredModel

FEATURES = ["alcohol", "malic_acid", "ash", "magnesium", "color_intensity", "proline"]


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    return frame[[*FEATURES, "target"]]


def use_mlflow_template(settings: Settings, empty_db: Path) -> None:
    """An initialised MLflow DB in the home (no migrations in the test)."""
    shutil.copy(empty_db, settings.home / "mlflow.db")


def saved_model(settings: Settings, name: str = "wine", *, frame: pd.DataFrame | None = None,
                task: str = "classification") -> StoredModel:
    """Add ``frame`` (default: wine) to the lake and save a fitted pipeline trained on it."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = wine() if frame is None else frame
    version = DataLake(settings=settings).add("wine", frame)
    estimator = LogisticRegression(max_iter=500) if task == "classification" else Ridge()
    model = make_pipeline(StandardScaler(), estimator).fit(frame[FEATURES], frame["target"])
    meta = {"kind": "tabular", "task": task, "target": "target", "input_columns": FEATURES,
            "dataset": version.lineage()}
    return ModelStore(settings=settings).save(name, model, meta)


def log_traffic(settings: Settings, rows: pd.DataFrame, *, name: str = "wine", version: int = 1,
                batch: int = 10, predictions: list[Any] | None = None, ts: float | None = None) -> list[str]:
    """Log ``rows`` (feature columns) as requests of ``batch`` rows; returns the request ids."""
    import time

    ids: list[str] = []
    preds = predictions if predictions is not None else [0] * len(rows)
    with PredictionLog(default_log_path(settings)) as log:
        for start in range(0, len(rows), batch):
            chunk = rows.iloc[start:start + batch]
            request_id = uuid.uuid4().hex
            ids.append(request_id)
            log.submit(PredictionRecord(ts if ts is not None else time.time(), request_id, name, version,
                                        list(chunk.columns), chunk.astype(object).values.tolist(),
                                        preds[start:start + len(chunk)], latency_ms=2.5))
        assert log.flush()
    return ids
