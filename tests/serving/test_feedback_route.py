"""``POST /feedback`` through the real app: predict, send the truth, read it back joined."""

from __future__ import annotations

from automlops.mlops.feedback import labelled_rows
from automlops.mlops.monitor import default_log_path
from tests.serving.conftest import AUTH


def test_feedback_for_answered_rows_is_stored_and_replaced(serve, demo_rows) -> None:
    client = serve("penguins")
    r = client.post("/predict", json={"records": demo_rows("penguins", 3)}, headers=AUTH)
    assert r.status_code == 200, r.text
    request_id = r.json()["request_id"]
    # sent at once: the prediction may still be queued for the log, and must be found anyway
    body = {"feedback": [{"request_id": request_id, "row": 0, "label": "Adelie"},
                         {"request_id": request_id, "row": 2, "label": "Gentoo"}]}
    r = client.post("/feedback", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json() == {"recorded": 2, "replaced": 0, "request_ids": 1}
    r = client.post("/feedback", json={"feedback": [{"request_id": request_id, "row": 2, "label": "Chinstrap"}]},
                    headers=AUTH)
    assert r.json() == {"recorded": 1, "replaced": 1, "request_ids": 1}
    frame = labelled_rows("penguins", path=default_log_path(client.app.state.serving.settings))
    assert frame["label"].tolist() == ["Adelie", "Chinstrap"] and frame["row"].tolist() == [0, 2]
    assert frame["island"].tolist() == [row["island"] for row in demo_rows("penguins", 3)[::2]]


def test_unknown_ids_empty_lists_and_bad_bodies_are_4xx_json(serve, demo_rows) -> None:
    client = serve("penguins", api_max_rows=3)
    request_id = client.post("/predict", json={"records": demo_rows("penguins", 1)}, headers=AUTH).json()["request_id"]
    r = client.post("/feedback", json={"feedback": [{"request_id": request_id, "label": "Adelie"},
                                                    {"request_id": "nope", "label": "Adelie"},
                                                    {"request_id": request_id, "row": 1, "label": "Gentoo"}]},
                    headers=AUTH)
    assert r.status_code == 404, r.text
    error = r.json()["error"]
    assert error["code"] == "unknown_request_ids" and "'nope'" in error["message"]
    assert {f["message"] for f in error["fields"]} == {"unknown request id 'nope'",
                                                       f"request {request_id!r} has 1 row(s)"}
    path = default_log_path(client.app.state.serving.settings)
    assert labelled_rows("penguins", path=path).empty  # the valid entry was not stored either

    cases = [({"feedback": []}, 422, "no feedback to record"),
             ({"feedback": [{"request_id": request_id, "label": "x"}] * 4}, 413, "the limit is 3"),
             ({"feedback": [{"request_id": request_id, "label": None}]}, 422, "the body must be JSON"),
             ({"feedback": [{"request_id": request_id, "row": -1, "label": "x"}]}, 422, "the body must be JSON"),
             ({"labels": []}, 422, "the body must be JSON")]
    for body, status, message in cases:
        r = client.post("/feedback", json=body, headers=AUTH)
        assert r.status_code == status, (body, r.text)
        assert message in r.json()["error"]["message"]
    assert client.post("/feedback", content="{}", headers={**AUTH, "content-type": "text/plain"}).status_code == 415
    assert client.post("/feedback", json={"feedback": []}).status_code == 401


def test_the_openapi_document_describes_feedback(serve) -> None:
    import jsonschema

    doc = serve("penguins").get("/openapi.json").json()
    op = doc["paths"]["/feedback"]["post"]
    assert {"200", "401", "404", "413", "415", "422"} <= set(op["responses"])
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    for example in schema["examples"]:
        jsonschema.Draft202012Validator(schema).validate(example)


def test_a_service_that_does_not_log_says_so(serve) -> None:
    client = serve("penguins", prediction_log_enabled=False)
    r = client.post("/feedback", json={"feedback": [{"request_id": "abc", "label": "Adelie"}]}, headers=AUTH)
    assert r.status_code == 404 and "does not log its predictions" in r.json()["error"]["message"]
    assert not (client.home / "predictions.db").exists()  # nothing created either
