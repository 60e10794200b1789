"""Schemathesis against ``/openapi.json`` with the key: no 5xx, no answer that breaks the schema.

Schemathesis reads the OpenAPI document and generates requests from it (valid ones, and
deliberately invalid ones), then checks every answer: not a server error, a status code and
content type the document declares, a body that matches the declared schema, 4xx for invalid
data, 401 when the key is left out. The ``/predict`` body is described from the served model's
feature schema (:mod:`automlops.serving.openapi`), so requests generated as *valid* must be
accepted (``positive_data_acceptance``). For *invalid* ones, ``negative_data_rejection`` is
left out on purpose: the API accepts, with a warning, two things the document does not
promise: categories not seen in training, and columns the model does not use.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection

from automlops.serving.app import create_app
from tests.serving.conftest import AUTH, make_settings

MAX_EXAMPLES = 40  # per operation and mode: a few seconds in all


@pytest.fixture(scope="module", params=["penguins", "cars"])  # text, numbers, nulls; and a date column
def api_schema(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_bank: Path):
    home = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(model_bank / request.param, home / "models" / request.param)
    app = create_app(make_settings(home, api_max_rows=50, api_max_body_bytes=64 * 1024))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def test_the_document_lists_every_operation(api_schema) -> None:
    labels = {op.label for op in _operations(api_schema)}
    assert labels == {"GET /", "GET /ready", "POST /predict", "POST /explain", "POST /feedback", "GET /model",
                      "GET /metrics"}


@pytest.mark.parametrize(("label", "mode"), [
    *((label, GenerationMode.POSITIVE) for label in ("GET /", "GET /ready", "POST /predict", "POST /explain",
                                                     "POST /feedback", "GET /model", "GET /metrics")),
    ("POST /predict", GenerationMode.NEGATIVE),  # the operations with inputs to get wrong
    ("POST /explain", GenerationMode.NEGATIVE),
    ("POST /feedback", GenerationMode.NEGATIVE),
])
def test_api_honours_its_openapi_document(api_schema, label: str, mode: GenerationMode) -> None:
    # Schemathesis' own pytest plugin (schema.parametrize / from_fixture) reads a private attribute
    # pytest 9 removed (Function._nodeid), so the cases are drawn here with plain hypothesis.
    operation = next(op for op in _operations(api_schema) if op.label == label)
    excluded = [negative_data_rejection] if mode == GenerationMode.NEGATIVE else []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        case.call_and_validate(headers=AUTH, excluded_checks=excluded)

    check()
