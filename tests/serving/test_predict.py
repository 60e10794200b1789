"""POST /predict: answers, both body shapes, and every validation error as a per-field 422/413."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automlops.mlops.store import ModelStore
from automlops.serving.schemas import PredictResponse
from tests.serving.conftest import AUTH


def _pipeline(model_bank: Path, name: str) -> Any:
    return ModelStore(model_bank).load(name, 1).model


def _fields(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]["fields"]


def test_classifier_answers_like_the_pipeline(serve, demo_rows, model_bank) -> None:
    client = serve("penguins")
    rows = demo_rows("penguins", 20)
    r = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = PredictResponse.model_validate(r.json())
    assert body.model.model_dump() == {"name": "penguins", "version": 1, "task": "classification"}
    assert body.n_rows == 20 and len(body.predictions) == 20
    assert len(body.request_id) == 32 and r.headers["x-request-id"] == body.request_id
    assert body.classes == ["Adelie", "Chinstrap", "Gentoo"]
    pipe = _pipeline(model_bank, "penguins")
    frame = pd.DataFrame(rows)
    assert body.predictions == pipe.predict(frame).tolist()
    assert np.allclose(np.array(body.probabilities, dtype=float), pipe.predict_proba(frame))
    assert all(math.isclose(sum(p), 1.0) for p in body.probabilities)  # type: ignore[arg-type, union-attr]


def test_split_shape_gives_the_same_answer_in_any_column_order(serve, demo_rows) -> None:
    client = serve("penguins")
    rows = demo_rows("penguins", 5)
    columns = list(reversed(list(rows[0])))
    split = {"columns": columns, "data": [[row[c] for c in columns] for row in rows]}
    a = client.post("/predict", json={"records": rows}, headers=AUTH).json()
    b = client.post("/predict", json=split, headers=AUTH).json()
    assert a["predictions"] == b["predictions"] and a["probabilities"] == b["probabilities"]


def test_numeric_fast_path_and_regression(serve, demo_rows, model_bank) -> None:
    client = serve("cancer", "diabetes", model_name="diabetes")
    rows = demo_rows("diabetes", 30)
    body = client.post("/predict", json={"records": rows}, headers=AUTH).json()
    assert body["model"]["task"] == "regression"
    assert body["classes"] is None and body["probabilities"] is None
    expected = _pipeline(model_bank, "diabetes").predict(pd.DataFrame(rows))
    assert np.allclose(body["predictions"], expected)


def test_binary_string_labels(serve, demo_rows, model_bank) -> None:
    client = serve("cancer")
    rows = demo_rows("cancer", 50)
    body = client.post("/predict", json={"records": rows}, headers=AUTH).json()
    assert body["classes"] == ["benign", "malignant"]
    assert body["predictions"] == _pipeline(model_bank, "cancer").predict(pd.DataFrame(rows)).tolist()


def test_datetime_column(serve, demo_rows) -> None:
    client = serve("cars")
    rows = demo_rows("cars", 3)
    ok = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert ok.status_code == 200, ok.text
    rows[1]["Year"] = "not a date"
    bad = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert bad.status_code == 422
    assert _fields(bad) == [{"field": "Year", "row": 1, "message": "'not a date' is not an ISO 8601 date/time "
                                                                   "(e.g. 2024-05-31)"}]


def test_large_batch_runs_off_the_event_loop(serve, demo_rows, monkeypatch) -> None:
    import automlops.serving.routes.predict as predict_route

    offloaded = []
    real = predict_route.run_in_threadpool

    async def spy(func, *args):
        offloaded.append(args[1].n_rows)
        return await real(func, *args)

    monkeypatch.setattr(predict_route, "run_in_threadpool", spy)
    client = serve("cancer", api_max_body_bytes=4 * 1024 * 1024)
    rows = demo_rows("cancer", 569) * 4
    columns = list(rows[0])
    body = client.post("/predict", json={"columns": columns, "data": [[r[c] for c in columns] for r in rows]},
                       headers=AUTH).json()
    assert body["n_rows"] == 2276 and len(body["probabilities"]) == 2276
    assert offloaded == [2276]
    client.post("/predict", json={"records": rows[:10]}, headers=AUTH)
    assert offloaded == [2276]  # small requests are scored inline


# ---------------------------------------------------------------------------- schema errors
@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda r: r.pop("island"), "island", "required column 'island' is missing"),
    (lambda r: r.update(bill_length_mm="long"), "bill_length_mm", "expected a number, got text"),
    (lambda r: r.update(bill_length_mm=True), "bill_length_mm", "expected a number, got a boolean"),
    (lambda r: r.update(island=["Biscoe"]), "island", "expected text or a number, got a list"),
    (lambda r: r.update(year=10 ** 400), "year", "number too large"),
])
def test_rows_that_do_not_fit_get_a_per_field_422(serve, demo_rows, change, field, message) -> None:
    client = serve("penguins")
    rows = demo_rows("penguins", 3)
    change(rows[2])
    r = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_rows"
    assert _fields(r) == [{"field": field, "row": 2, "message": message}]


def test_a_missing_value_the_model_fills_is_accepted_and_said(serve, demo_rows) -> None:
    """The studio's pipelines fill a missing value in every column; a null where training had none used to
    refuse the whole request (one null among 50 live flights). It is filled, and the answer says so."""
    client = serve("penguins")
    rows = demo_rows("penguins", 3)
    rows[2].update(island=None, year=None)
    r = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 3
    said = [w for w in r.json()["warnings"] if "was filled in as the model fills them" in w]
    assert {w.split("'")[1] for w in said} == {"island", "year"}


def test_a_model_that_does_not_fill_missing_values_refuses_them(demo_rows, model_bank, tmp_path: Path) -> None:
    """A schema without ``imputed`` (an uploaded model, or one saved before the flag) keeps the strict rule."""
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app
    from tests.serving.conftest import make_settings

    model = ModelStore(model_bank).load("penguins", 1)
    schema = model.meta["feature_schema"]
    strict = {**schema, "features": [{k: v for k, v in f.items() if k != "imputed"} for f in schema["features"]]}
    ModelStore(tmp_path / "models").save("penguins", model.model, {**model.meta, "feature_schema": strict})
    rows = demo_rows("penguins", 3)
    rows[2].update(year=None)
    with TestClient(create_app(make_settings(tmp_path))) as client:
        r = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert r.status_code == 422
    assert _fields(r) == [{"field": "year", "row": 2,
                           "message": "missing value (null/NaN) not allowed: this column had none in training"}]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused_where_not_allowed(serve, demo_rows, literal) -> None:
    """Infinity never fits; NaN is a missing value, which the studio's model fills (and says so)."""
    client = serve("cancer")
    row = demo_rows("cancer", 1)[0]
    text = json.dumps({"records": [row]}).replace(str(row["mean radius"]), literal, 1)
    r = client.post("/predict", content=text, headers={**AUTH, "content-type": "application/json"})
    if literal == "NaN":
        assert r.status_code == 200 and any("'mean radius'" in w for w in r.json()["warnings"])
        return
    assert r.status_code == 422
    assert _fields(r)[0]["field"] in ("mean radius", "records", "body")


def test_null_is_fine_where_training_had_missing_values(serve, demo_rows) -> None:
    client = serve("penguins")
    row = demo_rows("penguins", 1)[0] | {"bill_length_mm": None, "sex": None}
    assert client.post("/predict", json={"records": [row]}, headers=AUTH).status_code == 200


def test_unseen_category_is_handled_like_the_pipeline_with_a_warning(serve, demo_rows, model_bank) -> None:
    client = serve("penguins")
    row = demo_rows("penguins", 1)[0] | {"island": "Atlantis"}
    body = client.post("/predict", json={"records": [row]}, headers=AUTH).json()
    assert body["predictions"] == _pipeline(model_bank, "penguins").predict(pd.DataFrame([row])).tolist()
    assert body["warnings"] == ["column 'island': category 'Atlantis' was not seen in training; "
                                "the model treats it as unknown"]


def test_unknown_columns_are_ignored_or_rejected_per_setting(serve, demo_rows) -> None:
    rows = [r | {"colour": "blue", "species": "Adelie"} for r in demo_rows("penguins", 2)]  # target: known
    ignoring = serve("penguins")
    body = ignoring.post("/predict", json={"records": rows}, headers=AUTH).json()
    assert body["warnings"] == ["ignored 1 column(s) the model does not use: 'colour'"]
    rejecting = serve("penguins", api_unknown_columns="reject")
    r = rejecting.post("/predict", json={"records": rows}, headers=AUTH)
    assert r.status_code == 422
    assert _fields(r) == [{"field": "colour", "row": None, "message": "column 'colour' is not a feature of this model"}]


@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "invalid_request"),
    (b'{"rows": []}', "invalid_request"),
    (b'{"records": [{"a": 1}], "columns": ["a"], "data": [[1]]}', "invalid_request"),
    (b'{"records": []}', "invalid_request"),
    (b'{"records": [1, 2]}', "invalid_request"),
    (b'{"columns": ["a", "a"], "data": [[1, 2]]}', "invalid_rows"),
    (b'{"columns": ["island"], "data": [["Dream", 1]]}', "invalid_rows"),
    (b'[]', "invalid_request"),
])
def test_malformed_bodies_are_422(serve, body, code) -> None:
    client = serve("penguins")
    r = client.post("/predict", content=body, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert _fields(r)


# ---------------------------------------------------------------------------- limits
def test_too_many_rows_is_413(serve, demo_rows) -> None:
    client = serve("cancer", api_max_rows=10)
    r = client.post("/predict", json={"records": demo_rows("cancer", 11)}, headers=AUTH)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_many_rows"
    assert "11 rows" in r.json()["error"]["message"] and "limit is 10" in r.json()["error"]["message"]
    assert client.post("/predict", json={"records": demo_rows("cancer", 10)}, headers=AUTH).status_code == 200


def test_body_over_the_limit_is_413_announced_or_streamed(serve, demo_rows) -> None:
    client = serve("cancer", api_max_body_bytes=2000)
    big = json.dumps({"records": demo_rows("cancer", 10)}).encode()
    r = client.post("/predict", content=big, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert "limit is 2,000 bytes" in r.json()["error"]["message"]

    def chunks():  # no Content-Length: the limit applies while streaming
        for i in range(0, len(big), 500):
            yield big[i:i + 500]

    r = client.post("/predict", content=chunks(), headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    small = json.dumps({"records": demo_rows("cancer", 1)}).encode()
    assert client.post("/predict", content=small, headers={**AUTH, "content-type": "application/json"}).status_code == 200


def test_no_model_is_503(serve, demo_rows) -> None:
    client = serve()
    r = client.post("/predict", json={"records": demo_rows("cancer", 1)}, headers=AUTH)
    assert r.status_code == 503 and r.json()["error"]["code"] == "no_model"
    assert "no model in the model store yet" in r.json()["error"]["message"]
