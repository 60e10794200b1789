"""Boosting picks its own number of rounds on data large enough to spare a held-out part."""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor

from automlops.core.problem import Problem, TaskType
from automlops.search.deadline import finish_by, interrupt_at
from automlops.tabular.zoo import EarlyStoppedClassifier, EarlyStoppedRegressor, get_model


def _trees_fitted(booster: object, library: str) -> int:
    """How many rounds a regression booster holds, read from the library itself."""
    if library == "lightgbm":
        return int(booster.booster_.num_trees())  # type: ignore[attr-defined]
    if library == "catboost":
        return int(booster.tree_count_)  # type: ignore[attr-defined]
    return int(booster.get_booster().num_boosted_rounds())  # type: ignore[attr-defined]


def _friedman(n_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Friedman #1: y = 10 sin(π x0 x1) + 20 (x2 − ½)² + 10 x3 + 5 x4 + noise; x5..x9 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n_rows, 10))
    y = 10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3] + 5 * X[:, 4]
    return X, y + rng.normal(0, 1.0, n_rows)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
def test_large_data_stops_where_the_held_out_score_stops_improving(model: str) -> None:
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(6000)
    fast = get_model(model).build({"learning_rate": 0.3, "n_estimators": 100}, problem, 0)
    slow = get_model(model).build({"learning_rate": 0.03, "n_estimators": 100}, problem, 0)
    assert isinstance(fast, EarlyStoppedRegressor) and is_regressor(fast)
    fast.fit(X, y)
    slow.fit(X, y)
    # the searched 100 rounds are ignored: each learning rate finds its own count, a slower rate needs more
    assert fast.n_rounds_ < slow.n_rounds_ < fast.max_rounds
    assert fast.n_rounds_ != 100 and slow.n_rounds_ > 100
    X_test, y_test = _friedman(2000, seed=1)
    assert np.sqrt(np.mean((slow.predict(X_test) - y_test) ** 2)) < 1.6  # noise σ = 1


@pytest.mark.parametrize("model", ["lightgbm", "lightgbm_xt", "xgboost", "catboost"])
def test_a_fold_of_a_small_table_early_stops_instead_of_fitting_a_round_count_searched_blind(model: str) -> None:
    """A 5-fold search on a 2,000-row table trains on folds of 1,280 rows. From EARLY_STOPPING_FROM rows the
    booster holds out a tenth and finds its own count; 50 rounds at a rate of 0.05 (a count the search could
    have drawn) underfit, and the same booster made to fit them blind predicts worse. Just below the
    threshold it fits the searched rounds."""
    from automlops.tabular.early_stopping import EARLY_STOPPING_FROM

    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(1280)
    X_test, y_test = _friedman(2000, seed=1)
    params = {"learning_rate": 0.05, "n_estimators": 50}
    stopped = get_model(model).build(params, problem, 0).fit(X, y)
    blind = get_model(model).build(params, problem, 0).set_params(min_rows=len(y) + 1).fit(X, y)
    assert EARLY_STOPPING_FROM <= 1280
    assert 50 < stopped.n_rounds_ < stopped.max_rounds and blind.n_rounds_ == 50
    rmse = {name: float(np.sqrt(np.mean((m.predict(X_test) - y_test) ** 2))) for name, m in
            (("stopped", stopped), ("blind", blind))}
    assert rmse["stopped"] < 0.9 * rmse["blind"], rmse  # measured: 0.6-0.82 of it (noise σ = 1)
    below = get_model(model).build(params, problem, 0).fit(X[:EARLY_STOPPING_FROM - 1], y[:EARLY_STOPPING_FROM - 1])
    assert below.n_rounds_ == 50


@pytest.mark.parametrize("model", ["xgboost", "catboost"])
def test_category_positions_are_refused_by_a_booster_that_would_read_them_as_numbers(model: str) -> None:
    """Only LightGBM is told which columns hold category codes; the others would silently split the codes as
    numbers, so they refuse the positions with a message that names the library."""
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(300)
    booster = get_model(model).build({"n_estimators": 5}, problem, 0).set_params(categorical_features=[0])
    with pytest.raises(ValueError, match=f"categorical_features is for LightGBM; {model}"):
        booster.fit(X, y)


def test_small_data_uses_the_searched_rounds_and_classifiers_keep_their_classes() -> None:
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True).frame
    problem = Problem(TaskType.CLASSIFICATION, "target", "log_loss", "minimize", classes=(0, 1, 2))
    model = get_model("lightgbm").build({"n_estimators": 37, "learning_rate": 0.1}, problem, 0)
    assert isinstance(model, EarlyStoppedClassifier) and is_classifier(model)
    model.fit(iris.drop(columns="target"), iris["target"])
    assert model.n_rounds_ == 37 and list(model.classes_) == [0, 1, 2]
    assert model.predict_proba(iris.drop(columns="target")).shape == (150, 3)


@pytest.mark.parametrize("model", ["lightgbm", "lightgbm_xt", "xgboost", "catboost"])
def test_early_stopping_reads_any_labels_as_the_classifier_does(model: str) -> None:
    """The held-out rows that pick the round count carry the same labels as the training rows: text
    ("digit 3") or numbers that are not 0..k-1 (1..10) must stop at exactly the round that 0..9 stops
    at. (LightGBM 4.7 encodes the labels of ``y`` but not those of ``eval_y``: text failed every
    LightGBM trial of a text-labelled table, and 1..10 would be scored against the wrong classes.)"""
    from sklearn.datasets import load_digits

    from automlops.tabular.evaluate import boosting_rounds

    X, codes = load_digits(return_X_y=True)
    labellings = {"codes": codes, "text": np.array([f"digit {c}" for c in codes]), "shifted": codes + 1}
    rounds, accuracy = {}, {}
    for name, y in labellings.items():
        problem = Problem(TaskType.CLASSIFICATION, "y", "log_loss", "minimize", classes=tuple(np.unique(y)))
        booster = get_model(model).build({"learning_rate": 0.3}, problem, 0)  # a fast rate: fewer rounds to wait for
        booster.set_params(**{k: 1000 for k in booster.get_params() if k.endswith("min_rows")})  # early stopping on
        if model == "catboost":  # its 10-class rounds are slow and it keeps improving for ~2,500 of them
            booster.set_params(**{k: 5 for k in booster.get_params() if k.endswith("patience")})
        booster.fit(X[:1500], y[:1500])
        assert list(booster.classes_) == sorted(np.unique(y).tolist())
        rounds[name] = boosting_rounds(booster)
        accuracy[name] = float(np.mean(booster.predict(X[1500:]) == y[1500:]))
    assert rounds["text"] == rounds["shifted"] == rounds["codes"] < 10_000, rounds  # stopped early, same round
    assert len(set(accuracy.values())) == 1 and accuracy["codes"] > 0.85, accuracy  # the same model, and a good one


def test_xgboost_classifier_on_text_labels_with_early_stopping() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    y = np.where(X["a"] + X["b"] > 0, "yes", "no")
    problem = Problem(TaskType.CLASSIFICATION, "y", "roc_auc", "maximize", classes=("no", "yes"))
    model = clone(get_model("xgboost").build({"learning_rate": 0.1}, problem, 0)).fit(X, y)
    assert list(model.classes_) == ["no", "yes"]
    assert model.estimator_.n_rounds_ < 3000
    assert (model.predict(X) == y).mean() > 0.95


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
def test_a_fit_told_to_finish_by_a_deadline_keeps_the_rounds_it_has(model: str) -> None:
    """At a learning rate of 0.002 Friedman #1 needs far more than 4 s of rounds: told to finish by
    1.5 s, the fit wraps up on its own before the watchdog strikes at 4 s, keeps its best round so
    far, and is a usable model. (The watchdog is 2.5 s later, not at the wrap-up deadline itself:
    on a loaded 2-core machine one LightGBM round on two threads can stall for half a second.)"""
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(20_000)
    slow = get_model(model).build({"learning_rate": 0.002, "n_estimators": 100}, problem, 0)
    started = time.monotonic()
    with interrupt_at(started + 4.0), finish_by(started + 1.5):  # without the wrap-up: DeadlineExceeded
        slow.fit(X, y)
    assert time.monotonic() - started < 4.0
    # at least one round kept (on a loaded machine the wrap-up can come after the first; LightGBM's count was
    # read one too high until it was seen to be a count, not an index, which this bound used to absorb)
    assert slow.stopped_for_time_ and 0 < slow.n_rounds_ < slow.max_rounds
    X_test, y_test = _friedman(2000, seed=1)
    rmse = float(np.sqrt(np.mean((slow.predict(X_test) - y_test) ** 2)))
    assert rmse < float(np.std(y_test))  # the kept rounds learnt something (how much depends on the CPU's load)
    params = slow.estimator_.get_params()
    assert params.get("callbacks") is None  # nothing of the time limit travels with the saved model


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
def test_the_wrap_up_leaves_time_to_predict_with_every_round_kept(model: str) -> None:
    """Each round will cost a tree's prediction on the search's validation rows after the fit: the
    fit stops adding rounds while their prediction still fits before the deadline. At 0.1 s of
    prediction a round and 2 s left, at most 20 rounds are kept (without it: hundreds)."""
    import catboost as cb
    import lightgbm as lgb
    import xgboost as xgb

    from automlops.tabular.boosting_clock import catboost_time_limit, lightgbm_time_limit, xgboost_time_limit

    X, y = _friedman(20_000)
    stop_at = time.monotonic() + 2.0
    if model == "lightgbm":
        booster = lgb.LGBMRegressor(n_estimators=5000, learning_rate=0.002, verbose=-1, n_jobs=1)
        booster.fit(X, y, eval_set=[(X[:2000], y[:2000])], callbacks=[lightgbm_time_limit(stop_at, 0.1)])
        rounds = booster.booster_.current_iteration()
    elif model == "catboost":
        booster = cb.CatBoostRegressor(n_estimators=5000, learning_rate=0.002, thread_count=1, verbose=False,
                                       allow_writing_files=False)
        booster.fit(X, y, eval_set=(X[:2000], y[:2000]), callbacks=[catboost_time_limit(stop_at, 0.1)])
        rounds = booster.tree_count_
    else:
        booster = xgb.XGBRegressor(n_estimators=5000, learning_rate=0.002, n_jobs=1, tree_method="hist",
                                   callbacks=[xgboost_time_limit(stop_at, 0.1)])
        booster.fit(X, y, eval_set=[(X[:2000], y[:2000])], verbose=False)
        rounds = booster.get_booster().num_boosted_rounds()
    assert 1 <= rounds <= 20 and time.monotonic() < stop_at


def test_the_prediction_reserved_per_round_grows_with_rows_and_classes() -> None:
    from automlops.tabular.boosting_clock import predict_seconds_per_round

    base = predict_seconds_per_round(16_000, 1)
    assert base == pytest.approx(4e-4)  # a quarter of the rows, 1e-7 s a tree and row: 7,000 rounds = 2.8 s
    assert predict_seconds_per_round(32_000, 1) == pytest.approx(2 * base)
    assert predict_seconds_per_round(16_000, 2) == base  # two classes: one tree a round
    assert predict_seconds_per_round(16_000, 12) == pytest.approx(12 * base)  # one tree per class


def test_without_a_wrap_up_deadline_the_fit_runs_to_its_own_stop() -> None:
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(6000)
    fast = get_model("lightgbm").build({"learning_rate": 0.3}, problem, 0)
    with interrupt_at(time.monotonic() + 600):  # a far hard deadline alone does not ask for a wrap-up
        fast.fit(X, y)
    assert not fast.stopped_for_time_ and fast.n_rounds_ < fast.max_rounds


def test_the_refit_on_all_rows_learns_from_every_row_for_the_rounds_the_scored_model_kept() -> None:
    """The scored model's early stopping measured the rounds; the refit on all rows boosts that many
    (1.25x for a regression, 1x for a classifier) on every row instead of holding 10 % out to measure
    them again (and at a low learning rate possibly running to the 10,000-round ceiling)."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from automlops.tabular.final_fit import _with_refit_rounds

    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(6000)
    recipe = Pipeline([("scale", StandardScaler()),  # no bagging: the first tree's root counts the rows it saw
                       ("model", get_model("lightgbm").build({"learning_rate": 0.3, "subsample": 1.0}, problem, 0))])
    scored = clone(recipe).fit(X[:4800], y[:4800])
    rounds = scored.named_steps["model"].n_rounds_
    refit = _with_refit_rounds(clone(recipe), scored)
    assert refit.named_steps["model"].refit_rounds == round(1.25 * rounds)
    refit.fit(X, y)
    model = refit.named_steps["model"]
    assert model.n_rounds_ == round(1.25 * rounds) == model.estimator_.booster_.current_iteration()
    root = model.estimator_.booster_.dump_model()["tree_info"][0]["tree_structure"]
    assert root["internal_count"] == len(y)  # every row learned, none held out
    assert _with_refit_rounds(clone(recipe), object()).named_steps["model"].refit_rounds is None  # nothing to go by
    classes = Problem(TaskType.CLASSIFICATION, "y", "log_loss", "minimize", classes=(0, 1))
    classifier = Pipeline([("scale", StandardScaler()),
                           ("model", get_model("lightgbm").build({"learning_rate": 0.3}, classes, 0))])
    scored_classifier = clone(classifier).fit(X[:4800], (y[:4800] > np.median(y)).astype(int))
    assert (_with_refit_rounds(clone(classifier), scored_classifier).named_steps["model"].refit_rounds
            == scored_classifier.named_steps["model"].n_rounds_)


@pytest.mark.parametrize("model", ["lightgbm", "xgboost", "catboost"])
def test_a_refit_of_known_rounds_told_to_finish_by_a_deadline_keeps_every_round_it_fitted(model: str) -> None:
    """With no held-out rows there is no "best round" to go back to: the wrap-up keeps the latest. (A
    LightGBM stop that named round 0 as the best would leave a model of one tree.) The deadline
    leaves room for a loaded machine: in a parallel run, 1.5 s once ended after the first round. The
    learning rate is low enough that 100,000 rounds never finish in 3 s, and high enough that the
    ~15 rounds a starved worker once fitted at 0.002 (RMSE 4.86, std 5.01) still clear the bound
    (at 0.01, 15 rounds leave an RMSE of ~4.4; an idle machine fits ~300-900 rounds)."""
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(20_000)
    slow = get_model(model).build({"learning_rate": 0.01}, problem, 0).set_params(refit_rounds=100_000)
    started = time.monotonic()
    with interrupt_at(started + 8.0), finish_by(started + 3.0):
        slow.fit(X, y)
    assert slow.stopped_for_time_ and 10 < slow.n_rounds_ < 100_000
    assert slow.n_rounds_ == _trees_fitted(slow.estimator_, model)  # every round it fitted, none dropped
    X_test, y_test = _friedman(2000, seed=1)
    rmse = float(np.sqrt(np.mean((slow.predict(X_test) - y_test) ** 2)))
    assert rmse < float(np.std(y_test)) - 0.2  # the kept rounds learnt something


@pytest.mark.parametrize("model", ["lightgbm", "xgboost"])
def test_the_saved_model_keeps_the_early_stopping_curve_as_one_array_per_metric(model: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The per-round validation scores stay with the model, but as one array: kept as a list of
    NumPy scalars, skops wrote each round as its own file (6,000 rounds: 4 s to save, 10 s to load)."""
    import zipfile

    import skops.io

    from automlops.mlops.skops_snapshot import _dump_to_file

    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(6000)
    fitted = get_model(model).build({"learning_rate": 0.05}, problem, 0).fit(X, y)
    assert fitted.n_rounds_ > 200
    curves = fitted.estimator_.evals_result_
    (curve,) = [values for metrics in curves.values() for values in metrics.values()]
    assert isinstance(curve, np.ndarray) and len(curve) >= fitted.n_rounds_
    path = tmp_path / "model.skops"
    _dump_to_file(fitted, path)
    assert len(zipfile.ZipFile(path).namelist()) < 20  # not one file per round
    loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.predict(X[:100]), fitted.predict(X[:100]))


def test_large_lightgbm_fits_use_the_idle_cores_and_predict_on_one_thread(machine_load) -> None:  # type: ignore[no-untyped-def]
    """Trials run one at a time, so on an idle machine a LightGBM fit on 10k rows or more takes every core
    (up to 4); smaller fits and XGBoost keep one thread, and the fitted model predicts on one thread again."""
    from automlops.tabular.early_stopping import LIGHTGBM_THREADS_FROM, _threads_for

    machine_load(0.0)

    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    lightgbm = get_model("lightgbm").build({}, problem, 0).estimator
    xgboost = get_model("xgboost").build({}, problem, 0).estimator
    cores = len(os.sched_getaffinity(0))
    assert _threads_for(lightgbm, LIGHTGBM_THREADS_FROM) == (min(cores, 4) if cores > 1 else None)
    assert _threads_for(lightgbm, LIGHTGBM_THREADS_FROM - 1) is None
    assert _threads_for(xgboost, 50_000) is None
    X, y = _friedman(13_000)
    fitted = get_model("lightgbm").build({"learning_rate": 0.3}, problem, 0).fit(X, y)
    assert fitted.estimator_.booster_.params["num_threads"] == (min(cores, 4) if cores > 1 else 1)  # trained so
    assert fitted.estimator_.get_params()["n_jobs"] == 1


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: a fit never takes more than one thread")
def test_on_a_machine_busy_with_other_programs_large_lightgbm_fits_stay_on_one_thread(machine_load) -> None:  # type: ignore[no-untyped-def]
    """One other program busy on two cores: LightGBM on two threads was ~10x slower than on one (its threads
    spin at every round's barrier for one that is not running), so the row threshold alone no longer decides:
    no idle core, one thread. CatBoost's threads were never slower (benchmarks/threads_under_load.py): kept."""
    from automlops.tabular.early_stopping import LIGHTGBM_THREADS_FROM, _threads_for

    cores = len(os.sched_getaffinity(0))
    machine_load(float(cores))  # every core busy with other work
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    assert _threads_for(get_model("lightgbm").build({}, problem, 0).estimator, 5 * LIGHTGBM_THREADS_FROM) is None
    assert _threads_for(get_model("catboost").build({}, problem, 0).estimator, 50_000) == min(cores, 4)
    X, y = _friedman(13_000)
    fitted = get_model("lightgbm").build({"learning_rate": 0.3}, problem, 0).fit(X, y)
    assert fitted.estimator_.booster_.params["num_threads"] == 1


def test_catboost_trains_on_every_core_at_any_size_and_saves_as_one_blob(tmp_path, machine_load) -> None:  # type: ignore[no-untyped-def]
    """CatBoost's rounds are heavier than LightGBM's: two cores fit it faster even on 300 rows, so
    every fit takes the idle core (the small-data path of searched rounds too); the fitted model is
    one serialised blob inside the skops file (not a file per tree), its type is on the model
    store's allow-list, and it loads back to the same predictions."""
    import zipfile

    import skops.io

    from automlops.mlops.formats import outside_allow_list
    from automlops.mlops.skops_snapshot import _dump_to_file
    from automlops.tabular.early_stopping import _threads_for

    machine_load(0.0)
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    catboost = get_model("catboost").build({}, problem, 0).estimator
    cores = len(os.sched_getaffinity(0))
    expected = min(cores, 4) if cores > 1 else None
    assert _threads_for(catboost, 50) == _threads_for(catboost, 50_000) == expected
    X_small, y_small = _friedman(300)
    small = get_model("catboost").build({"n_estimators": 20}, problem, 0).fit(X_small, y_small)
    assert small.n_rounds_ == small.estimator_.tree_count_ == 20  # the searched rounds, no early stopping
    assert small.estimator_.get_params()["thread_count"] == (expected or 1)
    X, y = _friedman(6000)
    fitted = get_model("catboost").build({"learning_rate": 0.1}, problem, 0).fit(X, y)
    assert fitted.estimator_.get_params()["thread_count"] == (min(cores, 4) if cores > 1 else 1)
    assert fitted.n_rounds_ == fitted.estimator_.tree_count_ < fitted.max_rounds  # early-stopped, best round kept
    assert fitted.estimator_.get_all_params()["border_count"] == 254  # 6,000 rows: CatBoost's full 254 borders
    path = tmp_path / "model.skops"
    _dump_to_file(fitted, path)
    assert len(zipfile.ZipFile(path).namelist()) < 20
    untrusted = skops.io.get_untrusted_types(file=path)
    assert "catboost.core.CatBoostRegressor" in untrusted and outside_allow_list(untrusted) == []
    loaded = skops.io.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X[:100]), fitted.predict(X[:100]))


@pytest.mark.parametrize("rows", [800, 6000])  # the small-data path (searched rounds) and early stopping
def test_a_catboost_fit_past_its_deadline_stops_there_without_a_traceback(rows: int, capfd: pytest.CaptureFixture[str]) -> None:
    """CatBoost trains in C++: the watchdog's exception could only land in its Python callback, where
    CatBoost prints a traceback to stderr (which a CLI user would see) before passing it on. The fit
    stops itself just before the watchdog strikes instead, and the deadline is raised from Python."""
    from automlops.search.deadline import DeadlineExceeded

    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    X, y = _friedman(rows)
    slow = get_model("catboost").build({"learning_rate": 0.0005, "n_estimators": 100_000}, problem, 0)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded), interrupt_at(started + 1.0):
        slow.fit(X, y)
    assert time.monotonic() - started < 1.5  # not the minutes 100,000 rounds would take
    assert capfd.readouterr().err == ""


def test_catboost_cuts_small_tables_into_fewer_bins() -> None:
    """Each CatBoost round scores every bin border of every feature, 254 by default whatever the rows:
    a small table gets one border per ~16 rows (at least 64), a large one all 254."""
    from sklearn.datasets import load_breast_cancer

    from automlops.tabular.early_stopping import catboost_borders

    assert [catboost_borders(n) for n in (100, 1024, 2000, 4064, 50_000)] == [64, 64, 125, 254, 254]
    X, y = load_breast_cancer(return_X_y=True)
    problem = Problem(TaskType.CLASSIFICATION, "y", "roc_auc", "maximize", classes=(0, 1))
    fitted = get_model("catboost").build({"n_estimators": 50}, problem, 0).fit(X, y)
    assert fitted.estimator_.get_all_params()["border_count"] == 64
    assert fitted.n_rounds_ == 50 and (fitted.predict(X) == y).mean() > 0.95


@pytest.mark.parametrize("dataset", ["diabetes", "breast_cancer", "iris"])
def test_a_large_lightgbm_model_predicts_a_block_of_trees_at_a_time_with_the_same_answers(dataset: str) -> None:
    """Past a few thousand trees LightGBM's row-by-row prediction falls out of the CPU's cache; the
    wrapper then sums the raw scores of blocks of trees and applies the link once (identity,
    sigmoid, softmax): the same predictions and probabilities as LightGBM's own, regression,
    binary and multi-class alike. Small models are left to LightGBM."""
    import lightgbm as lgb
    from sklearn import datasets

    from automlops.tabular.early_stopping import LIGHTGBM_PREDICT_BLOCK, _lightgbm_in_blocks

    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True, as_frame=True)
    rounds = 2 * LIGHTGBM_PREDICT_BLOCK + 37  # blocks, and a last block that is not full
    cls = lgb.LGBMRegressor if dataset == "diabetes" else lgb.LGBMClassifier
    own = cls(n_estimators=rounds, learning_rate=0.01, num_leaves=7, min_child_samples=5, verbose=-1).fit(X, y)
    wrapper = (EarlyStoppedRegressor if dataset == "diabetes" else EarlyStoppedClassifier)(own)
    wrapper.estimator_ = own
    if dataset == "diabetes":
        np.testing.assert_allclose(wrapper.predict(X), own.predict(X), rtol=1e-9)
    else:
        wrapper.classes_ = own.classes_
        np.testing.assert_allclose(wrapper.predict_proba(X), own.predict_proba(X), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(wrapper.predict(X), own.predict(X))
    assert _lightgbm_in_blocks(own, X) is not None
    assert _lightgbm_in_blocks(own, X.iloc[:5]) is None  # the API's few rows: one pass is faster
    small = cls(n_estimators=50, verbose=-1).fit(X, y)
    assert _lightgbm_in_blocks(small, X) is None  # one pass is as fast


def test_a_model_saved_when_the_wrapper_lived_in_the_zoo_still_loads_and_predicts_the_same() -> None:
    """The early-stopped boosting classes moved from ``tabular.zoo`` to ``tabular.early_stopping``; a
    file saved before names ``automlops.tabular.zoo.EarlyStoppedRegressor``, which the zoo re-exports.
    The old file is this model's own save with that one module name written back."""
    import io
    import zipfile

    import skops.io
    from sklearn.datasets import load_diabetes

    from automlops.mlops.formats import SkopsFormat

    X, y = load_diabetes(return_X_y=True)
    problem = Problem(TaskType.REGRESSION, "y", "rmse", "minimize")
    fitted = get_model("lightgbm").build({"learning_rate": 0.1}, problem, 0).set_params(min_rows=100).fit(X, y)
    saved = zipfile.ZipFile(io.BytesIO(skops.io.dumps(fitted)))
    old, new_home = io.BytesIO(), '"__module__": "automlops.tabular.early_stopping"'
    with zipfile.ZipFile(old, "w") as rewritten:
        for name in saved.namelist():
            data = saved.read(name)
            if name == "schema.json":
                assert new_home in data.decode()
                data = data.decode().replace(new_home, '"__module__": "automlops.tabular.zoo"').encode()
            rewritten.writestr(name, data)
    trusted = SkopsFormat.trusted_types(old.getvalue())
    assert "automlops.tabular.zoo.EarlyStoppedRegressor" in trusted
    loaded = skops.io.loads(old.getvalue(), trusted=trusted)
    assert type(loaded) is EarlyStoppedRegressor
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
