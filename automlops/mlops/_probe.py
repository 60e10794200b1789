"""Is a remote MLflow server there, and does it accept us? One cheap request tells.

The answer is one of four states a person can act on: *connected*; *unauthorized* (HTTP 401/403:
wrong user or token); *unreachable* (no answer in time: wrong address, server down, offline);
or *error* (it answered, but not as an MLflow server would).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["State", "probe_http"]

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
