"""The prediction service: FastAPI app factory, routes, hot reload, metrics.

``create_app()`` builds the app (``api.py`` exposes it as ``app`` for ``uvicorn api:app``);
:func:`run` starts it with uvicorn (the ``automlops serve`` command). Imports are lazy so that
``import automlops.serving`` costs nothing until a service is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from automlops.config import Settings

__all__ = ["create_app", "run"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """See :func:`automlops.serving.app.create_app`."""
    from automlops.serving.app import create_app as factory

    return factory(settings)


def run(host: str | None = None, port: int | None = None, *, settings: Settings | None = None,
        log_level: str = "info", access_log: bool = True, **uvicorn_options: Any) -> None:
    """Serve the API with uvicorn on ``host:port`` (default 127.0.0.1 and ``API_PORT``) until Ctrl-C.

    uvicorn runs with the limits of :mod:`automlops.serving.server` (a deadline for request
    headers, keep-alive and header-size limits, a concurrency cap); ``uvicorn_options`` override them.
    Raises :class:`~automlops.errors.ConfigError` (before binding the port) when the API key is
    missing or still the placeholder; the CLI turns it into a one-line message and exit code 2.
    """
    import uvicorn

    from automlops.config import get_settings
    from automlops.serving.server import server_options

    settings = settings or get_settings()
    app = create_app(settings)
    uvicorn.run(app, host=host or "127.0.0.1", port=port or settings.api_port, log_level=log_level,
                access_log=access_log, **server_options(**uvicorn_options))
