"""The OpenAPI document, written from the model being served.

``/openapi.json`` is what ``/docs``, generated clients and schema-driven fuzzers read. A
generic ``/predict`` body ("a list of objects") tells them nothing about the real contract,
so almost every request they build is refused with 422. Here the request body of
``/predict`` is rebuilt from the served model's feature schema (its ``meta.json``):

* each column becomes a required property typed the way :mod:`automlops.serving.validation`
  checks it: ``number`` (within ±``MAX_NUMBER``) for numeric columns, an ``enum`` of the
  training categories for categorical ones, a ``date-time`` string for dates, plus ``null`` where the column had
  missing values in training;
* the row count is capped at ``API_MAX_ROWS`` and, with ``API_UNKNOWN_COLUMNS=reject``, other
  columns are forbidden;
* the example is :meth:`FeatureSchema.example_row`, the very row the model was smoke-tested
  on before it was served, so "Try it out" in ``/docs`` answers 200;
* every error answer (401 on each protected route included) is documented as the JSON it is;
* a served *vision* model takes images instead (:func:`image_request_body`): file parts of a
  ``multipart/form-data`` body, or base64 strings in JSON, at most ``API_MAX_IMAGES`` of them.

The document is cached per served model and rebuilt when the hot reload swaps in another one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

from automlops.core.features import DATETIME, NUMERIC
from automlops.serving.deps import ServingContext
from automlops.serving.served import ServedModel
from automlops.serving.validation import MAX_NUMBER, Feature

__all__ = ["image_request_body", "install_openapi", "predict_request_body"]

DATE_PATTERN = r"^(1[7-9]|2[01])[0-9]{2}-"  # pandas times span 1677-2262: stay well inside


def _with_null(schema: dict[str, Any], nullable: bool) -> dict[str, Any]:
    if not nullable:
        return schema
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*kinds, "null"]}


def feature_json_schema(feature: Feature, raw_categories: list[Any] | None) -> dict[str, Any]:
    """The JSON Schema of one column's values (``raw_categories``: as meta.json lists them)."""
    if feature.kind == NUMERIC:
        schema: dict[str, Any] = {"type": "number", "minimum": -MAX_NUMBER, "maximum": MAX_NUMBER}
    elif feature.kind == DATETIME:
        written = {True: " (the API also reads 31/05/2024, day first, as the training data wrote its dates)",
                   False: " (the API also reads 05/31/2024, month first, as the training data wrote its dates)"}
        schema = {"type": "string", "format": "date-time", "pattern": DATE_PATTERN,
                  "description": "ISO 8601, e.g. 2024-05-31T00:00:00Z, years 1700 to 2199"
                                 + written.get(feature.dayfirst, "")}  # type: ignore[arg-type]
    elif raw_categories:
        schema = {"enum": sorted(raw_categories, key=str),
                  "description": "a category seen in training (others are accepted with a warning)"}
    else:
        schema = {"type": ["string", "number"]}
    return {"title": feature.name, **_with_null(schema, feature.nullable)}


def _raw_categories(meta: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Column -> categories with their JSON types, as training wrote them (3 stays a number)."""
    features = (meta.get("feature_schema") or {}).get("features") or []
    return {str(f["name"]): list(f["categories"]) for f in features
            if isinstance(f, Mapping) and isinstance(f.get("categories"), list)}


def forecast_example(served: ServedModel) -> dict[str, Any]:
    """A body a forecaster answers: its horizon, or, when it needs future exogenous values, the next step
    of its first series with the last values training saw (a forecast can be asked for one series)."""
    model, meta = served.pipeline, served.meta
    horizon = int(meta.get("horizon") or 1)
    if not getattr(model, "exogenous", ()) or not callable(getattr(model, "future_grid", None)):
        return {"horizon": horizon}
    first = model.series_ids[0]
    step = model.future_grid(1, [first])["ds"].iloc[0]
    row: dict[str, Any] = {str(meta["time_column"]): f"{step.isoformat()}Z"}
    if meta.get("series_id"):
        row[str(meta["series_id"])] = first
    known = meta.get("exogenous_example") or {}
    row |= {str(name): known.get(name, 0.0) for name in meta.get("exogenous") or []}
    return {"records": [row]}


def predict_request_body(served: ServedModel, *, max_rows: int, unknown: str) -> dict[str, Any]:
    """The ``requestBody`` of ``/predict`` for ``served``: records or split shape, with an example."""
    raw = _raw_categories(served.meta)
    columns = {f.name: feature_json_schema(f, raw.get(f.name)) for f in served.schema.features}
    names = list(columns)
    row = {"type": "object", "title": f"A row for {served.name} v{served.version}", "properties": columns,
           "required": names, "additionalProperties": unknown != "reject"}
    records = {"type": "object", "title": "Records", "required": ["records"], "additionalProperties": False,
               "properties": {"records": {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}}}
    values = {"type": "array", "prefixItems": list(columns.values()), "minItems": len(names),
              "maxItems": len(names), "items": False}
    split = {"type": "object", "title": "Split (columns once, then rows of values)",
             "required": ["columns", "data"], "additionalProperties": False,
             "properties": {"columns": {"const": names},
                            "data": {"type": "array", "items": values, "minItems": 1, "maxItems": max_rows}}}
    row_example = served.schema.example_row()
    for feature in served.schema.features:  # a full date-time, as the schema's format says
        if feature.kind == DATETIME:
            row_example[feature.name] = f"{row_example[feature.name]}T00:00:00Z"
    example: dict[str, Any] = {"records": [row_example]}
    shapes = [records, split]
    if served.kind == "forecasting":  # a forecaster is asked how far ahead (rows are then optional)
        ahead = {"type": "object", "title": "Horizon (steps ahead of every series)", "required": ["horizon"],
                 "additionalProperties": False, "properties": {"horizon": {"type": "integer", "minimum": 1}}}
        shapes, example = [ahead, records, split], forecast_example(served)
    return {"required": True, "content": {"application/json": {"schema": {"anyOf": shapes},
                                                                "example": example}}}


def image_request_body(served: ServedModel, *, max_images: int) -> dict[str, Any]:
    """The ``requestBody`` of ``/predict`` for a vision model: images as file parts, or base64 in JSON."""
    detection = served.task == "detection"
    threshold = {"type": "number", "minimum": 0, "maximum": 1,
                 "description": "The least score of a box returned (default: the model's "
                                f"{served.meta.get('score_threshold') or 0.5})."}
    files = {"type": "array", "minItems": 1, "maxItems": max_images,
             "items": {"type": "string", "format": "binary"},
             "description": "One file part per image (JPEG, PNG, BMP, GIF, TIFF, WebP)."}
    multipart: dict[str, Any] = {"type": "object", "title": f"Images for {served.name} v{served.version}",
                                 "required": ["files"], "properties": {"files": files}}
    images: dict[str, Any] = {
        "type": "object", "title": "Images as base64 strings", "required": ["images"], "additionalProperties": False,
        "properties": {"images": {"type": "array", "minItems": 1, "maxItems": max_images,
                                  "items": {"type": "string", "contentEncoding": "base64",
                                            "contentMediaType": "image/*"}}}}
    if detection:
        multipart["properties"]["threshold"] = threshold
        images["properties"]["threshold"] = threshold
    from automlops.serving.schemas import ImagesRequest

    example = ImagesRequest.model_json_schema()["examples"][0]
    return {"required": True, "content": {
        "multipart/form-data": {"schema": multipart, "encoding": {"files": {"contentType": "image/*"}}},
        "application/json": {"schema": images, "example": example}}}


def _describe_predict(doc: dict[str, Any], served: ServedModel, ctx: ServingContext) -> None:
    operation = doc.get("paths", {}).get("/predict", {}).get("post")
    if operation is None:
        return
    settings = ctx.settings
    if served.kind == "vision":
        operation["requestBody"] = image_request_body(served, max_images=settings.api_max_images)
        operation["description"] = (f"**Served now: {served.name} v{served.version}** ({served.task}, classes: "
                                    f"{', '.join(map(str, served.classes or []))}): send images.\n\n"
                                    + str(operation.get("description") or ""))
        return
    operation["requestBody"] = predict_request_body(served, max_rows=settings.api_max_rows,
                                                    unknown=settings.api_unknown_columns)
    operation["description"] = (f"**Served now: {served.name} v{served.version}** ({served.task}); "
                                f"columns: {', '.join(served.schema.columns)}.\n\n"
                                + str(operation.get("description") or ""))


def _describe_explain(doc: dict[str, Any], served: ServedModel, ctx: ServingContext) -> None:
    """``/explain`` takes the ``/predict`` body (rows only) plus an optional ``top_k``."""
    operation = doc.get("paths", {}).get("/explain", {}).get("post")
    if operation is None or served.kind in ("forecasting", "vision"):
        return
    body = predict_request_body(served, max_rows=ctx.settings.api_max_rows, unknown=ctx.settings.api_unknown_columns)
    content = body["content"]["application/json"]
    top_k = {"type": "integer", "minimum": 1, "maximum": 100, "default": 5,
             "description": "How many features to list per row (largest |contribution| first)."}
    for shape in content["schema"]["anyOf"]:
        shape["properties"]["top_k"] = top_k
    content["example"] = {**content["example"], "top_k": 3}
    operation["requestBody"] = body


def _errors_as_json(doc: dict[str, Any]) -> None:
    """Every error answer is JSON (:mod:`automlops.serving.errors`), whatever the route's success
    type: FastAPI files the 401 of ``/metrics`` under its ``text/plain``; move it where it belongs."""
    for item in doc.get("paths", {}).values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") or {}
                if status >= "400" and content and "application/json" not in content:
                    response["content"] = {"application/json": next(iter(content.values()))}


def install_openapi(app: FastAPI, ctx: ServingContext) -> None:
    """Make ``app.openapi()`` describe the served model, rebuilt whenever it changes."""
    cache: dict[str, Any] = {}
    generate: Callable[[], dict[str, Any]] = app.openapi  # FastAPI's own generator (bound method)

    def openapi() -> dict[str, Any]:
        served = ctx.manager.current if ctx.manager is not None else None
        key = (served.name, served.version, id(served)) if served is not None else None
        if "doc" not in cache or cache.get("key") != key:
            app.openapi_schema = None  # FastAPI caches its document there: start afresh
            doc = generate()
            _errors_as_json(doc)
            if served is not None:
                _describe_predict(doc, served, ctx)
                _describe_explain(doc, served, ctx)
            cache.update(key=key, doc=doc)
        document: dict[str, Any] = cache["doc"]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
