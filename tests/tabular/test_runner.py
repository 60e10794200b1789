"""AutoMLRunner end to end on real datasets, with tiny budgets and light models."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.ensemble import (
    RandomForestClassifier,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import Pipeline

from automlops.core.results import ProgressEvent
from automlops.demo import load_demo
from automlops.errors import AutoMLOpsError, ConfigError, DataError
from automlops.tabular import AutoMLRunner, EnsembleConfig
from automlops.tabular.leaderboard import LEADERBOARD_COLUMNS

LIGHT_CLS = ["logistic", "knn", "decision_tree"]
LIGHT_REG = ["ridge", "knn", "decision_tree"]


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_demo("iris")  # text labels





@pytest.fixture(scope="module")
def iris_run(iris: pd.DataFrame) -> AutoMLRunner:
    events: list[ProgressEvent] = []
    runner = AutoMLRunner("target", preset="fast", models=LIGHT_CLS, n_trials=6, callbacks=[events.append])
    assert runner.fit(iris) is runner  # scikit-learn contract
    runner.events = events  # type: ignore[attr-defined]
    return runner


def test_init_only_stores_arguments() -> None:
    runner = AutoMLRunner("y", preset="no-such-preset", search="nope", n_trials=-3)
    assert runner.preset == "no-such-preset" and runner.n_trials == -3
    assert not hasattr(runner, "best_estimator_")


def test_leaderboard(iris_run: AutoMLRunner) -> None:
    lb = iris_run.leaderboard_
    assert list(lb.columns) == LEADERBOARD_COLUMNS
    assert set(lb["model"]) == set(LIGHT_CLS)
    assert list(lb["rank"]) == list(range(1, len(lb) + 1))
    scores = lb["score"].to_numpy()
    assert np.all(np.diff(scores) >= 0)  # log-loss: lower is better, best first
    assert lb["trials"].sum() == len(iris_run.study_.trials) == 6
    assert (lb["fit_seconds"] > 0).all() and lb["params"].map(lambda p: isinstance(p, dict)).all()
    assert iris_run.best_model_name_ == lb.iloc[0]["model"]
    assert iris_run.val_score_ == pytest.approx(lb.iloc[0]["score"])


def test_decisions_explain_every_choice(iris_run: AutoMLRunner) -> None:
    topics = {d.topic for d in iris_run.decisions_}
    assert {"task", "validation", "models", "search", "result"} <= topics
    text = "\n".join(map(str, iris_run.decisions_))
    assert "classification" in text and "log_loss" in text
    assert iris_run.validation_.reason in text and "test set" in text
    assert all(m in text for m in LIGHT_CLS)
    assert "chosen by the user" in text  # the models were


@pytest.mark.parametrize("preset", ["fast", "medium"])
def test_validation_decision_does_not_credit_the_user(iris: pd.DataFrame, preset: str) -> None:
    runner = AutoMLRunner("target", preset=preset, models=["logistic"], n_trials=1).fit(iris)
    message = runner.validation_.reason
    assert any(d.message == message for d in runner.decisions_ if d.topic == "validation")
    assert "chosen by the user" not in message, f"the user chose no validation: {message!r}"
    chosen = AutoMLRunner("target", preset=preset, models=["logistic"], n_trials=1, validation="kfold").fit(iris)
    assert "chosen by the user" in chosen.validation_.reason


def test_test_metrics_and_summary(iris_run: AutoMLRunner, iris: pd.DataFrame) -> None:
    metrics = iris_run.test_metrics_
    assert {"accuracy", "f1_macro", "log_loss", "roc_auc"} <= set(metrics)
    assert iris_run.test_score_ == metrics["log_loss"]
    assert metrics["accuracy"] > 0.85
    assert iris_run.n_test_rows_ == 30
    summary = iris_run.summary()
    assert summary["best_model"] == iris_run.best_model_name_ and summary["n_trials"] == 6
    assert summary["run_id"] is None  # no tracker given
    pred = iris_run.predict(iris.drop(columns="target"))
    assert set(pred) <= {"setosa", "versicolor", "virginica"}
    assert accuracy_score(iris["target"], pred) > 0.9
    assert isinstance(iris_run.best_estimator_, Pipeline)


def test_progress_callbacks(iris_run: AutoMLRunner) -> None:
    events = iris_run.events  # type: ignore[attr-defined]
    trials = [e for e in events if e.kind == "trial"]
    assert [e.trial for e in trials] == list(range(1, 7))
    assert all(e.n_trials == 6 and e.state == "COMPLETE" for e in trials)
    assert trials[-1].best_model is not None and trials[-1].best_score is not None
    assert any(e.kind == "stage" for e in events)
    assert all(b.elapsed >= a.elapsed for a, b in zip(events, events[1:], strict=False))


def test_time_budget_is_respected(cancer: pd.DataFrame) -> None:
    budget = 8.0
    start = time.monotonic()
    runner = AutoMLRunner("target", preset="medium", time_budget=budget).fit(cancer)
    wall = time.monotonic() - start
    assert wall <= budget * 1.1 + 0.5, f"fit took {wall:.1f} s for an {budget:g} s budget"
    assert runner.leaderboard_["score"].notna().sum() >= 1
    assert any(d.topic == "budget" for d in runner.decisions_)
    assert runner.wall_seconds_ <= wall


def test_manual_models(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", models=["knn", "decision_tree"], n_trials=4,
                          validation="holdout").fit(cancer)
    assert set(runner.leaderboard_["model"]) == {"knn", "decision_tree"}
    assert {t.params["model"] for t in runner.study_.trials} <= {"knn", "decision_tree"}


def test_single_model_search(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=4,
                          validation="holdout").fit(cancer)
    assert list(runner.leaderboard_["model"]) == ["logistic"]
    assert runner.leaderboard_.iloc[0]["trials"] == 4


def test_user_metric(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", models=LIGHT_CLS, n_trials=4, metric="balanced_accuracy",
                          validation="holdout")
    runner.fit(cancer)
    assert runner.problem_.metric == "balanced_accuracy" and runner.problem_.direction == "maximize"
    scores = runner.leaderboard_["score"].to_numpy()
    assert np.all((0.5 < scores) & (scores <= 1)) and np.all(np.diff(scores) <= 0)  # best (highest) first
    assert runner.test_score_ == runner.test_metrics_["balanced_accuracy"]


def test_classification_with_text_labels_and_missing_values() -> None:
    penguins = load_demo("penguins")
    assert penguins.drop(columns="species").isna().any().any()
    runner = AutoMLRunner("species", preset="fast", models=["logistic", "decision_tree"], n_trials=4).fit(penguins)
    assert runner.problem_.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert runner.test_metrics_["accuracy"] > 0.9
    gappy = penguins[penguins.isna().any(axis=1)].drop(columns="species")
    assert len(gappy) >= 5
    assert set(runner.best_estimator_.predict(gappy)) <= set(runner.problem_.classes)
    assert np.allclose(runner.best_estimator_.predict_proba(gappy).sum(axis=1), 1.0)


def test_regression_with_a_date_column() -> None:
    cars = load_demo("cars")
    runner = AutoMLRunner("Miles_per_Gallon", preset="fast", models=LIGHT_REG, n_trials=4).fit(cars)
    assert runner.problem_.task.value == "regression" and runner.problem_.metric == "rmse"
    assert "Year" in runner.plan_.columns("datetime")
    assert runner.test_metrics_["r2"] > 0.6
    assert runner.test_metrics_["rmse"] < cars["Miles_per_Gallon"].std()
    assert np.all(np.diff(runner.leaderboard_["score"].to_numpy()) >= 0)  # lower RMSE first
    pred = runner.predict(cars.drop(columns="Miles_per_Gallon").head(20))
    assert r2_score(cars["Miles_per_Gallon"].head(20), pred) > 0.3


def test_missing_target_rows_are_dropped_and_said(cancer: pd.DataFrame) -> None:
    frame = cancer.astype({"target": float})
    frame.loc[frame.index[:7], "target"] = np.nan
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1, validation="holdout").fit(frame)
    assert any("dropped 7 rows" in d.message for d in runner.decisions_)


# --------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(target="diagnosis"), DataError, "'diagnosis' is not in the data"),
    (dict(target="target", models=["gpt"]), ConfigError, "unknown model 'gpt'"),
    (dict(target="target", models=["ridge"]), ConfigError, "cannot do classification"),
    (dict(target="target", preset="turbo"), ConfigError, "unknown preset 'turbo'"),
    (dict(target="target", search="bayes"), ConfigError, "unknown search strategy 'bayes'"),
    (dict(target="target", validation="loo"), ConfigError, "unknown validation 'loo'"),
    (dict(target="target", ensemble="bagging"), ConfigError, "unknown ensemble 'bagging'"),
    (dict(target="target", metric="rmse"), ConfigError, "does not apply to classification"),
    (dict(target="target", n_trials=0), ConfigError, "at least 1"),
    (dict(target="target", time_budget=-5), ConfigError, "positive"),
    (dict(target="target", task="clustering"), ConfigError, "own engine|does not use a target"),
])
def test_bad_configuration(cancer: pd.DataFrame, kwargs: dict, error: type, message: str) -> None:
    target = kwargs.pop("target")
    with pytest.raises(error, match=message) as info:
        AutoMLRunner(target, preset=kwargs.pop("preset", "fast"), n_trials=kwargs.pop("n_trials", 2),
                     **kwargs).fit(cancer)
    assert isinstance(info.value, AutoMLOpsError)
    assert "\n" not in str(info.value)


def test_single_class_target(cancer: pd.DataFrame) -> None:
    one = cancer[cancer["target"] == 1]
    with pytest.raises(DataError, match="single value"):
        AutoMLRunner("target", preset="fast", n_trials=2).fit(one)


def test_empty_frame() -> None:
    with pytest.raises(DataError, match="empty"):
        AutoMLRunner("target", preset="fast", n_trials=2).fit(pd.DataFrame())


def test_hard_voting_needs_a_label_metric(cancer: pd.DataFrame) -> None:
    config = EnsembleConfig(kind="voting", voting="hard")
    with pytest.raises(ConfigError, match="hard voting"):
        AutoMLRunner("target", preset="fast", models=LIGHT_CLS, n_trials=3, ensemble=config).fit(cancer)


# --------------------------------------------------------------------- ensembles

def _member_scores(runner: AutoMLRunner) -> pd.Series:
    lb = runner.leaderboard_
    return lb[~lb["model"].str.contains(r"\(")].set_index("model")["score"]


def _ensemble_row(runner: AutoMLRunner, kind: str) -> pd.Series:
    rows = runner.leaderboard_[runner.leaderboard_["model"].str.startswith(f"{kind}(")]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize(("loader", "higher_is_better"), [(load_wine, False), (load_breast_cancer, True)])
def test_soft_voting_beats_its_members_on_average(loader, higher_is_better: bool) -> None:  # type: ignore[no-untyped-def]
    frame = loader(as_frame=True).frame
    runner = AutoMLRunner("target", preset="fast", validation="stratified", models=LIGHT_CLS, n_trials=3,
                          ensemble="voting").fit(frame)
    est = runner.best_estimator_
    assert isinstance(est, VotingClassifier) and est.voting == "soft"
    assert [name for name, _ in est.estimators] == list(_member_scores(runner).index)
    row = _ensemble_row(runner, "voting")
    members = _member_scores(runner)
    assert len(members) == 3
    # averaging probabilities: never worse than the members' mean score (log-loss / ROC-AUC here)
    if higher_is_better:
        assert row["score"] >= members.mean()
    else:
        assert row["score"] <= members.mean()
    assert row["score"] != members.max() and row["score"] != members.min()  # a real blend, not a copy
    assert runner.best_model_name_ == row["model"] and runner.val_score_ == row["score"]
    assert any(d.topic == "ensemble" for d in runner.decisions_)
    assert np.allclose(est.predict_proba(frame.drop(columns="target").head(10)).sum(axis=1), 1)


def test_hard_voting_with_weights(cancer: pd.DataFrame) -> None:
    config = EnsembleConfig(kind="voting", voting="hard", weights=(3.0, 1.0, 1.0), members=tuple(LIGHT_CLS))
    runner = AutoMLRunner("target", preset="fast", validation="stratified", models=LIGHT_CLS, n_trials=3,
                          metric="accuracy", ensemble=config).fit(cancer)
    est = runner.best_estimator_
    assert isinstance(est, VotingClassifier) and est.voting == "hard" and list(est.weights) == [3.0, 1.0, 1.0]
    assert [n for n, _ in est.estimators] == LIGHT_CLS
    row = _ensemble_row(runner, "voting")
    assert 0.85 < row["score"] <= 1.0
    assert runner.test_metrics_["accuracy"] > 0.85 and "roc_auc" not in runner.test_metrics_


def test_stacking_with_user_meta_model(wine: pd.DataFrame) -> None:
    config = EnsembleConfig(kind="stacking", meta_model="random_forest")
    runner = AutoMLRunner("target", preset="fast", validation="stratified", models=LIGHT_CLS, n_trials=3,
                          ensemble=config).fit(wine)
    est = runner.best_estimator_
    assert isinstance(est, StackingClassifier) and isinstance(est.final_estimator_, RandomForestClassifier)
    row = _ensemble_row(runner, "stacking")
    assert row["params"]["meta_model"] == "random_forest"
    assert row["score"] < _member_scores(runner).max()  # better than the worst member (log-loss)
    assert runner.test_metrics_["accuracy"] > 0.85


def test_stacking_default_meta_model(wine: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", validation="stratified", models=LIGHT_CLS, n_trials=3,
                          ensemble="stacking").fit(wine)
    est = runner.best_estimator_
    assert isinstance(est, StackingClassifier) and type(est.final_estimator_).__name__ == "LogisticRegression"
    assert _ensemble_row(runner, "stacking")["score"] <= _member_scores(runner).mean()  # log-loss


@pytest.mark.parametrize(("kind", "cls"), [("voting", VotingRegressor), ("stacking", StackingRegressor)])
def test_regression_ensembles(diabetes: pd.DataFrame, kind: str, cls: type) -> None:
    runner = AutoMLRunner("target", preset="fast", validation="kfold", models=LIGHT_REG, n_trials=3,
                          ensemble=kind).fit(diabetes)
    assert isinstance(runner.best_estimator_, cls)
    row = _ensemble_row(runner, kind)
    assert row["score"] <= _member_scores(runner).mean()  # RMSE
    assert np.isfinite(runner.test_metrics_["rmse"])


def test_ensemble_member_without_a_trial_is_refused(cancer: pd.DataFrame) -> None:
    config = EnsembleConfig(kind="voting", members=("logistic", "svm"))
    with pytest.raises(ConfigError, match="svm"):
        AutoMLRunner("target", preset="fast", models=["logistic", "knn"], n_trials=2, ensemble=config).fit(cancer)


def test_bad_ensemble_weights(cancer: pd.DataFrame) -> None:
    config = EnsembleConfig(kind="voting", weights=(1.0,), members=("logistic", "knn"))
    with pytest.raises(ConfigError, match="1 weights given for 2"):
        AutoMLRunner("target", preset="fast", models=["logistic", "knn"], n_trials=2, ensemble=config).fit(cancer)


def test_iris_numeric_labels_roundtrip() -> None:
    frame = load_iris(as_frame=True).frame
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1, validation="holdout").fit(frame)
    assert runner.problem_.classes == (0, 1, 2)
    assert set(runner.predict(frame.drop(columns="target"))) <= {0, 1, 2}
