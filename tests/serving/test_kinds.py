"""Serving dispatches on the model's kind: tabular and clustering answer; other kinds are refused with a reason."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.cluster import DBSCAN, KMeans
from sklearn.pipeline import Pipeline, make_pipeline

from automlops.core.fit import Artifact
from automlops.core.problem import Problem, TaskType
from automlops.errors import ModelError
from automlops.mlops.store import ModelStore
from automlops.serving.loader import ModelManager, load_served
from automlops.serving.metrics import Metrics
from automlops.serving.predictors import PREDICTORS, predictor_for
from automlops.serving.schemas import PredictResponse
from automlops.serving.served import ClusterModel
from tests.serving.conftest import AUTH, make_settings


def _groups(estimator: Any) -> tuple[Pipeline, dict[str, Any]]:
    """A clustering pipeline on penguins, with its feature schema made the way tabular models get theirs."""
    from automlops.demo import load_demo
    from automlops.tabular.encodings import build_preprocessor
    from automlops.tabular.preprocessing import plan_features

    frame = load_demo("penguins").drop(columns=["species"])
    plan = plan_features(frame, Problem(TaskType.CLUSTERING, None, "silhouette", "maximize"))
    pipe = make_pipeline(build_preprocessor(plan, scale=True, encoding="onehot"), estimator).fit(frame)
    meta = {"task": "clustering", "feature_schema": plan.schema(), "input_columns": plan.input_columns}
    return pipe, meta


@pytest.fixture(scope="module")
def kmeans() -> tuple[Pipeline, dict[str, Any]]:
    return _groups(KMeans(n_clusters=3, n_init=2, random_state=0))


@pytest.fixture
def client(tmp_path: Path, kmeans) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    pipe, meta = kmeans
    home = tmp_path / "home"
    ModelStore(home / "models").save("penguin_groups", Artifact("clustering", pipe, meta))
    with TestClient(create_app(make_settings(home))) as test_client:
        yield test_client


def test_the_api_serves_cluster_labels(client, kmeans, demo_rows) -> None:
    pipe, _ = kmeans
    rows = demo_rows("penguins", 30)
    r = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = PredictResponse.model_validate(r.json())
    assert body.model.model_dump() == {"name": "penguin_groups", "version": 1, "task": "clustering"}
    assert body.probabilities is None and body.classes is None
    assert all(type(label) is int for label in body.predictions)
    assert body.predictions == pipe.predict(pd.DataFrame(rows)).tolist()
    info = client.get("/model", headers=AUTH).json()
    assert info["task"] == "clustering" and "bill_length_mm" in info["input_columns"]


def test_clustering_rows_are_validated_like_tabular_ones(client, demo_rows) -> None:
    row = {**demo_rows("penguins", 1)[0], "bill_length_mm": "long"}
    r = client.post("/predict", json={"records": [row]}, headers=AUTH)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_rows"
    assert r.json()["error"]["fields"][0]["field"] == "bill_length_mm"


def test_a_clustering_artifact_loads_as_a_cluster_model(tmp_path: Path, kmeans) -> None:
    pipe, meta = kmeans
    store = ModelStore(tmp_path / "models")
    no_task = {k: v for k, v in meta.items() if k != "task"}  # a kind with one task needs no task
    saved = store.save("groups", Artifact("clustering", pipe, no_task))
    assert (saved.meta["kind"], saved.meta["model_format"]) == ("clustering", "skops")
    served = load_served(store, "groups", 1)
    assert isinstance(served, ClusterModel) and (served.kind, served.task) == ("clustering", "clustering")


def test_a_clusterer_that_cannot_place_new_rows_is_refused(tmp_path: Path) -> None:
    pipe, meta = _groups(DBSCAN())
    store = ModelStore(tmp_path / "models")
    store.save("dbscan", Artifact("clustering", pipe, meta))
    with pytest.raises(ModelError, match="holds a DBSCAN, which cannot assign new rows to clusters"):
        load_served(store, "dbscan", 1)


def test_kind_and_task_are_checked_with_clear_reasons() -> None:
    assert PREDICTORS.names() == ["tabular", "clustering", "anomaly", "forecasting", "vision"]
    with pytest.raises(ModelError, match="task None cannot be served for a tabular model"):
        predictor_for({}, "old", 1)  # an old version: tabular by default, but a task is still needed
    assert predictor_for({"task": "regression"}, "old", 1)[1] == "regression"
    with pytest.raises(ModelError, match="kind 'audio' cannot be served by this API"):
        predictor_for({"kind": "audio", "task": "classification"}, "cnn", 2)
    with pytest.raises(ModelError, match="task 'classification' cannot be served for a vision model"):
        predictor_for({"kind": "vision", "task": "classification"}, "cnn", 2)  # the image task is named
    with pytest.raises(ModelError, match="task 'clustering' cannot be served for a tabular model"):
        predictor_for({"kind": "tabular", "task": "clustering"}, "odd", 3)


def test_an_unknown_kind_is_refused_unread_and_the_old_model_keeps_serving(
    tmp_path: Path, model_bank: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "models"
    shutil.copytree(model_bank / "cancer", root / "cancer")
    store = ModelStore(root)
    metrics = Metrics()
    manager = ModelManager(store, metrics=metrics)
    assert manager.refresh()
    old = manager.current
    loaded = store.load("cancer", 1)
    store.save("cancer", Artifact("audio", loaded.model, {**loaded.meta, "task": "classification"}))
    reads: list[Any] = []
    real_load = store.load
    monkeypatch.setattr(store, "load", lambda *a, **k: reads.append(a) or real_load(*a, **k))
    assert manager.refresh() is False and manager.current is old
    assert reads == []  # refused on meta.json alone: the model file was never read
    assert metrics.reloads("refused") == 1
    assert any("kind 'audio' cannot be served by this API" in reason for reason in manager.refused.values())
