"""A real AutoML run logged to a real MLflow store (SQLite in a temp home), then saved and reloaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automlops.config import Settings
from automlops.demo import DEMO_DATASETS, seed_demo
from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from automlops.mlops.tracking import PARENT_TAG, Tracker
from automlops.tabular import AutoMLRunner
from automlops.tabular.persist import save_model


@pytest.fixture
def tracked(settings: Settings, empty_db: Path) -> tuple[Settings, Tracker, AutoMLRunner, dict, pd.DataFrame]:
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    lake = DataLake(settings=settings)
    version = seed_demo(lake, ["penguins"])[0]
    frame = lake.load("penguins")
    dataset = {"name": version.dataset, "version": version.version, "sha256": version.sha256,
               "rows": version.rows, "columns": dict(version.dtypes), "source": str(version.full_path)}
    tracker = Tracker(settings=settings)
    runner = AutoMLRunner(DEMO_DATASETS["penguins"].target, preset="fast", models=["logistic", "decision_tree"],
                          n_trials=5, tracker=tracker, dataset=dataset, run_name="penguins-test")
    runner.fit(frame)
    return settings, tracker, runner, dataset, frame


def test_parent_run_with_params_metrics_dataset_and_artifacts(tracked) -> None:  # type: ignore[no-untyped-def]
    _, tracker, runner, dataset, _ = tracked
    assert runner.run_id_
    run = tracker.get_run(runner.run_id_)
    assert run.status == "FINISHED" and run.run_name == "penguins-test" and run.parent_run_id is None
    assert run.params["task"] == "classification" and run.params["metric"] == "log_loss"
    assert run.params["search"] == "tpe" and run.params["n_trials"] == "5"
    assert run.params["models"] == "logistic,decision_tree"
    assert run.metrics["val_log_loss"] == pytest.approx(runner.val_score_)
    assert run.metrics["test_log_loss"] == pytest.approx(runner.test_score_)
    assert run.metrics["test_accuracy"] == pytest.approx(runner.test_metrics_["accuracy"])
    assert run.tags["best_model"] == runner.best_model_name_
    assert "leaderboard.csv" in run.artifacts and "decisions.txt" in run.artifacts
    assert "model/MLmodel" in run.artifacts

    inputs = tracker.client.get_run(runner.run_id_).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    assert logged.name == f"penguins@v{dataset['version']}"
    assert json.loads(logged.profile)["sha256"] == dataset["sha256"]


def test_leaderboard_artifact_matches(tracked) -> None:  # type: ignore[no-untyped-def]
    settings, tracker, runner, _, _ = tracked
    local = tracker.client.download_artifacts(runner.run_id_, "leaderboard.csv", str(settings.home))
    logged = pd.read_csv(local)
    assert list(logged["model"]) == list(runner.leaderboard_["model"])
    assert np.allclose(logged["score"], runner.leaderboard_["score"])


def test_one_nested_run_per_trial(tracked) -> None:  # type: ignore[no-untyped-def]
    _, tracker, runner, _, _ = tracked
    children = tracker.search_runs(f"tags.`{PARENT_TAG}` = '{runner.run_id_}'")
    assert len(children) == len(runner.study_.trials) == 5
    assert set(children["run_name"]) == {f"trial-{i}" for i in range(5)}
    assert set(children["params.model"]) == {"logistic", "decision_tree"}
    assert children["metrics.val_log_loss"].notna().all()
    assert (children["status"] == "FINISHED").all()


def test_logged_model_predicts_like_the_runner(tracked) -> None:  # type: ignore[no-untyped-def]
    _, tracker, runner, _, frame = tracked
    model = tracker.load_sklearn_model(f"runs:/{runner.run_id_}/model")
    X = frame[runner.plan_.input_columns].head(20)
    assert list(model.predict(X)) == list(runner.best_estimator_.predict(X))


def test_save_model_meta_and_round_trip(tracked) -> None:  # type: ignore[no-untyped-def]
    settings, _, runner, dataset, frame = tracked
    store = ModelStore(settings=settings)
    stored = save_model(runner.result_, store, "penguins", dataset=dataset)
    assert stored.version == 1 and (stored.path / "model.skops").is_file()  # stored as data, not a pickle
    assert stored.meta["model_format"] == "skops" and stored.meta["kind"] == "tabular"
    meta = json.loads((stored.path / "meta.json").read_text())
    assert meta["run_id"] == runner.run_id_
    assert meta["dataset"]["sha256"] == dataset["sha256"] and meta["dataset"]["version"] == dataset["version"]
    assert meta["task"] == "classification" and meta["target"] == "species"
    assert meta["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    features = {f["name"]: f for f in meta["feature_schema"]["features"]}
    assert features["island"]["kind"] == "categorical"
    assert features["island"]["categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert features["bill_length_mm"]["dtype"] == "float64"
    assert meta["input_columns"] == runner.plan_.input_columns
    assert meta["test_score"] == pytest.approx(runner.test_score_)
    assert meta["model_sha256"] and "sklearn" in meta["libraries"]

    loaded = store.load("penguins", "latest")
    X = frame[meta["input_columns"]]
    assert list(loaded.model.predict(X)) == list(runner.best_estimator_.predict(X))
    assert np.allclose(loaded.model.predict_proba(X), runner.best_estimator_.predict_proba(X))
    assert save_model(runner.result_, store, "penguins", dataset=dataset).version == 2


def test_failed_run_is_marked_failed(settings: Settings, empty_db: Path) -> None:
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    tracker = Tracker(settings=settings)
    frame = DEMO_DATASETS["iris"].loader()
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=2, tracker=tracker,
                          callbacks=[lambda e: (_ for _ in ()).throw(RuntimeError("boom"))
                                     if e.kind == "trial" else None])
    with pytest.raises(RuntimeError, match="boom"):
        runner.fit(frame)
    runs = tracker.search_runs()
    parents = runs[runs["parent_run_id"].isna()]
    assert len(parents) == 1 and parents.iloc[0]["status"] == "FAILED"


def test_a_broken_tracking_store_does_not_lose_the_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sklearn.datasets import load_iris

    from automlops.config import Settings
    from automlops.mlops.tracking import Tracker
    from automlops.tabular import AutoMLRunner

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    tracker = Tracker(f"sqlite:///{blocker}/mlflow.db", "x", settings=Settings(studio_home=tmp_path))
    df = load_iris(as_frame=True).frame
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=2, tracker=tracker).fit(df)
    assert runner.run_id_ is None and runner.tracking_errors_
    assert any(d.topic == "tracking" and "still trained" in d.message for d in runner.decisions_)
    assert runner.best_estimator_.predict(df.drop(columns="target")).shape == (len(df),)
