"""``POST /explain`` through the real app (TestClient): auth, schema checks, top_k, additivity, refusals."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from tests.serving.conftest import AUTH, make_settings


@pytest.fixture(scope="module")
def tree_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real LightGBM penguins model, trained by the AutoML runner (one trial) and saved."""
    from automlops.demo import load_demo
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    root = tmp_path_factory.mktemp("tree") / "models"
    runner = AutoMLRunner("species", preset="fast", models=["lightgbm"], n_trials=1, ensemble="none",
                          refit_full=False).fit(load_demo("penguins"))
    save_model(runner.result_, ModelStore(root), "trees", dataset={"name": "penguins", "version": 1})
    return root


def _client(home: Path, **fields: Any) -> Any:
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    return TestClient(create_app(make_settings(home, **fields)))


@pytest.fixture
def tree_api(tmp_path: Path, tree_store: Path) -> Iterator[Any]:
    shutil.copytree(tree_store, tmp_path / "models")
    with _client(tmp_path) as client:
        client.home = tmp_path
        yield client


def _explain(client: Any, rows: list[dict[str, Any]], **extra: Any) -> Any:
    return client.post("/explain", json={"records": rows, **extra}, headers=AUTH)


def test_tree_model_rows_are_explained_and_add_up(tree_api: Any, demo_rows: Callable[..., Any]) -> None:
    rows = demo_rows("penguins", 4)
    r = _explain(tree_api, rows, top_k=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "tree" and body["output"] == "margin" and body["n_rows"] == 4
    predicted = tree_api.post("/predict", json={"records": rows}, headers=AUTH).json()["predictions"]
    assert [e["prediction"] for e in body["explanations"]] == predicted
    for row, explanation in zip(rows, body["explanations"], strict=True):
        assert explanation["class_name"] == explanation["prediction"]
        contributions = explanation["contributions"]
        assert len(contributions) == 3
        sizes = [abs(c["contribution"]) for c in contributions]
        assert sizes == sorted(sizes, reverse=True)
        assert all(c["value"] == row[c["feature"]] for c in contributions)  # original columns and values
    everything = _explain(tree_api, rows[:1], top_k=100).json()["explanations"][0]
    assert len(everything["contributions"]) == 7  # every original column once, never an encoded part
    loaded = ModelStore(tree_api.home / "models").load("trees")
    frame = pd.DataFrame(rows[:1])[loaded.meta["input_columns"]]
    margins = loaded.model.steps[-1][1].estimator_.predict(loaded.model[:-1].transform(frame), raw_score=True)
    k = loaded.meta["classes"].index(everything["prediction"])
    total = everything["base_value"] + sum(c["contribution"] for c in everything["contributions"])
    assert total == pytest.approx(float(margins[0][k]), abs=1e-6)  # additive, in the model's margin


def test_bad_bodies_get_the_same_answers_as_predict(tree_api: Any, demo_rows: Callable[..., Any]) -> None:
    row = demo_rows("penguins", 1)[0]
    for body in ({"records": [{**row, "bill_length_mm": "long"}]}, {"records": [{"island": "Dream"}]}):
        mine = tree_api.post("/explain", json=body, headers=AUTH)
        theirs = tree_api.post("/predict", json=body, headers=AUTH)
        assert mine.status_code == theirs.status_code == 422
        assert mine.json()["error"] == theirs.json()["error"]
    for top_k in (0, 101, "five"):
        r = _explain(tree_api, [row], top_k=top_k)
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "top_k", r.text
    assert tree_api.post("/explain", json={"records": []}, headers=AUTH).status_code == 422
    assert tree_api.post("/explain", json={"horizon": 3}, headers=AUTH).status_code == 422
    assert tree_api.post("/explain", content=b"{}", headers={**AUTH, "content-type": "text/plain"}).status_code == 415
    assert _explain(tree_api, [row] * 101).status_code == 413
    assert _explain(tree_api, [row]).json()["explanations"][0]["contributions"].__len__() == 5  # default top_k


def test_the_key_is_required(tree_api: Any, demo_rows: Callable[..., Any]) -> None:
    rows = demo_rows("penguins", 1)
    for headers in ({}, {"x-api-key": "wrong"}):
        r = tree_api.post("/explain", json={"records": rows}, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_a_linear_model_is_explained_on_its_lake_background(serve, demo_rows: Callable[..., Any]) -> None:
    """The bank's penguins model is a logistic regression: model-agnostic, needs its training data."""
    from automlops.demo import load_demo

    client = serve("penguins")
    rows = demo_rows("penguins", 2)
    r = _explain(client, rows)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_explainable"
    assert "background" in r.json()["error"]["message"]

    client = serve("penguins")  # a fresh service, its training data now in the lake
    DataLake(settings=make_settings(client.home)).add("penguins", load_demo("penguins"))
    r = _explain(client, rows, top_k=7)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["method"], body["output"]) == ("permutation", "probability")
    proba = client.post("/predict", json={"records": rows}, headers=AUTH).json()
    for i, explanation in enumerate(body["explanations"]):
        k = proba["classes"].index(explanation["prediction"])
        total = explanation["base_value"] + sum(c["contribution"] for c in explanation["contributions"])
        assert total == pytest.approx(proba["probabilities"][i][k], abs=1e-9)  # additive, in probability
    assert _explain(client, rows * 6).status_code == 413  # sampled explanations take fewer rows


def test_models_without_classes_or_values_are_refused(tmp_path: Path) -> None:
    """A clustering model (a real one) is served, but /explain answers 409 with the reason."""
    from automlops.demo import load_demo
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.tabular.persist import save_model
    from automlops.tasks import TrainOptions, build_engine

    frame: pd.DataFrame = load_demo("breast_cancer").drop(columns="target").iloc[:, :5]
    engine = build_engine("clustering", TrainOptions(preset="fast", models=["kmeans"]))
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=1)).fit(frame)
    save_model(result, ModelStore(tmp_path / "models"), "cells")
    with _client(tmp_path) as client:
        row = frame.head(1).to_dict(orient="records")
        r = client.post("/explain", json={"records": row}, headers=AUTH)
        assert r.status_code == 409, r.text
        assert "classification and regression" in r.json()["error"]["message"]
        assert client.post("/predict", json={"records": row}, headers=AUTH).status_code == 200


def test_the_openapi_document_describes_explain(tree_api: Any) -> None:
    """The /explain body is described from the served model's columns (plus top_k), and its example answers."""
    import jsonschema

    doc = tree_api.get("/openapi.json").json()
    operation = doc["paths"]["/explain"]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    jsonschema.Draft202012Validator(content["schema"]).validate(content["example"])
    records = next(s for s in content["schema"]["anyOf"] if "records" in s["properties"])
    assert records["properties"]["records"]["items"]["required"][0] == "island"
    assert records["properties"]["top_k"]["maximum"] == 100
    assert {"200", "401", "409", "413", "415", "422"} <= set(operation["responses"])
    r = tree_api.post("/explain", json=content["example"], headers=AUTH)
    assert r.status_code == 200 and len(r.json()["explanations"][0]["contributions"]) == 3
