"""``/docs`` in a real browser: Swagger UI renders every operation and nothing is fetched off-host."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from automlops.serving.app import create_app
from tests.serving.conftest import make_settings
from tests.serving.modelkit import install
from tests.ui.conftest import free_port

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():  # .ci/run installs it; a laptop without it skips
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def test_docs_render_offline_in_a_browser(tmp_path: Path, model_bank: Path) -> None:
    import uvicorn

    install(model_bank, tmp_path / "models", "penguins")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(make_settings(tmp_path)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    off_host: list[str] = []
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.05)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.on("request", lambda r: None if r.url.startswith(f"http://127.0.0.1:{port}/")
                    else off_host.append(r.url))
            page.goto(f"http://127.0.0.1:{port}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = [e.inner_text() for e in page.query_selector_all(".opblock-summary-path")]
            browser.close()
    finally:
        server.should_exit = True
        thread.join(15)
    assert paths == ["/", "/ready", "/predict", "/explain", "/feedback", "/model", "/metrics"]
    assert off_host == []
