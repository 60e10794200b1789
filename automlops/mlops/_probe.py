"""Is a remote MLflow server there, and does it accept us? One cheap request tells.

The answer is one of four states a person can act on: *connected*; *unauthorized* (HTTP 401/403:
wrong user or token); *unreachable* (no answer in time: wrong address, server down, offline);
or *error* (it answered, but not as an MLflow server would). :func:`bound_http_requests` keeps
every later request of the process short, so a server that dies mid-training cannot hold a
time budget hostage.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from automlops.config import Settings

__all__ = ["State", "bound_http_requests", "probe_http"]

State = Literal["connected", "unauthorized", "unreachable", "error"]


def probe_http(uri: str, timeout: float, *, where: str) -> tuple[State, str]:
    """One ``experiments/search`` call, no retries, ``timeout`` seconds, raw status code.

    The timeout and retry count are passed to MLflow's request helper directly instead of
    through ``MLFLOW_HTTP_REQUEST_*`` environment variables, which would also shorten the
    requests of training threads running at the same moment. ``where`` is the URI as it may be
    shown (credentials removed).
    """
    import requests
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    try:
        response = http_request(
            get_default_host_creds(uri), "/api/2.0/mlflow/experiments/search", "POST",
            max_retries=0, backoff_factor=0, timeout=max(timeout, 0.1), raise_on_status=False,
            json={"max_results": 1},
        )
    except Exception as exc:
        cause = exc.__cause__ or exc.__context__ or exc
        if isinstance(cause, requests.exceptions.RequestException | OSError):
            return "unreachable", f"no answer from {where} within {timeout:g} s"
        raise
    if response.status_code in (401, 403):
        return "unauthorized", f"{where} refused the credentials (HTTP {response.status_code})"
    if response.status_code != 200:
        return "error", f"{where} answered HTTP {response.status_code}"
    return "connected", f"connected to {where}"


def bound_http_requests(settings: Settings) -> None:
    """Bound every MLflow HTTP request of this process: timeout, retries and backoff from ``settings``.

    MLflow's defaults (120 s per request, 7 retries with exponentially growing waits) make one
    call to a dead server last minutes, far past a training's time budget. MLflow reads its
    ``MLFLOW_HTTP_REQUEST_*`` variables at each request, so this sets them, process-wide: call it
    at an entry point (the CLI command, a job worker), never at import. The Settings fields read
    the same variable names, so a value the user exported is kept.
    """
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = f"{settings.tracking_request_timeout:g}"
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(settings.tracking_request_retries)
    os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"] = str(settings.tracking_backoff_factor)
