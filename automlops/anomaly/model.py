"""The fitted anomaly model: preprocessing + one or several detectors + a threshold.

A new row goes through exactly the steps the training rows went through: the same
``ColumnTransformer`` (imputation, scaling, one-hot), then each detector's raw score, put on the
training rows' scale by its :class:`~automlops.anomaly.selection.RankCalibrator` ("more anomalous
than this share of training rows"), then averaged. So a ``score`` of 0.97 reads "on average, the
detectors find this row stranger than 97 % of the training rows", and ``predict`` flags rows
whose score is above ``threshold_``.

A row's score depends on that row and the training rows only, never on the other rows of its
batch: PyOD's ECOD and COPOD would re-estimate their tail probabilities on the training rows *and the
rows being scored*, so they are wrapped to score against the training rows alone
(:mod:`automlops.anomaly.tails`; a training row scored again gets its fit-time score, bit for bit).
The threshold is set on the training rows' *in-sample* scores (for LOF and KNN: each row's neighbours
without itself), which is how a new row is seen; re-scoring a training row lets it find itself among
its neighbours, so ``predict`` on the training table may flag a row or two fewer than ``n_flagged``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automlops.anomaly.detectors import DETECTORS, fit_detector
from automlops.anomaly.selection import RankCalibrator
from automlops.errors import ModelError

__all__ = ["AnomalyModel", "Member", "fit_anomaly_model"]


@dataclass(frozen=True)
class Member:
    """One detector of the model, by name and hyperparameters."""

    model: str
    params: dict[str, Any]


class AnomalyModel:
    """``score_samples`` (higher = more anomalous), ``predict`` (0/1) and ``threshold_``."""

    def __init__(self, prep: Any, members: Sequence[Member], detectors: Sequence[Any],
                 calibrators: Sequence[RankCalibrator], input_columns: Sequence[str]) -> None:
        self.prep, self.members = prep, list(members)
        self.detectors_, self.calibrators_ = list(detectors), list(calibrators)
        self.input_columns = list(input_columns)
        self.threshold_: float = float("inf")
        self.contamination_: float = float("nan")
        self.train_scores_: np.ndarray = np.empty(0)

    @property
    def detector_names(self) -> list[str]:
        return [m.model for m in self.members]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.prep.transform(X[self.input_columns]), dtype=float)

    def score_transformed(self, Xt: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts = [cal.transform(det.decision_function(Xt))
                     for det, cal in zip(self.detectors_, self.calibrators_, strict=True)]
        return np.mean(parts, axis=0)

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Anomaly score of each row of ``X`` in [0, 1): higher is more anomalous."""
        return self.score_transformed(self.transform(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 for rows scored above the threshold, else 0."""
        return (self.score_samples(X) > self.threshold_).astype(int)

    def set_threshold(self, contamination: float) -> None:
        """Threshold at the (1 − contamination) quantile of the training scores."""
        self.contamination_ = float(contamination)
        self.threshold_ = float(np.quantile(self.train_scores_, 1.0 - contamination))

    def __repr__(self) -> str:
        return f"AnomalyModel({', '.join(self.detector_names)}, threshold={self.threshold_:.4f})"


def fit_anomaly_model(prep: Any, members: Sequence[Member], X: pd.DataFrame, input_columns: Sequence[str],
                      seed: int) -> tuple[AnomalyModel, dict[str, np.ndarray], float]:
    """Fit ``prep`` and every member on ``X``; return the model, each member's raw training scores and seconds."""
    t0 = time.perf_counter()
    Xt = np.asarray(prep.fit_transform(X[list(input_columns)]), dtype=float)
    detectors, calibrators, raw, kept = [], [], {}, []
    for member in members:
        try:
            detector, scores = fit_detector(DETECTORS.get(member.model), member.params, Xt, seed)
        except (ValueError, np.linalg.LinAlgError):
            if len(members) == 1:
                raise ModelError(f"{member.model} could not be fitted on these rows (non-finite scores)") from None
            continue  # an ensemble member that fails on these rows is left out; the others still score
        detectors.append(detector)
        calibrators.append(RankCalibrator(scores))
        raw[member.model] = scores
        kept.append(member)
    if not kept:
        raise ModelError("no detector of the ensemble could be fitted on these rows")
    model = AnomalyModel(prep, kept, detectors, calibrators, input_columns)
    model.train_scores_ = np.mean([c.transform(raw[m.model]) for c, m in zip(calibrators, kept, strict=True)],
                                  axis=0)
    return model, raw, time.perf_counter() - t0
