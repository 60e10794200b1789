"""``GET /`` (is the process alive, what does it serve) and ``GET /ready`` (can it predict now).

An orchestrator (Docker, Kubernetes) restarts a container whose *liveness* check fails and
sends traffic only to one whose *readiness* check passes; a service without a model is alive
but not ready. Neither needs the API key: they reveal no data.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from automlops import __version__
from automlops.serving.deps import context, current_model
from automlops.serving.schemas import ErrorBody, HealthResponse, ReadyResponse

router = APIRouter(tags=["health"])


@router.get("/", response_model=HealthResponse, summary="Health: is the service up, which model it serves")
async def health(request: Request) -> HealthResponse:
    ctx = context(request)
    served = ctx.manager.current if ctx.manager is not None else None
    return HealthResponse(
        status="ok" if served is not None else "no_model",
        model=served.ref if served is not None else None,  # type: ignore[arg-type]
        loaded_at=served.loaded_at.isoformat() if served is not None else None,
        uptime_seconds=round(time.time() - ctx.metrics.started, 3),
        studio_version=__version__,
    )


@router.get("/ready", response_model=ReadyResponse, summary="Readiness: 200 only when a verified model is loaded",
            responses={503: {"model": ErrorBody, "description": "No model loaded yet, with the reason."}})
async def ready(request: Request) -> ReadyResponse:
    served = await current_model(request)
    return ReadyResponse(ready=True, model=served.ref)  # type: ignore[arg-type]
