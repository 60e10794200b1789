"""Every error the API answers has one JSON shape.

``{"error": {"code": "...", "message": "...", "fields": [...]}}`` — ``code`` is stable and
meant for programs (``unauthorized``, ``invalid_rows``, ``too_many_rows``...), ``message`` is
meant for people, and ``fields`` lists per-value problems (``{"field", "row", "message"}``)
when a request's rows do not fit the model. The handlers below turn FastAPI's and Starlette's
own errors (unknown route, malformed JSON...) into the same shape, so a client parses one
format. A 500 is a bug in the studio: the catch-all handler answers it in the same shape
without details, and logs the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from automlops.errors import AutoMLOpsError

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["ApiError", "error_body", "install_error_handlers", "parse_json_body", "require_json", "validation_fields"]

log = logging.getLogger("automlops.serving")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
          422: "invalid_request", 429: "too_many_requests", 503: "unavailable"}


class ApiError(Exception):
    """Raise from a route or dependency to answer ``status`` with the standard error body."""

    def __init__(self, status: int, code: str, message: str, fields: Sequence[dict[str, Any]] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = list(fields)
        self.headers = headers


def error_body(code: str, message: str, fields: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": list(fields)}}


def _json(status: int, code: str, message: str, fields: Sequence[dict[str, Any]] = (),
          headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, fields), status_code=status, headers=headers)


def _field_path(loc: Sequence[Any]) -> tuple[str, int | None]:
    """``("body", "records", 3, "age")`` → ``("records.age", 3)``: the field and the row."""
    parts = [p for p in loc if p != "body"]
    row = next((p for p in parts if isinstance(p, int)), None)
    return ".".join(str(p) for p in parts if not isinstance(p, int)) or "body", row


def validation_fields(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI validation errors as ``{"field", "row", "message"}`` entries."""
    out = []
    for err in list(errors)[:50]:
        field, row = _field_path(err.get("loc", ()))
        out.append({"field": field, "row": row, "message": str(err.get("msg", "invalid value"))})
    return out


def require_json(content_type: str | None) -> None:
    """415 unless the body is declared as JSON: a client that says ``text/plain`` (or nothing,
    as ``curl -d`` without a header) gets told how to fix it, instead of having its guess accepted."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    raise ApiError(415, "unsupported_media_type", f"the body is sent as {media or 'no content-type'}; send JSON "
                   "with the header 'content-type: application/json'")


Body = TypeVar("Body", bound="BaseModel")


def parse_json_body(model: type[Body], body: bytes, shape: str) -> Body:
    """``body`` validated as ``model``; a 422 naming the expected ``shape`` and each bad field otherwise."""
    from pydantic import ValidationError

    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", f"the body must be JSON: {shape}",
                       validation_fields(exc.errors())) from None


def install_error_handlers(app: FastAPI) -> None:
    """Route every error FastAPI can raise to the standard JSON body."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _json(422, "invalid_request", "the request does not match the documented schema",
                     validation_fields(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404:
            message = f"no route {request.url.path!r}; see /docs for the API"
        return _json(exc.status_code, _CODES.get(exc.status_code, "http_error"), message,
                     headers=getattr(exc, "headers", None))

    @app.exception_handler(AutoMLOpsError)
    async def _studio(request: Request, exc: AutoMLOpsError) -> JSONResponse:
        return _json(422, "invalid_request", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # last resort: a bug
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _json(500, "internal_error", "unexpected server error; it was logged")
