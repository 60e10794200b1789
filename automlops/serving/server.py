"""How ``automlops serve`` runs uvicorn: connection limits, and a deadline for request headers.

A server holds one open connection per client. A *slow* client ("slowloris") opens many and
sends its request headers one byte at a time, or never: each costs the server a socket and
some memory, and uvicorn on its own waits for headers forever. So the service runs uvicorn with

* a **header deadline** (``HEADER_TIMEOUT`` seconds): a connection whose request line and
  headers are not complete by then is closed (:func:`header_timeout_protocol`);
* ``timeout_keep_alive``: an idle keep-alive connection is closed after a few seconds;
* ``h11_max_incomplete_event_size``: request headers larger than this are refused;
* ``limit_concurrency``: beyond this many connections and tasks, new requests get 503 at once
  instead of queueing without bound;
* ``timeout_graceful_shutdown``: on SIGTERM, requests in flight get this long to finish.

In production, still put a reverse proxy (nginx, Caddy, Traefik) in front: it buffers slow
clients, terminates TLS and enforces per-client limits (see the README).
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["HEADER_TIMEOUT", "SERVER_LIMITS", "header_timeout_protocol", "server_options"]

HEADER_TIMEOUT = 10.0
SERVER_LIMITS: dict[str, Any] = {
    "timeout_keep_alive": 5,
    "h11_max_incomplete_event_size": 16 * 1024,
    "limit_concurrency": 256,
    "backlog": 512,
    "timeout_graceful_shutdown": 10,
}


def header_timeout_protocol(base: Any, seconds: float) -> type[asyncio.Protocol]:
    """``base`` (a uvicorn HTTP protocol class) that closes connections whose headers are late.

    The timer starts when the connection opens, and again when the first bytes of a next
    request arrive on a kept-alive connection; it does nothing if a request has started since
    (uvicorn then holds a new request *cycle*).
    """

    class HeaderTimeoutProtocol(base):  # type: ignore[misc, valid-type]
        _header_timer: asyncio.TimerHandle | None = None
        _armed_for: Any = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm_header_timer()
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            self._armed_for = self.cycle
            self._header_timer = asyncio.get_running_loop().call_later(seconds, self._headers_late)

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.cycle is self._armed_for and not self.transport.is_closing():
                self.transport.close()  # no request started in time

    return HeaderTimeoutProtocol


def server_options(header_timeout: float = HEADER_TIMEOUT, **overrides: Any) -> dict[str, Any]:
    """uvicorn keyword arguments: :data:`SERVER_LIMITS`, the header deadline, then ``overrides``."""
    from uvicorn.config import HTTP_PROTOCOLS
    from uvicorn.importer import import_from_string

    http = overrides.pop("http", "auto")
    base = import_from_string(HTTP_PROTOCOLS[http]) if isinstance(http, str) else http
    return {**SERVER_LIMITS, "http": header_timeout_protocol(base, header_timeout), **overrides}
