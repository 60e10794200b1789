"""Health, readiness, model metadata, metrics, docs; the error shape of 404/405."""

from __future__ import annotations

import re

from automlops import __version__
from automlops.serving.schemas import HealthResponse, ModelInfo
from tests.serving.conftest import AUTH


def test_health_without_a_model_then_with_one(serve) -> None:
    empty = serve()
    body = empty.get("/").json()
    assert body["status"] == "no_model" and body["model"] is None and body["loaded_at"] is None
    assert body["studio_version"] == __version__ and body["uptime_seconds"] >= 0
    ready = empty.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "no_model" and "train one" in ready.json()["error"]["message"]

    client = serve("cancer")
    health = HealthResponse.model_validate(client.get("/").json())
    assert health.status == "ok" and health.model is not None
    assert (health.model.name, health.model.version, health.model.task) == ("cancer", 1, "classification")
    assert isinstance(client.get("/").json()["model"]["version"], int)
    assert client.get("/ready").json() == {"ready": True, "model": {"name": "cancer", "version": 1,
                                                                    "task": "classification"}}


def test_model_metadata_schema_metrics_lineage(serve) -> None:
    client = serve("penguins")
    info = ModelInfo.model_validate(client.get("/model", headers=AUTH).json())
    assert (info.name, info.version, info.task, info.target) == ("penguins", 1, "classification", "species")
    assert info.input_columns[:2] == ["island", "bill_length_mm"]
    kinds = {f["name"]: f["kind"] for f in info.feature_schema["features"]}
    assert kinds["island"] == "categorical" and kinds["body_mass_g"] == "numeric"
    assert info.metrics["validation"] is not None and "accuracy" in info.metrics["test"]
    assert info.lineage["dataset"] == {"name": "penguins", "version": 1, "sha256": "0" * 64}
    assert re.fullmatch(r"[0-9a-f]{64}", info.lineage["model_sha256"])
    assert client.get("/model").status_code == 401
    assert serve().get("/model", headers=AUTH).status_code == 503


def test_metrics_exposition(serve, demo_rows) -> None:
    client = serve("cancer")
    client.post("/predict", json={"records": demo_rows("cancer", 3)}, headers=AUTH)
    client.post("/predict", json={"records": []}, headers=AUTH)
    client.get("/nowhere/abc")
    text = client.get("/metrics", headers=AUTH)
    assert text.headers["content-type"].startswith("text/plain")
    lines = text.text.splitlines()
    assert 'automlops_http_requests_total{route="/predict",method="POST",status="200"} 1' in lines
    assert 'automlops_http_requests_total{route="/predict",method="POST",status="422"} 1' in lines
    assert 'automlops_http_requests_total{route="unmatched",method="GET",status="404"} 1' in lines
    assert 'automlops_http_request_duration_seconds_count{route="/predict"} 2' in lines
    assert 'automlops_http_request_duration_seconds_bucket{route="/predict",le="+Inf"} 2' in lines
    assert 'automlops_model_reloads_total{result="success"} 1' in lines
    assert 'automlops_model_reloads_total{result="refused"} 0' in lines
    assert 'automlops_predictions_total{model="cancer",version="1"} 3' in lines
    assert 'automlops_model_info{model="cancer",task="classification",version="1"} 1' in lines
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+-]+$|^# (HELP|TYPE) ')
    assert all(sample.match(line) for line in lines), [line for line in lines if not sample.match(line)]


def test_docs_are_public_and_describe_every_route_with_examples(serve) -> None:
    client = serve()
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/", "/ready", "/predict", "/model", "/metrics"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "x-api-key", "description": "The service's API key (env API_KEY)."}
    predict = spec["paths"]["/predict"]["post"]
    assert predict["requestBody"]["content"]["application/json"]["schema"]["examples"]
    assert {"200", "401", "413", "422", "503"} <= set(predict["responses"])
    assert spec["components"]["schemas"]["PredictResponse"]["examples"]


def test_unknown_route_and_method_answer_the_error_shape(serve) -> None:
    client = serve()
    missing = client.get("/nope", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.get("/predict", headers=AUTH)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
