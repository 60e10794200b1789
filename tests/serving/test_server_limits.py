"""``automlops serve`` runs uvicorn with limits: slow clients cannot hold connections open forever."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from automlops.serving import run
from automlops.serving.app import create_app
from automlops.serving.server import SERVER_LIMITS, server_options
from tests.serving.conftest import make_settings
from tests.ui.conftest import free_port


def test_run_passes_the_limits_and_the_header_deadline_to_uvicorn(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    run("127.0.0.1", 1234, settings=make_settings(tmp_path), limit_concurrency=7)
    assert seen["timeout_keep_alive"] == SERVER_LIMITS["timeout_keep_alive"] <= 10
    assert seen["h11_max_incomplete_event_size"] == 16 * 1024
    assert seen["limit_concurrency"] == 7  # the caller's options win
    assert seen["http"].__name__ == "HeaderTimeoutProtocol"


@contextmanager
def _serving(tmp_path: Path, options: dict[str, Any]) -> Iterator[int]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(create_app(make_settings(tmp_path)), host="127.0.0.1", port=port, log_level="warning",
                            **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(15)


def _closed_within(port: int, partial: bytes, seconds: float) -> bool:
    """Send ``partial`` (an unfinished request) and say whether the server hangs up within ``seconds``."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        if partial:
            sock.sendall(partial)
        try:
            return sock.recv(1024) == b""
        except TimeoutError:
            return False


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_a_connection_whose_headers_never_finish_is_closed(tmp_path: Path, http: str) -> None:
    with _serving(tmp_path, server_options(header_timeout=0.5, http=http)) as port:
        started = time.monotonic()
        assert _closed_within(port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 5.0)
        assert time.monotonic() - started < 3.0
        assert _closed_within(port, b"", 5.0)  # connected, never sent a byte
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:  # normal clients are unaffected
            assert client.get("/").status_code == 200
            time.sleep(0.8)  # longer than the header deadline, shorter than keep-alive
            assert client.get("/").status_code == 200


def test_plain_uvicorn_would_wait_for_the_headers(tmp_path: Path) -> None:
    """What the deadline fixes: without it the half-sent request holds its connection."""
    with _serving(tmp_path, {"http": "h11"}) as port:
        assert not _closed_within(port, b"GET / HTTP/1.1\r\nHost: x\r\n", 1.5)
