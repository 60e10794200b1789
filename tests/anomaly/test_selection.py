"""The unsupervised selection criterion: deterministic, and it tells a good detector from a bad one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from automlops.anomaly import AnomalyEngine
from automlops.anomaly.detectors import DETECTORS, fit_detector
from automlops.anomaly.selection import RankCalibrator, agreement, auto_contamination, label_metrics
from automlops.search.engine import Candidate, DecisionLog


def _prepared(frame: pd.DataFrame, seed: int = 0) -> AnomalyEngine:
    engine = AnomalyEngine(seed=seed)
    engine.prepare(frame.drop(columns="anomaly"), DecisionLog(lambda e: None, lambda: 0.0, lambda: None))
    return engine


GOOD = Candidate("knn", {"n_neighbors": 20, "method": "mean"})
BAD = Candidate("ocsvm", {"nu": 0.5, "gamma": 50.0})  # an RBF frontier hugging every point: ranks noise


def test_criterion_prefers_a_good_detector_and_is_deterministic(planted: pd.DataFrame, labels: np.ndarray) -> None:
    engine = _prepared(planted)
    good, bad = engine.evaluate(GOOD, None, None).mean, engine.evaluate(BAD, None, None).mean
    # the labels confirm which one is good (on the training rows the engine saw)
    y = labels[np.setdiff1d(np.arange(len(planted)), engine.test.index)]
    auc = {c.model: roc_auc_score(y, fit_detector(DETECTORS.get(c.model), dict(c.params), engine.Xt, 0)[1])
           for c in (GOOD, BAD)}
    assert auc["knn"] > 0.85 and auc["ocsvm"] < 0.75
    assert good > bad + 0.2
    again = _prepared(planted)
    assert again.evaluate(GOOD, None, None).mean == good and again.evaluate(BAD, None, None).mean == bad


def test_own_family_is_left_out(planted: pd.DataFrame) -> None:
    engine = _prepared(planted)
    scores = fit_detector(DETECTORS.get("knn"), {}, engine.Xt, 0)[1]
    # against the full panel the default KNN would partly agree with itself
    _, parts = engine.criterion(Candidate("knn", {}), scores)
    assert parts["agreement"] < agreement(scores, engine.panel.consensus())


def test_rank_calibrator_keeps_order_beyond_the_training_range() -> None:
    cal = RankCalibrator(np.arange(100.0))
    out = cal.transform(np.array([-50.0, -1.0, 0.0, 49.5, 99.0, 150.0, 1000.0]))
    assert np.all(np.diff(out) > 0) and out.min() > 0 and out.max() < 1
    assert out[3] == pytest.approx(0.5, abs=0.01)


def test_auto_contamination_and_label_metrics() -> None:
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(size=950), rng.normal(8, 1, size=50)]
    share, rule = auto_contamination({"a": scores, "b": scores + 1})
    assert 0.04 <= share <= 0.07 and "MAD" in rule
    flat, _ = auto_contamination({"a": rng.normal(size=1000)})
    assert 0 < flat < 0.02
    y = np.r_[np.zeros(950), np.ones(50)].astype(int)
    m = label_metrics(y, scores)
    assert m["roc_auc"] > 0.99 and m["precision_at_k"] > 0.9 and 0 < m["pr_auc"] <= 1
    assert label_metrics(np.zeros(10, dtype=int), np.arange(10.0)) == {}
