"""Temperature scaling of a classifier's probabilities (automlops.tabular.calibration), alone and in a search."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from automlops.tabular.calibration import TemperatureScaled, fit_temperature, temper, tempered
from automlops.tabular.explain import make_explainer
from automlops.tabular.runner import AutoMLRunner
from tests.tabular.test_explain import fit


@pytest.fixture(scope="module")
def forest_on_digits() -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A forest and the half of digits it did not learn from (its votes are too timid there)."""
    X, y = load_digits(return_X_y=True)
    X_fit, X_new, y_fit, y_new = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X_fit, y_fit)
    return forest, X_fit, y_fit, X_new, y_new


def test_the_fitted_temperature_undoes_a_known_softening(forest_on_digits: Any) -> None:
    """Softening probabilities by 2 must be answered by a temperature half as large, at the same loss."""
    forest, _, _, X, y = forest_on_digits
    proba = forest.predict_proba(X)
    found, before, after = fit_temperature(proba, y)
    assert found < 1 and after < before - 0.05  # a forest's averaged votes are too timid: T sharpens them
    assert after == pytest.approx(log_loss(y, tempered(proba, found)), rel=1e-9)
    softened, _, after_softened = fit_temperature(tempered(proba, 2.0), y)
    assert softened == pytest.approx(found / 2, rel=0.01)
    assert after_softened == pytest.approx(after, rel=1e-4)


def test_the_labels_never_change_and_a_refit_keeps_the_temperature(forest_on_digits: Any) -> None:
    forest, X_fit, y_fit, X, _ = forest_on_digits
    wrapped = TemperatureScaled.prefit(forest, 0.3)
    proba = wrapped.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), forest.predict_proba(X).argmax(axis=1))
    np.testing.assert_array_equal(wrapped.predict(X), forest.predict(X))
    assert not np.allclose(proba, forest.predict_proba(X))
    # an exported script rebuilds the recipe and fits it: the inner model is fitted, the temperature kept
    refitted = TemperatureScaled(RandomForestClassifier(n_estimators=50, random_state=0), 0.3).fit(X_fit, y_fit)
    np.testing.assert_allclose(refitted.predict_proba(X), proba)


def test_a_search_scored_by_log_loss_ships_and_scores_tempered_probabilities(digits: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", metric="log_loss", models=["random_forest"], n_trials=1, ensemble="none",
                          seed=0).fit(digits)
    (said,) = [d.message for d in runner.decisions_ if d.topic == "calibration"]
    assert said.startswith("temperature scaling: T = ") and "sharpens" in said
    for model in (runner.best_estimator_, runner.scored_estimator_):
        assert isinstance(model.steps[-1][1], TemperatureScaled)
    temperature = runner.best_estimator_.steps[-1][1].temperature
    assert 0.05 < temperature < 1
    assert runner.result_.artifact.meta["temperature"] == pytest.approx(temperature, abs=1e-4)
    # the reported test score is the shipped recipe's: tempered probabilities on the untouched rows
    test = digits.iloc[runner.test_rows_]
    X, y = test.drop(columns="target"), test["target"]
    scored = runner.scored_estimator_
    classes = list(runner.classes_)
    assert runner.test_score_ == pytest.approx(log_loss(y, scored.predict_proba(X), labels=classes), rel=1e-9)
    raw = scored.steps[-1][1].estimator_.predict_proba(scored[:-1].transform(X))
    assert runner.test_score_ < log_loss(y, raw, labels=classes)  # fitted out of fold, it helps on new rows too


def test_a_metric_of_labels_gets_no_temperature(digits: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", metric="accuracy", models=["random_forest"], n_trials=1, ensemble="none",
                          seed=0).fit(digits)
    assert not [d for d in runner.decisions_ if d.topic == "calibration"]
    assert not isinstance(runner.best_estimator_.steps[-1][1], TemperatureScaled)
    assert "temperature" not in runner.result_.artifact.meta


def test_too_few_validation_rows_get_no_temperature(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", metric="log_loss", models=["logistic"], n_trials=1, ensemble="none",
                          seed=0).fit(cancer)
    (said,) = [d.message for d in runner.decisions_ if d.topic == "calibration"]
    assert "too few" in said and not isinstance(runner.best_estimator_.steps[-1][1], TemperatureScaled)


def test_tree_shap_of_a_tempered_booster_stays_additive_in_its_log_odds(cancer: pd.DataFrame) -> None:
    pipe, meta = fit(cancer, "target", "xgboost", n_estimators=40)
    tempered_pipe = temper(pipe, 0.5)
    explainer = make_explainer(tempered_pipe, meta, None)
    assert (explainer.method, explainer.output) == ("tree", "log-odds")
    rows = cancer.head(20)
    base, values, outputs = explainer.shap_values(rows)
    proba = tempered_pipe.predict_proba(rows[meta["input_columns"]])
    np.testing.assert_allclose(outputs[:, 1], logit(proba[:, 1]), atol=2e-4)  # twice the untempered log-odds
    np.testing.assert_allclose(base + values.sum(axis=1), outputs)
