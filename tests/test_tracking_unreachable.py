"""`automlops train` keeps its time budget when the MLflow server is dead or silent (issue 8).

MLflow's own HTTP defaults (120 s per request, 7 retries with growing waits) turned a 15 s
budget into 253 s against an unreachable server. Now one short probe runs before the search;
when the server does not answer, one stderr line says so, the run trains without tracking
(recorded in its decisions) and the model is saved, within the budget.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

# The command needs ~4-5 s on CI machines before its first trial has a result (interpreter, imports, the
# probe, the lake): with 10 s, one run in three ended "no trial finished", which is not what this tests.
BUDGET = 15.0
_SCRIPT = Path(sys.executable).parent / "automlops"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "automlops.cli"]


@pytest.fixture
def refused_port() -> int:
    """A port nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel does it) but never answers a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


# The silent port (a server that never answers) is the slower, load-sensitive case: `-m slow`.
@pytest.mark.parametrize("port_fixture", ["refused_port", pytest.param("silent_port", marks=pytest.mark.slow)])
def test_dead_tracking_server_costs_one_line_not_the_budget(tmp_path: Path, port_fixture: str,
                                                           request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue(port_fixture)
    data = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(data, index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AUTOMLOPS_"))}
    env.update(AUTOMLOPS_HOME=str(tmp_path), MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    started = time.monotonic()
    proc = subprocess.run([*COMMAND, "train", str(data), "--target", "target", "--time-budget", str(BUDGET),
                           "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    wall = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert wall <= 1.1 * BUDGET, f"{wall:.1f} s for a {BUDGET:g} s budget"
    notes = [line for line in proc.stderr.splitlines() if "MLflow" in line]
    assert len(notes) == 1 and notes[0].startswith("automlops: warning: MLflow tracking is off"), proc.stderr
    assert f"127.0.0.1:{port}" in notes[0] and "unreachable" in notes[0]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["run_id"] is None and Path(summary["model_path"]).is_file()
    meta = json.loads((Path(summary["model_path"]).parent / "meta.json").read_text())
    assert any(d.startswith("[tracking] MLflow tracking is off") for d in meta["decisions"])


def test_entry_point_bounds_mlflow_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Settings fields use MLflow's own variable names, and the entry point exports them."""
    from automlops.config import Settings
    from automlops.mlops._probe import bound_http_requests

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    for var in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        monkeypatch.setenv(var, "0")  # registers the variable, so the test restores it afterwards
        monkeypatch.delenv(var)
    bound_http_requests(Settings())
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    assert MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get() == 1  # MLflow reads it as a whole number: "0.5" breaks it
    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == 1  # the user's value is kept
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 10  # the studio's default, not MLflow's 120 s
