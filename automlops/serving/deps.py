"""What routes depend on: the API key check and the model being served.

FastAPI *dependencies* are functions a route names in its signature; FastAPI calls them
before the route and passes in their result (or stops with their error). Written as
``Annotated`` aliases (``served: CurrentModel``) they read like types.

**The API key.** One secret from ``Settings`` (env ``API_KEY``), sent by clients in the
``x-api-key`` header and compared with :func:`secrets.compare_digest`, whose running time does
not depend on where two strings first differ (a plain ``==`` stops early, and the time it
takes leaks how much of a guess was right). The key is never logged. The service refuses to
start with an empty key or the ``.env.example`` placeholder; in development
(``AUTOMLOPS_DEV=true``) it makes a random one and prints it once on stderr.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from automlops.config import API_KEY_PLACEHOLDER, Settings
from automlops.errors import ConfigError
from automlops.serving.errors import ApiError
from automlops.serving.loader import ModelManager, Reloader, ServedModel
from automlops.serving.metrics import Metrics

if TYPE_CHECKING:
    from automlops.mlops.monitor import PredictionLog

__all__ = ["API_KEY_HEADER", "ApiKey", "CurrentModel", "ServingContext", "context", "current_model",
           "require_api_key", "resolve_api_key"]

API_KEY_HEADER = "x-api-key"
_api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="ApiKey",
                               description="The service's API key (env API_KEY).")


def resolve_api_key(settings: Settings) -> str:
    """The key to accept, or ConfigError (one line) when it is missing or still the placeholder."""
    key = (settings.api_key or "").strip()
    if key and key != API_KEY_PLACEHOLDER:
        return key
    if settings.api_dev_mode:
        key = secrets.token_urlsafe(32)
        print(f"AUTOMLOPS_DEV=true: this run's API key is {key} (send it as the x-api-key header)",
              file=sys.stderr, flush=True)
        return key
    problem = "API_KEY is not set" if not key else f"API_KEY is still the placeholder {API_KEY_PLACEHOLDER!r}"
    raise ConfigError(f"{problem}: the prediction service will not start without a secret key; set API_KEY "
                      "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'), or "
                      "AUTOMLOPS_DEV=true for a throwaway key")


@dataclass
class ServingContext:
    """Everything one service instance shares between requests (``app.state.serving``)."""

    settings: Settings = field(repr=False)
    api_key: bytes = field(repr=False)
    metrics: Metrics
    manager: ModelManager | None = None
    reloader: Reloader | None = None
    prediction_log: PredictionLog | None = None


def context(request: Request) -> ServingContext:
    ctx: ServingContext = request.app.state.serving
    return ctx


def _header_bytes(value: str) -> bytes:
    """The header's bytes as the client sent them: ASGI servers decode header values as latin-1, so
    encoding back to latin-1 restores them (a UTF-8 ``é`` stays the two bytes a UTF-8 key has)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # not from an HTTP header: compare its UTF-8 bytes
        return value.encode("utf-8", "surrogateescape")


async def require_api_key(request: Request,
                          key: Annotated[str | None, Security(_api_key_scheme)] = None) -> None:
    """401 unless the ``x-api-key`` header holds the service's key."""
    expected = context(request).api_key
    if key is None or not secrets.compare_digest(_header_bytes(key), expected):
        raise ApiError(401, "unauthorized", "missing or wrong API key: send it in the x-api-key header",
                       headers={"WWW-Authenticate": "ApiKey"})


async def current_model(request: Request) -> ServedModel:
    """The model being served right now; 503 while there is none."""
    manager = context(request).manager
    served = manager.current if manager is not None else None
    if served is None:
        reason = manager.problem if manager is not None else "the service is starting"
        raise ApiError(503, "no_model", f"no model is being served: {reason}", headers={"Retry-After": "2"})
    return served


ApiKey = Annotated[None, Depends(require_api_key)]
CurrentModel = Annotated[ServedModel, Depends(current_model)]
