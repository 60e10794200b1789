"""``POST /predict``: score rows with the served model.

The path a request takes: the middleware has already capped the body size; a body not declared
as JSON (``content-type: application/json``) is refused with 415; the body is parsed
and shape-checked by pydantic straight from the bytes (``model_validate_json``: faster than
``json.loads`` followed by validation); the row count is capped; the rows are checked against
the model's feature schema (:mod:`automlops.serving.validation`); the model predicts (through
the compiled preprocessing of :mod:`automlops.serving.fastpath` when it verified); the answer
is serialised by pydantic-core's Rust encoder, and the prediction is queued for the prediction
log, which a background thread writes.

Requests up to ``INLINE_ROWS`` rows are scored right on the event loop: handing them to a
worker thread would cost more than scoring them (a 1,000-row batch takes a few ms). Larger
batches go to the thread pool so that health checks and small requests are not stuck behind them.

A served **vision** model takes images instead of rows (:mod:`automlops.serving.vision`): file
parts of a ``multipart/form-data`` body, or ``{"images": ["<base64>", ...]}`` in JSON. Its
requests always run on the thread pool (a network forward pass takes tens of milliseconds or
more). Images sent to a table model, or rows sent to a vision model, are a 422 that says what
that model takes.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pydantic_core
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from automlops.errors import AutoMLOpsError
from automlops.serving.deps import CurrentModel, ServingContext, context
from automlops.serving.errors import ApiError, parse_json_body, require_json
from automlops.serving.loader import ServedModel
from automlops.serving.schemas import (
    ErrorBody,
    ImagePredictResponse,
    ImagesRequest,
    PredictRequest,
    PredictResponse,
)
from automlops.serving.served import ForecastModel
from automlops.serving.validation import RowsError, prepare_rows
from automlops.serving.vision import VisionServed, read_image_request

router = APIRouter(tags=["predict"])
INLINE_ROWS = 2000  # more rows than this are scored on a worker thread (~10 ms of work)

_MULTIPART = {"schema": {"type": "object", "title": "Images as file parts (vision models)", "properties": {
    "files": {"type": "array", "items": {"type": "string", "format": "binary"},
              "description": "One file part per image (JPEG, PNG, BMP, GIF, TIFF, WebP...)."},
    "threshold": {"type": "number", "minimum": 0, "maximum": 1,
                  "description": "Detection models only: the least score of a box returned."}},
    "required": ["files"]}, "encoding": {"files": {"contentType": "image/*"}}}
_REQUEST_BODY = {"required": True, "content": {
    "application/json": {"schema": {"anyOf": [PredictRequest.model_json_schema(), ImagesRequest.model_json_schema()],
                                    "examples": [*PredictRequest.model_json_schema()["examples"],
                                                 *ImagesRequest.model_json_schema()["examples"]]}},
    "multipart/form-data": _MULTIPART,
}}


def _images_sent(body: bytes) -> bool:
    """Did a body refused as rows carry images? (Only looked at once the body was refused.)"""
    import json

    try:
        sent = json.loads(body)
    except ValueError:
        return False
    return isinstance(sent, dict) and "images" in sent


def _parse(body: bytes, max_rows: int, served: ServedModel) -> PredictRequest:
    try:
        payload = parse_json_body(PredictRequest, body, '{"records": [...]} or {"columns": [...], "data": [[...]]}')
    except ApiError:
        if _images_sent(body):
            raise _images_not_accepted(served) from None
        raise
    if payload.n_rows > max_rows:
        raise ApiError(413, "too_many_rows", f"{payload.n_rows:,} rows in one request; the limit is {max_rows:,} "
                       "(API_MAX_ROWS): send them in smaller batches")
    if payload.n_rows == 0 and payload.horizon is None:
        raise ApiError(422, "invalid_request", "no rows to predict",
                       [{"field": "records" if payload.records is not None else "data", "row": None,
                         "message": "at least one row is required"}])
    return payload


def _score(served: ServedModel, payload: PredictRequest, unknown: str) -> tuple[Any, dict[str, Any]]:
    if payload.horizon is not None:
        raise ApiError(422, "invalid_request", f"'horizon' is for forecasting models; {served.name} is a "
                       f"{served.task} model: send rows only", [{"field": "horizon", "row": None,
                                                                 "message": "not a forecasting model"}])
    try:
        prepared = prepare_rows({"records": payload.records, "columns": payload.columns, "data": payload.data},
                                served.schema, unknown=unknown)
    except RowsError as exc:
        raise ApiError(422, "invalid_rows", str(exc), [f.to_dict() for f in exc.fields]) from None
    try:
        answer = served.answer(prepared)
    except (ValueError, TypeError, AutoMLOpsError) as exc:
        raise ApiError(422, "unscorable_rows", f"the model could not score these rows: {exc}") from None
    return prepared, answer


def _split_records(columns: list[str], data: list[list[Any]]) -> list[dict[str, Any]]:
    """Rows of the split shape as records, refusing what the other kinds refuse (422): a column named
    twice (which value?) and a row with more or fewer values than columns."""
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise ApiError(422, "invalid_rows", f"column(s) {', '.join(map(repr, twice))} named twice in 'columns'",
                       [{"field": c, "row": None, "message": "named twice"} for c in twice])
    for i, row in enumerate(data):
        if len(row) != len(columns):
            raise ApiError(422, "invalid_rows", f"row {i} has {len(row)} value(s) for {len(columns)} column(s)",
                           [{"field": "data", "row": i, "message": f"{len(row)} values, {len(columns)} columns"}])
    return [dict(zip(columns, row, strict=True)) for row in data]


def _forecast(served: ForecastModel, payload: PredictRequest) -> dict[str, Any]:
    """A forecasting model's answer: the forecast for ``horizon`` steps or for the future rows sent."""
    records = payload.records
    if records is None and payload.columns is not None:
        records = _split_records(payload.columns, payload.data or [])
    try:
        return served.answer_forecast(payload.horizon, records)
    except (ValueError, TypeError, AutoMLOpsError) as exc:
        raise ApiError(422, "unforecastable", f"the model could not forecast this: {exc}") from None


def _images_not_accepted(served: ServedModel) -> ApiError:
    return ApiError(422, "images_not_supported", f"{served.name} v{served.version} is a {served.task} model: it "
                    "predicts rows of its columns, not images (see GET /model for its columns)",
                    [{"field": "images", "row": None, "message": "not accepted by this model"}])


async def _predict_images(request: Request, served: VisionServed, ctx: ServingContext, media: str, request_id: str,
                          started: float) -> dict[str, Any]:
    """A vision model's answer for the images of ``request`` (on the thread pool: a forward pass is slow)."""
    settings = ctx.settings
    found = await read_image_request(request, media, max_images=settings.api_max_images)
    answer, sizes = await run_in_threadpool(served.answer_images, found.parts, threshold=found.threshold,
                                            max_pixels=settings.api_max_image_pixels)
    answer["warnings"] = [*found.warnings, *answer["warnings"]]
    if ctx.prediction_log is not None and served.task == "image_classification":
        # Only labels are logged, with each image's size as its "row": enough for the traffic and latency
        # figures and for true labels sent to POST /feedback. Column drift of table rows has no meaning for
        # pixels (no image is kept), and masks or boxes are too big to keep per request.
        from automlops.mlops.monitor import PredictionRecord

        classes = answer["classes"]
        ctx.prediction_log.submit(PredictionRecord(
            time.time(), request_id, served.name, served.version, ("image_width", "image_height"),
            [list(size) for size in sizes], answer["predictions"],
            [[p[c] for c in classes] for p in answer["probabilities"]], classes,
            latency_ms=(time.perf_counter() - started) * 1000.0))
    ctx.metrics.rows_predicted(served.name, served.version, answer["n_images"])  # an image counts as a row
    return answer


def _log(ctx: ServingContext, served: ServedModel, request_id: str, prepared: Any, predictions: list[Any],
         proba: Any, started: float) -> None:
    if ctx.prediction_log is not None:
        from automlops.mlops.monitor import PredictionRecord

        ctx.prediction_log.submit(PredictionRecord(
            time.time(), request_id, served.name, served.version, served.schema.columns, prepared.rows,
            predictions, proba, served.classes, latency_ms=(time.perf_counter() - started) * 1000.0))
    ctx.metrics.rows_predicted(served.name, served.version, prepared.n_rows)


@router.post(
    "/predict", response_model=None, summary="Predict rows with the served model",
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        200: {"model": PredictResponse | ImagePredictResponse,
              "description": "One prediction per row (per image for vision models), in request order."},
        413: {"model": ErrorBody, "description": "Body larger than API_MAX_BODY_BYTES (API_MAX_IMAGE_BODY_BYTES for a "
                                                 "vision model), more rows than API_MAX_ROWS, more images than "
                                                 "API_MAX_IMAGES, or an image over API_MAX_IMAGE_PIXELS."},
        415: {"model": ErrorBody, "description": "The body is not declared as JSON (content-type: application/json), "
                                                 "or, for a vision model, as JSON or multipart/form-data."},
        422: {"model": ErrorBody, "description": "Malformed body, rows that do not fit the model's schema "
                                                 "(per-field messages in `fields`), images sent to a table model "
                                                 "or rows to a vision model, or a part that is not an image "
                                                 "(`not_an_image`, naming the part)."},
        503: {"model": ErrorBody, "description": "No model loaded yet."},
    },
)
async def predict(request: Request, served: CurrentModel) -> Response:
    """Validate the rows against the model's feature schema, then predict them.

    Send `{"records": [{column: value, ...}, ...]}` or `{"columns": [...], "data": [[...], ...]}`;
    `null` is a missing value. Classifiers also answer `probabilities`, one list per row in
    `classes` order; clustering models answer each row's cluster number; anomaly detectors a 0/1 flag
    per row with its `scores` and the `threshold`. Forecasting models take `{"horizon": H}` (and
    optionally rows of future timestamps and exogenous values) and answer `forecast`. Columns the model does not use are ignored (with a warning) or refused,
    per the API_UNKNOWN_COLUMNS setting; categories not seen in training are accepted with a warning.

    Vision models take images: a `multipart/form-data` body with one file part per image
    (`curl -F files=@cat.jpg -F files=@dog.png`), or JSON `{"images": ["<base64>", ...]}`, with an
    optional `threshold` for detection. They answer `predictions` and `probabilities` (one
    `{class: p}` per image) for classification, `masks` (a PNG of class indices, base64, with
    `pixel_counts`) for segmentation, and `detections` (`box` [x1, y1, x2, y2], `label`, `score`)
    for detection.
    """
    started = time.perf_counter()
    ctx = context(request)
    request_id = uuid.uuid4().hex
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if isinstance(served, VisionServed):
        answer = await _predict_images(request, served, ctx, media, request_id, started)
        body = pydantic_core.to_json({"request_id": request_id, "model": served.ref, **answer}, inf_nan_mode="null")
        return Response(body, media_type="application/json", headers={"x-request-id": request_id})
    if media == "multipart/form-data":
        raise _images_not_accepted(served)
    require_json(media)
    payload = _parse(await request.body(), ctx.settings.api_max_rows, served)
    if isinstance(served, ForecastModel):
        answer = await run_in_threadpool(_forecast, served, payload)
        ctx.metrics.rows_predicted(served.name, served.version, answer["n_rows"])
    else:
        unknown = ctx.settings.api_unknown_columns
        if payload.n_rows > INLINE_ROWS:
            prepared, answer = await run_in_threadpool(_score, served, payload, unknown)
        else:
            prepared, answer = _score(served, payload, unknown)
        _log(ctx, served, request_id, prepared, answer["predictions"], answer.get("probabilities"), started)
        answer = {"n_rows": prepared.n_rows, **answer, "warnings": prepared.warnings}
    body = pydantic_core.to_json({"request_id": request_id, "model": served.ref, **answer}, inf_nan_mode="null")
    return Response(body, media_type="application/json", headers={"x-request-id": request_id})
