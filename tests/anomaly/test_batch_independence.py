"""A saved anomaly model scores a row the same whatever it is batched with (PyOD's ECOD/COPOD did not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from automlops.anomaly.detectors import DETECTORS, fit_detector
from automlops.anomaly.model import Member, fit_anomaly_model


@pytest.fixture(scope="module")
def cancer() -> np.ndarray:
    X = load_breast_cancer().data
    return np.asarray((X - X.mean(0)) / X.std(0), dtype=float)


def _alone_and_batched(detector: object, X: np.ndarray, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    extremes = X[:200] * 6.0 + 3.0  # 200 rows far out in every column
    alone = np.concatenate([detector.decision_function(X[[i]]) for i in rows])  # type: ignore[attr-defined]
    batched = detector.decision_function(np.vstack([X[rows], extremes]))[: len(rows)]  # type: ignore[attr-defined]
    return alone, batched


@pytest.mark.parametrize("name", DETECTORS.names())
def test_every_detector_scores_a_row_independently_of_its_batch(name: str, cancer: np.ndarray) -> None:
    detector, _ = fit_detector(DETECTORS.get(name), {}, cancer[:400], seed=0)
    alone, batched = _alone_and_batched(detector, cancer, [400, 450, 500, 560])
    np.testing.assert_allclose(alone, batched, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["ecod", "copod"])
def test_tail_detectors_keep_pyod_training_scores_and_rescore_them_exactly(name: str, cancer: np.ndarray) -> None:
    X = np.round(cancer, 1)  # ties: the ECDF's equal values must count as PyOD counts them
    detector, scores = fit_detector(DETECTORS.get(name), {}, X, seed=0)
    pyod = DETECTORS.get(name).build({}, 0).fit(X)
    np.testing.assert_array_equal(scores, pyod.decision_scores_)  # selection and threshold do not move
    np.testing.assert_array_equal(detector.decision_function(X), scores)  # a training row at predict = at fit
    # a new row far out is at least as anomalous as the most extreme training row, and finite
    far = detector.decision_function(X[:3] * 10)
    assert np.all(np.isfinite(far)) and np.all(far >= scores[:3])


def test_model_flag_does_not_depend_on_the_batch() -> None:
    frame = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    columns = list(frame.columns)
    prep = ColumnTransformer([("num", StandardScaler(), columns)])
    members = [Member("ecod", {}), Member("copod", {}), Member("ocsvm", {})]
    model, _, _ = fit_anomaly_model(prep, members, frame.iloc[:450], columns, seed=0)
    model.set_threshold(0.05)
    new = frame.iloc[450:]
    extremes = pd.DataFrame(frame.iloc[:300].to_numpy() * 5, columns=columns)
    alone = np.array([model.score_samples(new.iloc[[i]])[0] for i in range(len(new))])
    np.testing.assert_allclose(model.score_samples(new), alone, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.score_samples(pd.concat([new, extremes]))[: len(new)], alone, rtol=0, atol=1e-12)
    # the training rows re-scored: the same scores the threshold was set on (no LOF/KNN among the members)
    np.testing.assert_allclose(model.score_samples(frame.iloc[:450]), model.train_scores_, rtol=0, atol=1e-12)
