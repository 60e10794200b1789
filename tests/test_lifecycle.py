"""Retrain on drift says "no" before any work when there is no drift or too little ground truth."""

from __future__ import annotations

import time

import pandas as pd
from sklearn.linear_model import LogisticRegression

from automlops.config import Settings
from automlops.lifecycle import retrain_on_drift
from automlops.mlops.drift import ColumnDrift, DriftReport
from automlops.mlops.feedback import FeedbackItem, record_feedback
from automlops.mlops.lake import DataLake
from automlops.mlops.monitor import PredictionLog, PredictionRecord
from automlops.mlops.monitoring import MonitorResult
from automlops.mlops.store import ModelStore


def _checked(drifted: bool) -> MonitorResult:
    columns = (ColumnDrift("a", "K-S p_value", 0.001 if drifted else 0.4, 0.05, drifted),
               ColumnDrift("b", "K-S p_value", 0.3, 0.05, False))
    report = DriftReport(0.5 if drifted else 0.0, drifted, 0.5, 200, 150, columns, None, 0.1)
    return MonitorResult("m@v1", report, "1000", {}, 0, None, "2026-12-01T10:00:00+00:00")


def test_no_drift_no_retrain(settings: Settings) -> None:
    outcome = retrain_on_drift(_checked(False), settings=settings)
    assert outcome.action == "skipped" and "no drift" in outcome.reason and outcome.challenger is None


def test_drift_with_too_few_labels_trains_nothing(settings: Settings) -> None:
    frame = pd.DataFrame({"a": [1.0, 3.0, 5.0, 7.0], "b": [2.0, 4.0, 6.0, 8.0]})
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    ModelStore(settings=settings).save("m", model, {"task": "classification", "target": "y",
                                                    "input_columns": ["a", "b"]})
    with PredictionLog(settings=settings) as log:  # served later: 3 answered rows, 2 of them labelled
        log.submit(PredictionRecord(time.time() + 1, "r1", "m", 1, ["a", "b"], [[1, 2], [3, 4], [5, 6]], [0, 1, 0]))
        log.submit(PredictionRecord(1.0, "r0", "m", 1, ["a", "b"], [[1, 2]], [0]))  # before the model existed
        log.flush()
    record_feedback([FeedbackItem("r1", label=0, row=0), FeedbackItem("r1", label=1, row=1),
                     FeedbackItem("r0", label=0, row=0)], settings=settings)

    outcome = retrain_on_drift(_checked(True), min_labelled=50, settings=settings)

    assert outcome.action == "skipped" and outcome.n_labelled == 2
    assert "only 2 labelled live rows since m@v1 was saved" in outcome.reason and "at least 50" in outcome.reason
    assert DataLake(settings=settings).list_datasets() == []  # nothing was added to the lake
