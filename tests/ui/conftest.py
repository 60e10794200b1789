"""Fixtures for the dashboard tests: a fresh studio home and tiny data.

Every test gets its own ``AUTOMLOPS_HOME`` (lake, models, mlflow.db) and a reset tracking
target; the MLflow variables the tracker exports are restored afterwards, so no identity
leaks from one test into the next.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from tests.ui.helpers import CRED_VARS, iris_csv


@pytest.fixture
def ui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh studio home in the environment; tracking state and caches reset around the test."""
    import streamlit as st

    from automlops.ui import imports, tracking

    # The dashboard warms up heavy imports in a thread; tests start from a warm process, like a
    # dashboard a few seconds after its first page (test bodies import outside the page lock).
    assert imports.wait_ready(180)

    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("AUTOMLOPS_HOME", str(root))
    for var in (*CRED_VARS, "MODEL_NAME", "MODEL_VERSION"):
        monkeypatch.setenv(var, "x")  # recorded, so the original (absent) state comes back afterwards
        monkeypatch.delenv(var)
    tracking.reset()
    st.cache_data.clear()
    yield root
    tracking.reset()


@pytest.fixture
def settings(ui_home: Path) -> Settings:
    return Settings()


@pytest.fixture
def lake(settings: Settings) -> DataLake:
    return DataLake(settings=settings)


@pytest.fixture
def iris_lake(lake: DataLake) -> DataLake:
    from automlops.demo import seed_demo

    seed_demo(lake, ["iris"])
    return lake


@pytest.fixture
def frame_iris() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(iris_csv()))



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Ask a server to stop, and kill it if it has not within 15 s."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass(frozen=True)
class AuthServer:
    uri: str
    username: str
    password: str


@contextlib.contextmanager
def run_auth_server(root: Path, username: str, password: str) -> Iterator[AuthServer]:
    """A real ``mlflow server --app-name basic-auth`` on a free loopback port whose admin is ``username``."""
    ini = root / "basic_auth.ini"
    ini.write_text("[mlflow]\ndefault_permission = READ\n"
                   f"database_uri = sqlite:///{root / 'auth.db'}\n"
                   f"admin_username = {username}\nadmin_password = {password}\nauth_cache_ttl_seconds = 60\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_AUTH_CONFIG_PATH=str(ini), MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(16),
               MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
             "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination",
             str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
        try:
            wait_http(f"http://127.0.0.1:{port}/health", 90, proc)
            yield AuthServer(f"http://127.0.0.1:{port}", username, password)
        finally:
            stop_process(proc)


@pytest.fixture(scope="session")
def mlflow_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """A real authenticated MLflow server (stands in for DagsHub)."""
    with run_auth_server(tmp_path_factory.mktemp("mlflow-auth"), "admin", "right-" + secrets.token_hex(8)) as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the test item (the browser test screenshots failures)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
