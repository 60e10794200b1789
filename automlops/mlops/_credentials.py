"""Credentials that belong to one tracking client, never to the whole process.

MLflow's own way to log in to a server is two environment variables,
``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD``, read again at every request.
But the environment belongs to the whole process: if the Settings page probes server B while a
training job logs to server A, whichever identity was exported last goes to *both* servers, and
B's token reaches A. So the studio never exports them. Each :class:`ServerCredentials` stays
with the tracker it was given to, and is *bound* to the calls that tracker's client makes:

* a :mod:`contextvars` variable holds "the credentials of the client making this call". It is
  set by :func:`bound` around each call and is private to the thread (or asyncio task) that set
  it: two threads talking to two servers never see each other's identity;
* a request-header provider, registered once in MLflow's plugin registry
  (``mlflow.tracking.request_header.registry``), adds ``Authorization: Basic ...`` to an MLflow
  HTTP request only while that variable holds credentials. Outside a bound call it adds nothing.

A thread started *inside* a bound call begins with an empty context, and MLflow downloads
artifacts in a thread pool. :meth:`BoundClient.download_artifacts` therefore runs the download
in a pool that copies the caller's context into each task.

One thing this cannot undo: if the *user* sets ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` in the
environment, MLflow itself sends them with every request, and they win over ours.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["BoundClient", "ServerCredentials", "bound"]

P = ParamSpec("P")
R = TypeVar("R")

_active: contextvars.ContextVar[ServerCredentials | None] = contextvars.ContextVar(
    "automlops_tracking_credentials", default=None)
_install_lock = threading.Lock()
_installed = False


@dataclass(frozen=True)
class ServerCredentials:
    """A username and password (or token) for the MLflow server at ``uri``; the password is not in ``repr``."""

    uri: str
    username: str
    password: str = field(repr=False)

    def authorization(self) -> str:
        """The value of an HTTP basic-auth ``Authorization`` header."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


class _BoundCredentialsHeader:
    """MLflow request-header provider (``RequestHeaderProvider`` protocol) for the bound credentials."""

    def in_context(self) -> bool:
        return _active.get() is not None

    def request_headers(self) -> dict[str, str]:
        credentials = _active.get()
        return {"Authorization": credentials.authorization()} if credentials is not None else {}


def _install() -> None:
    """Register the header provider with MLflow, once per process (on first use, not at import)."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if not _installed:
            from mlflow.tracking.request_header.registry import _request_header_provider_registry

            _request_header_provider_registry.register(_BoundCredentialsHeader)
            _installed = True


@contextlib.contextmanager
def bound(credentials: ServerCredentials | None) -> Iterator[None]:
    """MLflow requests made in this block (this thread, this task) carry ``credentials``, or none."""
    _install()
    token = _active.set(credentials)
    try:
        yield
    finally:
        _active.reset(token)


class _ContextPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitting thread's context."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        task = functools.partial(fn, *args, **kwargs)
        return super().submit(contextvars.copy_context().run, task)


class BoundClient:
    """An ``MlflowClient`` whose every call carries ``credentials`` (and nobody else's).

    Attribute access is forwarded to the wrapped client; each method call runs inside
    :func:`bound`. ``credentials=None`` binds "no credentials", so an identity bound by an outer
    call is not inherited either.
    """

    def __init__(self, client: MlflowClient, credentials: ServerCredentials | None) -> None:
        self._client = client
        self._credentials = credentials

    def __getattr__(self, name: str) -> Any:
        if name in ("_client", "_credentials"):  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        value = getattr(self._client, name)
        if not callable(value):
            return value
        credentials = self._credentials

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            with bound(credentials):
                return value(*args, **kwargs)

        return call

    def __repr__(self) -> str:
        return f"BoundClient({self._client.tracking_uri!r}, user={getattr(self._credentials, 'username', None)!r})"

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Like ``MlflowClient.download_artifacts``, with the credentials reaching the download threads."""
        if self._credentials is None:
            with bound(None):
                return str(self._client.download_artifacts(run_id, path, dst_path))
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        if dst_path is not None:
            Path(dst_path).mkdir(parents=True, exist_ok=True)
        with bound(self._credentials):
            artifact_uri = self._client.get_run(run_id).info.artifact_uri
            repo = get_artifact_repository(artifact_uri, tracking_uri=self._client.tracking_uri)
            pool = _ContextPool(max_workers=repo.max_workers, thread_name_prefix="automlops-artifacts")
            repo.thread_pool = pool  # MLflow's own pool would start its threads with an empty context
            try:
                return str(repo.download_artifacts(path, dst_path))
            finally:
                pool.shutdown(wait=True)
