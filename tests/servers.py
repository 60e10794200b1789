"""Real servers for tests: a free loopback port, waiting for HTTP, stopping a process, and an
authenticated ``mlflow server`` (stands in for DagsHub: same protocol, basic auth).

Shared by the dashboard tests, the registry tests and the end-to-end loop; the session fixture
``mlflow_auth_server`` in tests/conftest.py starts one server for the whole run.
"""

from __future__ import annotations

import contextlib
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

__all__ = ["AuthServer", "free_port", "run_auth_server", "stop_process", "wait_http"]


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
