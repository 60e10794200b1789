"""The OpenAPI document tells the real contract: the served model's columns, 401s, 415; /docs works offline."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import jsonschema

from automlops.mlops.serving_pointer import point_serving_at
from automlops.serving.routes import PUBLIC_PATHS
from tests.serving.conftest import AUTH


def _predict_body(client: Any) -> dict[str, Any]:
    doc = client.get("/openapi.json").json()
    body: dict[str, Any] = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    return body


def _validate(schema: dict[str, Any], instance: Any) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(instance)


def _records_schema(body: dict[str, Any]) -> dict[str, Any]:
    records = next(s for s in body["schema"]["anyOf"] if "records" in s["properties"])
    row: dict[str, Any] = records["properties"]["records"]["items"]
    return row


def test_predict_is_described_by_the_served_models_columns(serve) -> None:
    client = serve("penguins", api_max_rows=50)
    body = _predict_body(client)
    row = _records_schema(body)
    assert row["required"] == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
                               "sex", "year"]
    props = row["properties"]
    assert props["island"]["enum"] == ["Biscoe", "Dream", "Torgersen", None]  # the model fills a missing value
    assert props["sex"]["enum"] == ["female", "male", None]
    assert props["bill_length_mm"]["type"] == ["number", "null"] and props["year"]["type"] == ["number", "null"]
    assert props["year"]["maximum"] == 1e15 and props["year"]["minimum"] == -1e15
    records = next(s for s in body["schema"]["anyOf"] if "records" in s["properties"])
    assert records["properties"]["records"]["maxItems"] == 50
    _validate(body["schema"], body["example"])
    r = client.post("/predict", json=body["example"], headers=AUTH)
    assert r.status_code == 200, r.text
    split = {"columns": row["required"], "data": [[body["example"]["records"][0][c] for c in row["required"]]]}
    _validate(body["schema"], split)  # the split shape is described too
    assert client.post("/predict", json=split, headers=AUTH).status_code == 200


def test_a_date_column_is_a_date_time_string_and_the_example_scores(serve) -> None:
    client = serve("cars")
    body = _predict_body(client)
    year = _records_schema(body)["properties"]["Year"]
    assert year["format"] == "date-time" and "string" in (year["type"] if isinstance(year["type"], list)
                                                          else [year["type"]])
    _validate(body["schema"], body["example"])
    assert client.post("/predict", json=body["example"], headers=AUTH).status_code == 200
    row = body["example"]["records"][0]
    times = ["2000-01-01T00:00:00Z", "1999-12-31T22:00:00-05:00", "1970-01-01"]  # offsets, or none
    r = client.post("/predict", json={"records": [dict(row, Year=t) for t in times]}, headers=AUTH)
    assert r.status_code == 200, r.text


def test_numbers_beyond_the_documented_range_are_refused_per_field(serve) -> None:
    """Scaling 1e300 overflows to infinity inside the model: refused up front, where the schema says."""
    for name in ("penguins", "diabetes"):  # a mixed schema, and an all-numeric one (the fast path)
        client = serve(name)
        body = _predict_body(client)
        row = body["example"]["records"][0]
        column = next(c for c, s in _records_schema(body)["properties"].items() if "maximum" in s)
        for value, status in ((1e15, 200), (-1e15, 200), (1.0001e15, 422), (-1e300, 422), (1.7976931348623157e308, 422)):
            r = client.post("/predict", json={"records": [row, dict(row, **{column: value})]}, headers=AUTH)
            assert r.status_code == status, (name, value, r.text)
            if status == 422:
                assert r.json()["error"]["fields"] == [
                    {"field": column, "row": 1, "message": "number too large for the model: keep it within ±1e+15"}]


def test_the_document_changes_when_another_model_is_served(serve) -> None:
    client = serve("penguins", "cancer", model_name="penguins")
    assert "island" in _records_schema(_predict_body(client))["properties"]
    point_serving_at(client.home / "models", "cancer", 1)
    deadline = time.monotonic() + 2
    while client.get("/").json()["model"]["name"] != "cancer":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    body = _predict_body(client)
    props = _records_schema(body)["properties"]
    assert "island" not in props and len(props) == 30 and props["mean radius"]["type"] == ["number", "null"]
    assert "cancer v1" in client.get("/openapi.json").json()["paths"]["/predict"]["post"]["description"]
    _validate(body["schema"], body["example"])
    assert client.post("/predict", json=body["example"], headers=AUTH).status_code == 200


def test_every_protected_operation_documents_401_and_the_key(serve) -> None:
    doc = serve("cancer").get("/openapi.json").json()
    operations = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    protected = [(path, method, op) for path, method, op in operations if path not in PUBLIC_PATHS]
    assert {(p, m) for p, m, _ in protected} >= {("/predict", "post"), ("/model", "get"), ("/metrics", "get")}
    for path, method, op in protected:
        assert "401" in op["responses"], (method, path)
        assert op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        assert op.get("security") == [{"ApiKey": []}], (method, path)
    assert doc["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "x-api-key", "description": "The service's API key (env API_KEY)."}
    assert "415" in doc["paths"]["/predict"]["post"]["responses"]


def test_a_body_not_declared_as_json_gets_415_in_the_error_shape(serve, demo_rows) -> None:
    client = serve("cancer")
    text = json.dumps({"records": demo_rows("cancer", 1)})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**AUTH, **({"content-type": content_type} if content_type else {})}
        r = client.post("/predict", content=text, headers=headers)
        assert r.status_code == 415, (content_type, r.text)
        assert r.headers["content-type"] == "application/json"
        error = r.json()["error"]
        assert error["code"] == "unsupported_media_type" and "application/json" in error["message"]
    for content_type in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        r = client.post("/predict", content=text, headers={**AUTH, "content-type": content_type})
        assert r.status_code == 200, (content_type, r.text)
    assert client.post("/predict", content=text, headers={"content-type": "text/plain"}).status_code == 401


def _references(html: str) -> list[str]:
    """Every URL an HTML page makes the browser fetch: src/href attributes and Swagger UI's url."""
    found = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"""\burl\s*:\s*['"]([^'"]+)['"]""", html)
    return found


def test_docs_are_served_from_the_package_and_reference_nothing_off_host(serve) -> None:
    client = serve("cancer")
    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    refs = _references(page.text)
    assert len(refs) >= 3, refs  # the CSS, the favicon, the script, the document
    base = "http://testserver/docs"
    for ref in refs:
        url = urljoin(base, ref)
        assert urlsplit(url).netloc == "testserver", f"/docs fetches {ref} from another host"
        r = client.get(url)
        assert r.status_code == 200 and len(r.content) > 100, (ref, r.status_code)
    assert client.get("/docs/swagger-ui-bundle.js").headers["content-type"].startswith(
        ("application/javascript", "text/javascript"))
    assert "validatorUrl" in page.text and '"validatorUrl": null' in page.text  # no badge from swagger.io
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert client.get("/redoc").status_code == 404  # not served at all, rather than blank offline
