"""A real uvicorn process: concurrent clients while the model is replaced 20 times (3 broken).

Passes when no request fails, every answer names a model version that was valid at that
moment (published before the answer, not older than what the service already announced,
never a broken one), and each valid version is served soon after it is saved (within SERVED_WITHIN).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from automlops.config import REPO_ROOT
from tests.serving.conftest import AUTH, KEY
from tests.serving.modelkit import publish_broken, publish_valid

pytestmark = pytest.mark.integration

THREADS, REQUESTS, REPLACEMENTS = 8, 200, 20
BROKEN_AT = {4: "truncated", 10: "tampered_sha", 15: "schema_broken"}
# How long a saved version may take to be served: a bound for "it is picked up", not a speed target. With
# the suite running in parallel on 2 cores, one reload of 8 clients' server took over 2 s (v16, stop 59).
SERVED_WITHIN = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path, model_bank: Path):
    home = tmp_path / "home"
    shutil.copytree(model_bank / "cancer", home / "models" / "cancer")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "MODEL_", "AUTOMLOPS_"))}
    env |= {"API_KEY": KEY, "AUTOMLOPS_HOME": str(home), "API_RELOAD_INTERVAL": "0.1",
            "PYTHONPATH": str(REPO_ROOT)}
    log = open(tmp_path / "server.log", "w+b")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api:app", "--app-dir", str(REPO_ROOT), "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        yield base, home / "models", tmp_path / "server.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _client_thread(base: str, bodies: list[dict[str, Any]], out: list[Any], errors: list[str]) -> None:
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
        for i in range(REQUESTS):
            sent = time.monotonic()
            try:
                r = client.post("/predict", json=bodies[i % len(bodies)])
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if r.status_code != 200:
                errors.append(f"{r.status_code}: {r.text[:200]}")
                continue
            out.append((sent, time.monotonic(), r.json()["model"]["version"]))
            time.sleep(0.02)  # spread the load over the whole replacement sequence


def test_concurrent_clients_while_the_model_is_replaced(live_server, model_bank, demo_rows) -> None:
    base, models, server_log = live_server
    source = model_bank / "cancer" / "v0001"
    bodies = [{"records": demo_rows("cancer", n)} for n in (1, 3, 1, 10)]
    published = {1: 0.0}  # valid version -> when it was saved
    announced: list[tuple[float, int]] = [(0.0, 1)]  # (when health first showed it, version)
    broken: set[int] = set()
    results: list[Any] = []
    errors: list[str] = []
    threads = [threading.Thread(target=_client_thread, args=(base, bodies, results, errors)) for _ in range(THREADS)]
    for t in threads:
        t.start()
    with httpx.Client(base_url=base, timeout=10) as health:
        for step in range(REPLACEMENTS):
            if step in BROKEN_AT:
                broken.add(publish_broken(models, "cancer", source, BROKEN_AT[step]))
                time.sleep(0.4)  # several reload intervals: time enough to (wrongly) swap it in
                assert health.get("/").json()["model"]["version"] == announced[-1][1]
                continue
            saved = time.monotonic()
            version = publish_valid(models, "cancer", source)
            published[version] = saved
            while health.get("/").json()["model"]["version"] != version:
                assert time.monotonic() - saved < SERVED_WITHIN, f"v{version} not served within {SERVED_WITHIN:.0f} s"
                time.sleep(0.01)
            announced.append((time.monotonic(), version))
            time.sleep(0.15)
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:5]
    assert len(results) == THREADS * REQUESTS
    for sent, received, version in results:
        assert version not in broken
        assert version in published and published[version] <= received
        floor = max(v for when, v in announced if when <= sent)
        assert version >= floor, (version, floor)
    assert len({v for _, _, v in results}) > 5  # the load really overlapped the replacements
    metrics = httpx.get(f"{base}/metrics", headers=AUTH).text
    assert 'automlops_model_reloads_total{result="refused"} 3' in metrics
    assert f'automlops_model_reloads_total{{result="success"}} {REPLACEMENTS - len(BROKEN_AT) + 1}' in metrics
    assert 'status="5' not in metrics
    assert KEY not in server_log.read_text()
