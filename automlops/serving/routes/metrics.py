"""``GET /metrics``: the Prometheus scrape endpoint (see :mod:`automlops.serving.metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from automlops.serving.deps import context
from automlops.serving.metrics import CONTENT_TYPE

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (text exposition format)",
            responses={200: {"content": {"text/plain": {"example": 'automlops_model_reloads_total{result="success"} 3\n'}},
                             "description": "Requests by route and status, latency histogram, model reloads."}})
async def metrics(request: Request) -> PlainTextResponse:
    return PlainTextResponse(context(request).metrics.render(), media_type=CONTENT_TYPE)
