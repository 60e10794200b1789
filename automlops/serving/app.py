"""``create_app()``: the prediction service as a FastAPI application.

A *factory* rather than a module-level app: each call builds an independent service from one
:class:`~automlops.config.Settings`, so tests create as many as they like with their own model
folder and key, and importing this module starts nothing. The *lifespan* is what runs when the
server starts and stops: load the newest valid model, start the hot-reload thread and the
prediction-log writer; then stop them, writing what is still queued.

Run it with ``uvicorn api:app`` (``api.py`` calls ``create_app()``) or ``automlops serve``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from automlops import __version__
from automlops.config import Settings, get_settings
from automlops.serving.deps import ServingContext, resolve_api_key
from automlops.serving.errors import install_error_handlers
from automlops.serving.metrics import Metrics
from automlops.serving.middleware import ServingMiddleware
from automlops.serving.openapi import install_openapi
from automlops.serving.routes import PUBLIC_PATHS, protected, public
from automlops.serving.vision import image_body_limit

__all__ = ["create_app"]

log = logging.getLogger("automlops.serving")

DESCRIPTION = """
Serves one model of the AutoMLOps Studio model store and hot-reloads newer versions *of that
name* without a restart: the version chosen with *Serve this version* on the dashboard's Models
page (`models/SERVING.json`), else the name pinned by `MODEL_NAME` / `MODEL_VERSION` (with
`MODEL_STAGE=production`: the version holding that stage in the MLflow model registry), else the
newest model at start-up. `POST /predict` below describes the served model's own columns.

Every route except `/`, `/ready` and these docs needs the API key in the **`x-api-key`** header
(use *Authorize* above). Errors always answer `{"error": {"code", "message", "fields"}}`.
"""


def _ensure_log_handler() -> None:
    """Show the service's own INFO lines (model loaded/refused) next to uvicorn's."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


async def _start(ctx: ServingContext) -> None:
    from automlops.mlops.monitor import PredictionLog
    from automlops.mlops.store import ModelStore
    from automlops.serving.loader import ModelManager, Reloader
    from automlops.serving.stage import StageWatch

    settings = ctx.settings
    stage = (StageWatch(settings, settings.model_name, settings.model_stage)
             if settings.model_stage and settings.model_name else None)  # MODEL_STAGE: follow the registry
    manager = ModelManager(ModelStore(settings=settings), name=settings.model_name,
                           version=settings.model_version, metrics=ctx.metrics, stage=stage)
    manager.refresh(force=True)
    if manager.current is None:
        log.warning("no model served yet: %s", manager.problem)
    ctx.manager = manager
    ctx.reloader = Reloader(manager, settings.api_reload_interval).start()
    if settings.prediction_log_enabled:
        ctx.prediction_log = PredictionLog(settings=settings).start()
        plog = ctx.prediction_log
        ctx.metrics.gauge("automlops_prediction_log_rows_written_total", "Prediction rows written to the log.",
                          lambda: [({}, plog.written)], kind="counter")
        ctx.metrics.gauge("automlops_prediction_log_dropped_total", "Requests not logged: the log queue was full.",
                          lambda: [({}, plog.dropped)], kind="counter")
        ctx.metrics.gauge("automlops_prediction_log_failed_rows_total", "Prediction rows lost to a write error.",
                          lambda: [({}, plog.failed)], kind="counter")
    ctx.metrics.gauge("automlops_model_info", "The model being served (value 1; none while no model).",
                      lambda: [({"model": m.name, "version": str(m.version), "task": m.task}, 1)]
                      if (m := manager.current) is not None else [])


def _stop(ctx: ServingContext) -> None:
    if ctx.reloader is not None:
        ctx.reloader.stop()
    if ctx.prediction_log is not None:
        ctx.prediction_log.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service. Raises ConfigError at once when the API key is missing or the placeholder."""
    settings = settings or get_settings()
    ctx = ServingContext(settings=settings, api_key=resolve_api_key(settings).encode("utf-8"), metrics=Metrics())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _ensure_log_handler()
        await _start(ctx)
        try:
            yield
        finally:
            _stop(ctx)

    app = FastAPI(title="AutoMLOps Studio prediction API", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)  # /docs: routes/docs.py, offline
    app.state.serving = ctx
    install_error_handlers(app)
    app.include_router(public)
    app.include_router(protected)
    install_openapi(app, ctx)
    known = frozenset(r.path for r in iter_route_contexts(app.routes) if r.path) | PUBLIC_PATHS
    app.add_middleware(ServingMiddleware, metrics=ctx.metrics, max_body_bytes=settings.api_max_body_bytes,
                       known_paths=known, limit_for=image_body_limit(ctx))  # images are bigger than rows
    return app
