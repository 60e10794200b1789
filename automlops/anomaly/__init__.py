"""Anomaly detection: PyOD detectors searched by Optuna, chosen without labels, served with a threshold.

``AnomalyEngine`` plugs into :class:`~automlops.search.driver.SearchDriver`; ``predict_table`` scores
new rows with a saved model; ``figures`` draws its plots from ``artifact.meta``. How a detector is
chosen without labels is explained in :mod:`automlops.anomaly.selection`.
"""

from __future__ import annotations

from automlops.anomaly.detectors import DETECTORS, PANEL, DetectorSpec
from automlops.anomaly.engine import ANOMALY_PRESETS, AnomalyEngine, AnomalyPreset
from automlops.anomaly.model import AnomalyModel
from automlops.anomaly.plots import figures
from automlops.anomaly.predict import predict_table
from automlops.anomaly.selection import ANOMALY_METRICS

__all__ = ["ANOMALY_METRICS", "ANOMALY_PRESETS", "DETECTORS", "PANEL", "AnomalyEngine", "AnomalyModel",
           "AnomalyPreset", "DetectorSpec", "figures", "predict_table"]
