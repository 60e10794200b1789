"""Retraining a saved model on another lake version: same recipe, parent recorded, a new MLflow run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from automlops.config import Settings
from automlops.errors import ConfigError, DataError
from automlops.mlops.store import LoadedModel, ModelStore
from automlops.mlops.tracking import Tracker
from automlops.tabular.retrain import retrain_fit, retrain_saved
from tests.sources_kit import TARGET, iris_lake, newer_iris, studio_model, tree


@pytest.fixture
def lab(settings: Settings, empty_db: Path):  # type: ignore[no-untyped-def]
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    lake, first = iris_lake(settings)
    parent = studio_model(settings, lake, first)
    return settings, lake, parent


def test_retrain_keeps_the_recipe_and_records_its_parent(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, parent = lab
    second = newer_iris(lake)
    tracker = Tracker(settings=settings)
    stored, result = retrain_saved("iris@v1", dataset="iris", dataset_version=second.version, settings=settings,
                                   tracker=tracker)
    meta = stored.meta
    assert stored.ref == "iris@v2" and meta["parent"] == "iris@v1" and meta["source"] == "retrain"
    assert meta["dataset"]["version"] == second.version and meta["dataset"]["sha256"] == second.sha256
    assert meta["best_model"] == parent.meta["best_model"] and meta["best_params"] == parent.meta["best_params"]
    store = ModelStore(settings=settings)
    old, new = store.load("iris@v1").model, store.load("iris@v2").model
    assert new.steps[-1][1].get_params() == old.steps[-1][1].get_params()  # same hyperparameters
    assert meta["n_test_rows"] == 28 and 0 < result.test_score < 1  # 20 % of 140 rows, log-loss
    assert "warm start" in meta["retrain"]
    run = tracker.client.get_run(meta["run_id"])
    assert run.data.tags["parent"] == "iris@v1" and run.data.tags["source"] == "registry"
    assert run.data.params["parent"] == "iris@v1" and run.info.run_name == "iris-v2"
    assert run.data.metrics["test_log_loss"] == pytest.approx(result.test_score)
    from automlops.mlops.registry import ModelRegistry

    registered = {v.version: v for v in ModelRegistry(tracker).versions("iris")}  # saved, then registered
    assert registered[2].parent == "iris@v1" and registered[2].run_id == meta["run_id"]


def test_a_cold_retrain_says_so(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, parent = lab
    loaded = ModelStore(settings=settings).load("iris@v1")
    result = retrain_fit(loaded, lake.load("iris", 1), dataset=parent.meta["dataset"], warm_start=False)
    assert result.artifact.meta["retrain"].startswith("cold refit") and result.run_id is None
    assert result.artifact.obj is not loaded.model and result.artifact.meta["parent"] == "iris@v1"


def test_a_schema_mismatch_is_refused_naming_the_columns(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, _ = lab
    frame = lake.load("iris", 1).rename(columns={"petal width (cm)": "petal_w"})
    renamed = lake.add("iris_renamed", frame)
    before = tree(settings.models_dir)
    with pytest.raises(DataError, match=r"lacks column\(s\) petal width \(cm\)"):
        retrain_saved("iris@v1", dataset=renamed.dataset, settings=settings, tracking=False)
    assert tree(settings.models_dir) == before


def test_other_kinds_are_refused() -> None:
    loaded = LoadedModel(model=object(), meta={"kind": "clustering", "task": "clustering", "name": "groups",
                                               "version": 1}, path=Path("."))
    with pytest.raises(ConfigError, match="tabular classification and regression"):
        retrain_fit(loaded, __import__("pandas").DataFrame({"a": [1, 2]}), dataset={})


def _forest_model(frame, n: int):  # type: ignore[no-untyped-def]
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=n, random_state=0))
    model.fit(frame.drop(columns=TARGET), frame[TARGET])
    meta = {"kind": "tabular", "task": "classification", "target": TARGET, "metric": "accuracy", "name": "forest",
            "version": 1, "input_columns": list(frame.columns.drop(TARGET)), "best_model": "random_forest"}
    return LoadedModel(model=model, meta=meta, path=Path("."))


def test_warm_start_adds_trees_to_a_forest(settings: Settings) -> None:
    lake, _ = iris_lake(settings)
    second = newer_iris(lake)
    loaded = _forest_model(lake.load("iris", 1), 5)
    result = retrain_fit(loaded, lake.load("iris", second.version), dataset=second.lineage())
    forest = result.artifact.obj.steps[-1][1]
    assert len(forest.estimators_) == 10 and forest.warm_start is False  # 5 old trees + 5 grown on v2
    assert forest.estimators_[0] is not loaded.model.steps[-1][1].estimators_[0]  # a copy: the parent is intact
    assert len(loaded.model.steps[-1][1].estimators_) == 5
    assert "n_estimators 5 -> 10" in result.artifact.meta["retrain"]


def test_a_warm_start_on_rows_the_parent_saw_says_its_score_is_optimistic(lab) -> None:  # type: ignore[no-untyped-def]
    settings, _, _ = lab
    stored, result = retrain_saved("iris@v1", dataset="iris", dataset_version=1, settings=settings, tracking=False)
    assert "30 of the 30 held-out rows are also in the data the parent learned from (iris@v1)" in \
        result.validation.reason
    assert any("test score is optimistic" in d for d in stored.meta["decisions"])
