"""The one ASGI middleware of the service: body-size limit and request metrics.

It is written against the raw ASGI interface (``scope, receive, send``) rather than
Starlette's ``BaseHTTPMiddleware``, which wraps every request in extra tasks and streams and
costs tens of microseconds a request: this one adds a few.

* **Body limit.** A body larger than ``API_MAX_BODY_BYTES`` is refused with 413 before it is
  parsed: from its ``Content-Length`` when announced, else while it streams in. A client
  cannot make the service buffer more than the limit. ``limit_for`` may set another limit
  for some requests (images sent to a served vision model: ``API_MAX_IMAGE_BODY_BYTES``).
  The limit applies to every body, multipart uploads included.
* **Metrics.** Each request is counted by *route template* (``/predict``, never the raw URL,
  so random 404 paths cannot blow up the number of time series), method and status, and its
  duration goes into the latency histogram.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from automlops.serving.errors import error_body
from automlops.serving.metrics import Metrics

__all__ = ["ServingMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
BodyLimit = Callable[[Scope], "tuple[int, str] | None"]  # (bytes, setting name) for this request, or the default


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


class ServingMiddleware:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], *, metrics: Metrics,
                 max_body_bytes: int, known_paths: frozenset[str] = frozenset(),
                 limit_for: BodyLimit | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.limit_for = limit_for
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["method"] in _WITH_BODY:
                body = await self._read_body(scope, receive)
                if body is None:
                    await self._too_large(scope, send_status)
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or (scope["path"] if scope["path"] in self.known_paths
                                                    else "unmatched")
            self.metrics.observe_request(path, scope["method"], status, time.perf_counter() - started)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to exceed the limit."""
        special = self.limit_for(scope) if self.limit_for is not None else None
        limit, setting = special or (self.max_body_bytes, "API_MAX_BODY_BYTES")
        scope["automlops.body_limit"] = (limit, setting)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        scope["automlops.body_size"] = (int(value), "")
                        return None
                except ValueError:
                    pass
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                scope["automlops.body_size"] = (size, "at least ")  # the rest was never read
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        size, at_least = scope.get("automlops.body_size", (0, "at least "))
        limit, setting = scope.get("automlops.body_limit", (self.max_body_bytes, "API_MAX_BODY_BYTES"))
        what = "images" if setting != "API_MAX_BODY_BYTES" else "rows"
        body = json.dumps(error_body(
            "payload_too_large",
            f"the request body is {at_least}{_mib(size)}; the limit is {_mib(limit)} "
            f"({setting}): send the {what} in smaller batches")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
