"""The anomaly engine through the SearchDriver on real data with planted anomalies."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from automlops.anomaly import AnomalyEngine, figures, predict_table
from automlops.core.fit import FitResult
from automlops.core.problem import TaskType
from automlops.errors import DataError
from automlops.search.driver import DriverConfig, SearchDriver


def _fit(frame: pd.DataFrame, **engine_kw: object) -> FitResult:
    engine = AnomalyEngine(seed=0, preset="fast", **engine_kw)  # type: ignore[arg-type]
    return SearchDriver(engine, DriverConfig(preset="fast", n_trials=9, seed=0)).fit(frame)


@pytest.fixture(scope="module")
def fitted(planted: pd.DataFrame) -> FitResult:
    return _fit(planted, label="anomaly", contamination=0.05)


def test_finds_planted_anomalies(fitted: FitResult, planted: pd.DataFrame, labels: np.ndarray) -> None:
    assert fitted.engine == "anomaly" and fitted.problem.task is TaskType.ANOMALY
    assert fitted.artifact.kind == "anomaly" and fitted.problem.metric == "agreement_stability"
    model = fitted.artifact.obj
    scores = model.score_samples(planted)
    assert roc_auc_score(labels, scores) > 0.9  # chance is 0.5
    meta = fitted.artifact.meta
    assert meta["label_metrics"]["roc_auc"] > 0.85 and set(meta["label_metrics"]) == {"roc_auc", "pr_auc",
                                                                                       "precision_at_k"}
    # the threshold is the 95 % quantile of the training scores: about 5 % of rows flagged
    assert meta["contamination"] == 0.05 and abs(meta["flagged_share"] - 0.05) < 0.01
    # n_flagged counts the in-sample (leave-self-out) scores; re-scoring the training rows lets LOF/KNN see the
    # row itself among its neighbours, so predict() on them may differ by a row or two
    assert meta["n_flagged"] > 0 and abs(meta["n_flagged"] - int(model.predict(planted).sum())) <= 3
    assert meta["threshold"] == pytest.approx(np.quantile(model.train_scores_, 0.95), abs=1e-12)
    flagged = model.predict(planted).astype(bool)
    assert labels[flagged].mean() > 5 * labels.mean()  # flagged rows are mostly the planted ones
    assert {"flagged_share", "agreement", "stability", "roc_auc"} <= set(fitted.test_metrics)
    assert fitted.test_score == fitted.test_metrics["agreement_stability"] and fitted.n_test_rows == 75


def test_meta_is_jsonable_and_complete(fitted: FitResult) -> None:
    meta = fitted.artifact.meta
    json.dumps(meta, allow_nan=False)
    for key in ("threshold", "contamination", "contamination_rule", "n_flagged", "flagged_share", "score_histogram",
                "top_anomalies", "label_metrics", "selection", "detectors", "input_columns", "feature_schema"):
        assert key in meta, key
    assert "anomaly" not in meta["input_columns"] and len(meta["input_columns"]) == 30
    hist = meta["score_histogram"]
    assert len(hist["edges"]) == len(hist["counts"]) + 1 and sum(hist["counts"]) == meta["n_rows"]
    top = meta["top_anomalies"]
    assert len(top) == 20 and top[0]["score"] >= top[-1]["score"] and "mean radius" in top[0]["values"]
    assert set(fitted.artifact.files) == {"scores.html", "top_anomalies.csv"}
    figs = figures(dict(meta))
    assert set(figs) == {"scores", "top_anomalies"} and len(figs["scores"].data) == 1
    assert any("stability" in d.message for d in fitted.decisions if d.topic == "selection")
    assert any(d.topic == "threshold" for d in fitted.decisions)


def test_label_is_never_a_feature(fitted: FitResult, planted: pd.DataFrame) -> None:
    without = _fit(planted.drop(columns="anomaly"), contamination=0.05)
    assert without.best_model == fitted.best_model
    features = planted.drop(columns="anomaly")
    np.testing.assert_allclose(without.artifact.obj.score_samples(features),
                               fitted.artifact.obj.score_samples(features))
    flipped = planted.assign(anomaly=1 - planted["anomaly"])  # a different label changes nothing but metrics
    np.testing.assert_allclose(fitted.artifact.obj.score_samples(flipped), fitted.artifact.obj.score_samples(features))


def test_predict_table_and_pickle(fitted: FitResult, planted: pd.DataFrame) -> None:
    model, meta = fitted.artifact.obj, dict(fitted.artifact.meta)
    out = predict_table(model, meta, planted.iloc[[5, 3, 1]].drop(columns="anomaly"))
    assert list(out.columns) == ["score", "is_anomaly"] and len(out) == 3 and list(out.index) == [0, 1, 2]
    assert out["is_anomaly"].isin([0, 1]).all() and out["score"].dtype == float
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.score_samples(planted), model.score_samples(planted))
    assert restored.threshold_ == model.threshold_
    with pytest.raises(DataError, match="missing: mean radius, mean texture"):
        predict_table(model, meta, planted.drop(columns=["mean radius", "mean texture"]))
    with pytest.raises(DataError, match="no rows"):
        predict_table(model, meta, planted.iloc[:0])
    bad = planted.head(3).astype({"mean area": object})
    bad.loc[bad.index[1], "mean area"] = "big"
    with pytest.raises(DataError, match="'mean area' must hold numbers"):
        predict_table(model, meta, bad)


def test_auto_contamination_and_label_selection(planted: pd.DataFrame, labels: np.ndarray) -> None:
    result = _fit(planted, label="anomaly", select_by_label=True)
    assert result.problem.metric == "roc_auc" and result.val_score > 0.9
    meta = result.artifact.meta
    assert 0 < meta["contamination"] <= 0.5 and meta["contamination_rule"].startswith("auto")
    assert 0 < meta["flagged_share"] <= 0.5
    assert result.test_score == result.test_metrics["roc_auc"]


def test_one_detector_only(planted: pd.DataFrame) -> None:
    result = SearchDriver(AnomalyEngine(models=["copod"], contamination=0.1),
                          DriverConfig(preset="fast", n_trials=2)).fit(planted.drop(columns="anomaly"))
    assert result.best_model == "copod" and result.artifact.meta["detectors"] == ["copod"]
    assert "roc_auc" not in result.test_metrics and result.test_score == result.test_metrics["agreement_stability"]
    assert abs(result.artifact.meta["flagged_share"] - 0.1) < 0.01


@pytest.mark.slow
def test_keeps_a_time_budget(planted: pd.DataFrame) -> None:
    import time

    frame = pd.concat([planted.drop(columns="anomaly")] * 8, ignore_index=True)  # ~3,000 rows
    t0 = time.monotonic()
    result = SearchDriver(AnomalyEngine(preset="best"), DriverConfig(preset="best", time_budget=12)).fit(frame)
    assert time.monotonic() - t0 < 12 * 1.1 and result.n_trials >= 3


def test_mixed_columns_with_missing_values() -> None:
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n),
                          "colour": rng.choice(["red", "green", "blue"], n),
                          "when": pd.date_range("2024-01-01", periods=n // 2, freq="D").repeat(2)})
    frame.loc[:9, ["x", "y"]] += 8.0  # ten planted anomalies
    frame.loc[[20, 30, 40], "x"] = np.nan
    result = SearchDriver(AnomalyEngine(contamination=0.05), DriverConfig(preset="fast", n_trials=4)).fit(frame)
    meta = result.artifact.meta
    json.dumps(meta, allow_nan=False)
    assert meta["input_columns"] == ["x", "y", "colour", "when"]
    out = predict_table(result.artifact.obj, dict(meta), frame)
    assert out["score"].iloc[:10].min() > out["score"].iloc[10:].median()
    truth = np.r_[np.ones(10), np.zeros(n - 10)]
    assert roc_auc_score(truth, out["score"]) > 0.9 and out["is_anomaly"].iloc[:10].sum() >= 5


def test_the_warm_start_tries_each_detector_at_pyods_own_defaults(planted: pd.DataFrame) -> None:
    # Queued by name alone, the first trials sampled their settings (an Isolation Forest of 156 trees on 73 % of
    # the rows): when a short budget let one trial finish, a random configuration shipped as "the default".
    result = SearchDriver(AnomalyEngine(seed=0, models=["iforest", "lof", "hbos"], contamination=0.05),
                          DriverConfig(preset="fast", n_trials=5, seed=0)).fit(planted)
    trials = result.trials.sort_values("number")
    assert trials["model"].head(3).tolist() == ["iforest", "lof", "hbos"]
    assert trials["params"].head(3).tolist() == [{}, {}, {}]  # exactly what PyOD builds with no argument
    assert all(p for p in trials["params"].iloc[3:])  # then the search samples settings
