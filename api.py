"""The prediction API: ``uvicorn api:app`` (or ``automlops serve``).

The code lives in :mod:`automlops.serving`; this file only builds the app, so it imports fast
and starts nothing until uvicorn runs the lifespan. Without a usable ``API_KEY`` (or
``AUTOMLOPS_DEV=true``) it stops here with a one-line message.
"""

from __future__ import annotations

from automlops.errors import ConfigError
from automlops.serving.app import create_app

try:
    app = create_app()
except ConfigError as exc:
    raise SystemExit(f"automlops api: {exc}") from None

__all__ = ["app"]
