"""The README's API examples run as written against a live ``automlops serve``.

Every ```bash block of the README that calls ``curl`` is run by bash, unchanged, with the
variables the README itself sets (``API_KEY``, ``API_URL``) pointing at a real service on
127.0.0.1 that serves a freshly trained penguins model (what the README's set-up block trains).
Each HTTP answer must be 200: an example that sends 2 of 30 columns fails here, not on a reader.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from automlops.config import REPO_ROOT

pytestmark = pytest.mark.integration

KEY = "readme-key-0123456789abcdef"
AUTOMLOPS = Path(sys.executable).with_name("automlops")
# curl writes every answer's status to stderr, so the test sees each call the README makes
STATUS_PROBE = "curl() { command curl -w '%{stderr}HTTP %{http_code} %{url_effective}\\n' \"$@\"; }\n"


def readme_api_blocks() -> list[str]:
    """The README's bash blocks that call the API (they use curl)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)
    return [b for b in blocks if re.search(r"\bcurl ", b)]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``automlops serve`` on a free port, serving a penguins model trained like the README's."""
    from automlops.demo import load_demo
    from automlops.mlops.store import ModelStore
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model
    from tests.ui.conftest import free_port, stop_process

    home = tmp_path_factory.mktemp("readme")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "MODEL_", "AUTOMLOPS_", "MLFLOW_"))}
    env |= {"AUTOMLOPS_HOME": str(home), "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
            "PYTHONPATH": str(REPO_ROOT)}
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = env["MLFLOW_TRACKING_URI"]  # never the repository's
    try:
        runner = AutoMLRunner("species", preset="fast", models=["logistic"], n_trials=2).fit(load_demo("penguins"))
        save_model(runner.result_, ModelStore(home / "models"), "penguins")
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI") if old is None else os.environ.update(MLFLOW_TRACKING_URI=old)
    port = free_port()
    with (home / "serve.log").open("wb") as log:
        proc = subprocess.Popen([str(AUTOMLOPS), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=home, env=env | {"API_KEY": KEY}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(base):
            assert proc.poll() is None and time.monotonic() < deadline, (home / "serve.log").read_text()
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            stop_process(proc)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_the_readme_has_api_examples() -> None:
    blocks = readme_api_blocks()
    assert len(blocks) >= 2
    assert any("/predict" in b and "$API_KEY" in b for b in blocks)


@pytest.mark.parametrize("index", range(len(readme_api_blocks())))
def test_readme_api_example_runs_as_written(live_api: str, index: int, tmp_path: Path) -> None:
    block = readme_api_blocks()[index]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "MODEL_"))}
    env |= {"API_KEY": KEY, "API_URL": live_api, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + STATUS_PROBE + block], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{block}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    statuses = re.findall(r"^HTTP (\d{3}) (\S+)$", done.stderr, flags=re.M)
    assert len(statuses) >= block.count("curl"), done.stderr
    assert all(code == "200" for code, _ in statuses), statuses
    if "/predict" in block:
        assert '"predictions"' in done.stdout, done.stdout
