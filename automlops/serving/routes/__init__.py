"""The API's routes, one module per resource.

``public`` routes (health, readiness, the docs and their files) answer without a key; every route of ``protected`` runs
:func:`~automlops.serving.deps.require_api_key` first. A new route goes on one of the two
routers, and ``tests/serving/test_auth.py`` checks every route of the app against that rule.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from automlops.serving.deps import require_api_key
from automlops.serving.routes import docs, explain, feedback, health, metrics, model, predict
from automlops.serving.schemas import ErrorBody

__all__ = ["PUBLIC_PATHS", "protected", "public"]

PUBLIC_PATHS = frozenset({"/", "/ready"}) | docs.DOCS_PATHS

public = APIRouter()
public.include_router(health.router)
public.include_router(docs.router)

protected = APIRouter(
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorBody, "description": "Missing or wrong x-api-key header."}},
)
protected.include_router(predict.router)
protected.include_router(explain.router)
protected.include_router(feedback.router)
protected.include_router(model.router)
protected.include_router(metrics.router)
