"""``automlops serve`` for real: a subprocess on a free port, answering over HTTP, stopping cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from automlops.config import API_KEY_PLACEHOLDER, REPO_ROOT
from automlops.mlops.store import ModelStore
from tests.serving.conftest import AUTH, KEY
from tests.serving.modelkit import install
from tests.ui.conftest import free_port, stop_process

pytestmark = pytest.mark.integration

AUTOMLOPS = Path(sys.executable).with_name("automlops")  # the console script installed with the package


def _env(home: Path, **values: str) -> dict[str, str]:
    """The environment of a fresh shell: no studio, API or MLflow setting but ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "MODEL_", "AUTOMLOPS_", "MLFLOW_"))}
    return env | {"AUTOMLOPS_HOME": str(home), "PYTHONPATH": str(REPO_ROOT), **values}


def _serve(tmp_path: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    log = (tmp_path / "serve.log").open("wb")
    try:
        return subprocess.Popen([str(AUTOMLOPS), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=tmp_path, env=_env(tmp_path / "home", **env), stdout=log,
                                stderr=subprocess.STDOUT)
    finally:
        log.close()  # the child has its own copy


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"serve exited with {proc.returncode}:\n{log.read_text()}"
        try:
            r = httpx.get(f"{base}/", timeout=1)
            if r.status_code == 200 and r.json()["status"] == "ok":
                return r.json()
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"no healthy answer within {timeout} s:\n{log.read_text()}"
        time.sleep(0.1)


def test_serve_predicts_with_the_key_refuses_without_and_stops_cleanly(tmp_path: Path, model_bank: Path,
                                                                        demo_rows) -> None:
    install(model_bank, tmp_path / "home" / "models", "cancer")
    port, log = free_port(), tmp_path / "serve.log"
    proc = _serve(tmp_path, port, API_KEY=KEY)
    base = f"http://127.0.0.1:{port}"
    try:
        health = _wait_healthy(base, proc, log)
        assert health["model"] == {"name": "cancer", "version": 1, "task": "classification"}
        records = demo_rows("cancer", 5)
        ok = httpx.post(f"{base}/predict", json={"records": records}, headers=AUTH, timeout=30)
        assert ok.status_code == 200, ok.text
        saved = ModelStore(model_bank).load("cancer", 1).model
        assert ok.json()["predictions"] == saved.predict(pd.DataFrame(records)).tolist()
        for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": KEY[:-1]}, {"x-api-key": b"\xe9\xc3"}):
            refused = httpx.post(f"{base}/predict", json={"records": records}, headers=headers, timeout=30)
            assert refused.status_code == 401, (headers, refused.text)
            assert refused.json()["error"]["code"] == "unauthorized"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # what Docker and systemd send
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            stop_process(proc)
            pytest.fail(f"serve did not stop within 15 s of SIGTERM:\n{log.read_text()}")
    text = log.read_text()
    # uvicorn shuts down gracefully, then re-raises the signal so the parent sees how it ended
    assert code in (0, -signal.SIGTERM), text
    assert "Application shutdown complete" in text and "Finished server process" in text
    assert "Traceback" not in text and "error" not in text.lower() and KEY not in text
    with pytest.raises(httpx.TransportError):  # the port is released
        httpx.get(f"{base}/", timeout=1)


@pytest.mark.parametrize("key", [None, API_KEY_PLACEHOLDER])
def test_serve_without_a_real_key_exits_2_with_one_line_and_never_binds(tmp_path: Path, key: str | None) -> None:
    (tmp_path / "home").mkdir()
    port = free_port()
    done = subprocess.run([str(AUTOMLOPS), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path,
                          env=_env(tmp_path / "home", **({"API_KEY": key} if key else {})),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automlops: error: "), done.stderr
    assert "API_KEY" in lines[0] and ("is not set" if key is None else "placeholder") in lines[0]
    assert "Traceback" not in done.stdout + done.stderr and "Uvicorn running" not in done.stdout + done.stderr
