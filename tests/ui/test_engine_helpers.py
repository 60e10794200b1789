"""The engine-side helpers the dashboard added: diagnostics, importances, predictions, reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.errors import DataError
from automlops.tabular.diagnostics import diagnose_result, param_importances
from automlops.tabular.predict import predict_frame
from automlops.ui import components


@pytest.mark.parametrize("validation", ["auto", "timeseries"])
def test_regression_diagnostics_feed_the_charts(validation: str) -> None:
    from automlops.demo import load_demo
    from automlops.tabular.runner import AutoMLRunner

    frame = load_demo("diabetes")
    runner = AutoMLRunner("target", preset="fast", models=["ridge"], n_trials=2, validation=validation).fit(frame)
    diag = diagnose_result(runner.result_, frame)
    points = diag["regression"]
    assert len(points["actual"]) == len(points["predicted"]) == runner.n_test_rows_
    assert np.allclose(np.array(points["actual"]) - points["predicted"], points["residual"])
    # the charts show the rows the test score was computed on (for time-series validation: the last rows)
    test = frame.iloc[runner.test_rows_]
    if validation == "timeseries":
        assert list(runner.test_rows_) == list(range(len(frame) - runner.n_test_rows_, len(frame)))
    assert points["actual"] == test["target"].astype(float).tolist()
    assert np.allclose(points["predicted"], runner.scored_estimator_.predict(test[runner.plan_.input_columns]))
    assert sorted(diag["feature_importance"]["columns"]) == sorted(runner.plan_.input_columns)
    pva, res = components.regression_charts(points)
    assert len(pva.data) == 2 and len(res.data) == 1
    assert components.feature_importance_chart(diag["feature_importance"]) is not None


def test_param_importances_from_mlflow_strings() -> None:
    rng = np.random.default_rng(0)
    rows = [{"state": "COMPLETE", "model": "knn", "value": float(v),
             "params": {"n_neighbors": str(n), "weights": w}}
            for n, w, v in zip(rng.integers(1, 50, 12), ["uniform", "distance"] * 6, rng.random(12), strict=True)]
    rows.append({"state": "PRUNED", "model": "knn", "value": None, "params": {}})
    importances = param_importances(pd.DataFrame(rows), "maximize")
    assert set(importances["param"]) == {"n_neighbors", "weights"}
    assert importances["importance"].sum() == pytest.approx(1.0)
    assert param_importances(pd.DataFrame(rows[:2]), "maximize").empty  # fewer than 3 finished trials


def test_param_importances_are_those_of_the_best_model_family() -> None:
    """Across families only "model" is shared; the best family's own knobs are what matter."""
    rng = np.random.default_rng(1)
    knn = [{"state": "COMPLETE", "model": "knn", "value": 0.5 + 0.01 * float(v), "params": {"n_neighbors": int(n)}}
           for n, v in zip(rng.integers(1, 50, 6), rng.random(6), strict=True)]
    forest = [{"state": "COMPLETE", "model": "random_forest", "value": 0.8 + 0.1 * float(v),
               "params": {"n_estimators": int(n), "max_depth": int(d)}}
              for n, d, v in zip(rng.integers(10, 300, 8), rng.integers(2, 12, 8), rng.random(8), strict=True)]
    frame = pd.DataFrame(knn + forest)
    importances = param_importances(frame, "maximize")
    assert set(importances["param"]) == {"n_estimators", "max_depth"}
    assert set(importances["model"]) == {"random_forest"}
    assert set(param_importances(frame, "maximize", model="knn")["param"]) == {"n_neighbors"}
    assert components.param_importance_chart(importances).layout.title.text.startswith(
        "Hyperparameter importance of random_forest")


def test_predict_frame_keeps_rows_and_adds_probabilities() -> None:
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(X, ["n", "n", "y", "y"])
    meta = {"task": "classification", "input_columns": ["a", "b"]}
    out = predict_frame(model, meta, X.assign(extra="kept"))
    assert list(out.columns) == ["a", "b", "extra", "prediction", "proba_n", "proba_y"]
    with pytest.raises(DataError, match="lacks column"):
        predict_frame(model, meta, X[["a"]])
