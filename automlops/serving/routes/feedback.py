"""``POST /feedback``: the true labels of earlier predictions (ground truth), for live accuracy.

Every ``/predict`` answer carries a ``request_id``; when the truth is known, send it back with the
row's place in that request (``row``, 0 for the first) and the true ``label``. Labels are stored
beside the prediction log (:mod:`automlops.mlops.feedback`): the Monitoring page and
``automlops monitor`` then report accuracy (classifiers) or error (regressors) on live traffic.
A batch is all or nothing: one unknown request id or row out of range and nothing is stored (404,
every bad entry named in ``fields``). A label sent again for the same row replaces the earlier one.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from automlops.errors import DataError
from automlops.serving.deps import ServingContext, context
from automlops.serving.errors import ApiError, parse_json_body, require_json
from automlops.serving.schemas import ErrorBody

__all__ = ["FeedbackEntry", "FeedbackRequest", "FeedbackResponse", "router"]

router = APIRouter(tags=["feedback"])


class FeedbackEntry(BaseModel):
    """The true label of one predicted row."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=200, description="The `request_id` of a /predict answer.")
    row: int = Field(default=0, ge=0, description="The row's place in that request (0 for the first).")
    label: str | int | float | bool = Field(description="The true class (classification) or value (regression).")


class FeedbackRequest(BaseModel):
    """Labels for rows the API predicted earlier."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"feedback": [{"request_id": "3f2a9c0e5b7d4e1f8a6b2c4d9e0f1a2b", "row": 0, "label": "Adelie"},
                      {"request_id": "3f2a9c0e5b7d4e1f8a6b2c4d9e0f1a2b", "row": 1, "label": "Gentoo"}]},
    ]})

    feedback: list[FeedbackEntry] = Field(description="One entry per labelled row.")


class FeedbackResponse(BaseModel):
    """How many labels were stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"recorded": 2, "replaced": 0, "request_ids": 1}]})

    recorded: int = Field(description="Labels stored by this call.")
    replaced: int = Field(description="Of those, how many replaced a label sent earlier for the same row.")
    request_ids: int = Field(description="Distinct requests they belong to.")




def _inline_schema() -> dict[str, Any]:
    """The request's JSON schema with the entry schema written in place (a ``#/$defs`` reference would
    not resolve inside the OpenAPI document, so clients and fuzzers could not read it)."""
    schema = FeedbackRequest.model_json_schema()
    entry = schema.pop("$defs")["FeedbackEntry"]
    schema["properties"]["feedback"]["items"] = entry
    schema["properties"]["feedback"]["minItems"] = 1  # checked in _parse, with its own message
    return schema


_REQUEST_BODY = {"required": True, "content": {"application/json": {"schema": _inline_schema()}}}


def _parse(body: bytes, max_items: int) -> FeedbackRequest:
    payload = parse_json_body(FeedbackRequest, body, '{"feedback": [{"request_id": "...", "row": 0, "label": ...}, ...]}')
    if not payload.feedback:
        raise ApiError(422, "invalid_request", "no feedback to record",
                       [{"field": "feedback", "row": None, "message": "at least one entry is required"}])
    if len(payload.feedback) > max_items:
        raise ApiError(413, "too_many_items", f"{len(payload.feedback):,} feedback entries in one request; the "
                       f"limit is {max_items:,}: send them in smaller batches")
    return payload


def _record(ctx: ServingContext, payload: FeedbackRequest) -> Any:
    from automlops.mlops.feedback import FeedbackItem, UnknownFeedbackError, record_feedback
    from automlops.mlops.monitor import default_log_path

    log = ctx.prediction_log
    path = log.path if log is not None else default_log_path(ctx.settings)
    if log is None and not path.exists():
        raise ApiError(404, "unknown_request_ids", "this service does not log its predictions "
                       "(AUTOMLOPS_PREDICTION_LOG_ENABLED=false), so no request id can be matched; nothing stored")
    if log is not None:
        log.flush(timeout=2.0)  # a prediction answered a moment ago may still be queued for the log
    items = [FeedbackItem(e.request_id, e.label, e.row) for e in payload.feedback]
    try:
        return record_feedback(items, path=path)
    except UnknownFeedbackError as exc:
        fields: list[dict[str, Any]] = [{"field": "request_id", "row": None, "message": f"unknown request id {rid!r}"}
                  for rid in exc.unknown[:100]]
        fields += [{"field": "row", "row": row, "message": f"request {rid!r} has {n} row(s)"}
                   for rid, row, n in exc.out_of_range[:100]]
        raise ApiError(404, "unknown_request_ids", str(exc), fields) from None
    except DataError as exc:
        raise ApiError(422, "invalid_feedback", str(exc)) from None


@router.post(
    "/feedback", response_model=None, summary="Send the true labels of earlier predictions",
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        200: {"model": FeedbackResponse, "description": "The labels were stored (all of them)."},
        404: {"model": ErrorBody, "description": "Unknown request ids or rows out of range (named in `fields`); "
                                                 "nothing was stored."},
        413: {"model": ErrorBody, "description": "More entries than API_MAX_ROWS in one request."},
        415: {"model": ErrorBody, "description": "The body is not declared as JSON (content-type: application/json)."},
        422: {"model": ErrorBody, "description": "Malformed body, no entries, or an unusable label."},
    },
)
async def feedback(request: Request) -> Response:
    """Store ground truth for rows predicted earlier (see the module docstring): all or nothing."""
    ctx = context(request)
    require_json(request.headers.get("content-type"))
    payload = _parse(await request.body(), ctx.settings.api_max_rows)
    result = await run_in_threadpool(_record, ctx, payload)
    body = {"recorded": result.recorded, "replaced": result.replaced, "request_ids": result.request_ids}
    return Response(pydantic_core.to_json(body), media_type="application/json")
