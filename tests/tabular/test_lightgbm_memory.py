"""The zoo's LightGBM fits keep their trained booster where that is smaller than LightGBM's text round trip,
and predict, save and load exactly as LightGBM's own fits do."""

from __future__ import annotations

import copy
import gc

import lightgbm as lgb
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_digits

from automlops.core.problem import Problem, TaskType
from automlops.tabular import lightgbm_memory
from automlops.tabular.lightgbm_memory import round_trip_bytes, trained_boosters_kept, training_state_bytes
from automlops.tabular.zoo import EarlyStoppedClassifier, get_model

DIGITS_PROBLEM = Problem(TaskType.CLASSIFICATION, "digit", "log_loss", "minimize", classes=tuple(range(10)))


def _digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X.astype(float), y


def _kept(model: EarlyStoppedClassifier) -> bool:
    return model.estimator_.booster_ in lightgbm_memory._DATASETS


def test_many_small_trees_keep_the_trained_booster_and_predict_as_lightgbm_ships() -> None:
    """Ten classes x 150 rounds of 15 leaves on 64 pixel columns: the text round trip would cost more than the
    booster's training state, so the zoo's fit keeps it; probabilities equal a plain LightGBM fit's bit for bit."""
    X, y = _digits()
    model = get_model("lightgbm").build({"n_estimators": 150, "learning_rate": 0.1, "num_leaves": 15}, DIGITS_PROBLEM, 0)
    model.set_params(min_rows=len(y) + 1).fit(X, y)  # the searched 150 rounds on every row, as the plain fit below
    assert _kept(model)
    booster = model.estimator_.booster_
    datasets = lightgbm_memory._DATASETS[booster]
    assert training_state_bytes(booster, datasets[0], list(datasets[1:])) < round_trip_bytes(booster)

    plain = lgb.LGBMClassifier(**model.estimator.get_params()).fit(X, y)  # outside the block: as LightGBM ships
    assert plain.booster_ not in lightgbm_memory._DATASETS
    assert np.array_equal(model.predict_proba(X), plain.predict_proba(X))


def test_an_early_stopped_kept_booster_is_the_model_lightgbm_would_have_made() -> None:
    """With held-out rows the booster runs ``patience`` rounds past its best; LightGBM's round trip cuts them,
    and so does keeping the booster (a deep copy, rebuilt from the text without the best round, predicts the
    same). Saved and loaded, it predicts and explains as before."""
    X, y = _digits()
    built = get_model("lightgbm").build({"learning_rate": 0.3, "num_leaves": 7}, DIGITS_PROBLEM, 0)
    model = EarlyStoppedClassifier(built.estimator, min_rows=1000, patience=10, random_state=0).fit(X, y)
    assert _kept(model)
    booster = model.estimator_.booster_
    assert booster.current_iteration() == booster.best_iteration == model.n_rounds_ < 100  # rounds past it dropped

    shipped = lgb.LGBMClassifier(**model.estimator.get_params())
    with pytest.MonkeyPatch.context() as patch:  # the same fit, LightGBM's own conversion at the end
        patch.setattr(lightgbm_memory, "round_trip_bytes", lambda booster: 0)
        converted = EarlyStoppedClassifier(shipped, min_rows=1000, patience=10, random_state=0).fit(X, y)
    assert not _kept(converted) and converted.estimator_.booster_.current_iteration() == converted.n_rounds_
    assert np.array_equal(model.predict_proba(X), converted.predict_proba(X))
    assert np.array_equal(copy.deepcopy(model).predict_proba(X), converted.predict_proba(X))

    data = sio.dumps(model)
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    contributions = loaded.estimator_.booster_.predict(X[:20], pred_contrib=True)
    assert np.allclose(contributions, booster.predict(X[:20], pred_contrib=True))


def test_few_big_trees_on_many_bins_convert_as_lightgbm_does() -> None:
    """256 leaves on 100 numeric columns: one histogram per leaf (~100 MB) outweighs the text of 30 trees,
    so the trained booster is converted and its training state freed."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 100))
    y = X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=20_000)
    with trained_boosters_kept():
        model = lgb.LGBMRegressor(n_estimators=30, num_leaves=256, verbose=-1, n_jobs=1).fit(X, y)
    assert model.booster_ not in lightgbm_memory._DATASETS
    assert model.booster_.current_iteration() == 30


def test_a_kept_boosters_datasets_go_with_it() -> None:
    X, y = _digits()
    with trained_boosters_kept():
        model = lgb.LGBMClassifier(n_estimators=60, num_leaves=7, verbose=-1, n_jobs=1).fit(X, y)
    assert model.booster_ in lightgbm_memory._DATASETS
    before = len(lightgbm_memory._DATASETS)
    del model
    gc.collect()
    assert len(lightgbm_memory._DATASETS) == before - 1
