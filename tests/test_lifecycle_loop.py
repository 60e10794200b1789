"""The whole model lifecycle loop with real parts, as a user would run it.

train → promote to production → serve through uvicorn (``MODEL_STAGE=production``) → drifted
traffic and its ground truth (``POST /feedback``) → ``automlops monitor --retrain --auto-promote``
detects the drift, trains a challenger on the grown dataset, beats or matches the champion on
fresh labelled rows and promotes it → the API serves the new version — while a client keeps
sending requests, none of which may fail.

The data is real (scikit-learn's breast-cancer table) and the drift is a real sub-population:
the champion only ever sees the smaller tumours; production then sends the larger ones.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import httpx
import pytest

from automlops.cli import main
from automlops.config import REPO_ROOT
from automlops.demo import load_demo
from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from tests.servers import free_port

pytestmark = pytest.mark.integration

KEY = "loop-test-key-" + "x" * 24
AUTH = {"x-api-key": KEY}


def _json_out(argv: list[str]) -> Any:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(argv)
    assert code == 0, buffer.getvalue()
    return json.loads(buffer.getvalue().strip().splitlines()[-1])


def _start_api(home: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str, Any]:
    """uvicorn serving ``tumours@production``, started before anything is trained (it waits for the stage)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "MODEL_", "AUTOMLOPS_", "MLFLOW_"))}
    env |= {"API_KEY": KEY, "AUTOMLOPS_HOME": str(home), "API_RELOAD_INTERVAL": "0.5", "MODEL_NAME": "tumours",
            "MODEL_STAGE": "production", "PYTHONPATH": str(REPO_ROOT)}
    log = open(log_path, "w+b")  # noqa: SIM115 - closed by the caller
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api:app", "--app-dir", str(REPO_ROOT), "--host",
                             "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", log


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log_path.read_text()
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not become ready: " + log_path.read_text()
        time.sleep(0.2)


class _SteadyClient(threading.Thread):
    """Sends one prediction every 100 ms until stopped; keeps every status and every served version."""

    def __init__(self, base: str, record: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.base, self.record = base, record
        self.statuses: list[int] = []
        self.versions: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=AUTH, timeout=30) as client:
            while not self.stop.is_set():
                r = client.post("/predict", json={"records": [self.record]})
                self.statuses.append(r.status_code)
                if r.status_code == 200:
                    self.versions.append(int(r.json()["model"]["version"]))
                time.sleep(0.1)


def test_the_whole_loop(home: Path, empty_db: Path, tmp_path: Path) -> None:
    shutil.copyfile(empty_db, home / "mlflow.db")
    cancer = load_demo("breast_cancer")
    small = cancer["mean radius"] < cancer["mean radius"].quantile(0.55)
    DataLake().add("tumours", cancer[small].reset_index(drop=True), note="the smaller tumours")
    live = cancer[~small].sample(frac=1.0, random_state=0).reset_index(drop=True)

    features = [c for c in live.columns if c != "target"]
    proc, base, log = _start_api(home, tmp_path / "api.log")  # it imports while the champion trains
    steady = _SteadyClient(base, cancer.loc[0, features].to_dict())
    try:
        trained = _json_out(["train", "lake:tumours", "--target", "target", "--models", "random_forest",
                             "--n-trials", "2", "--name", "tumours", "--json"])
        assert trained["version"] == 1
        assert main(["models", "promote", "tumours@v1", "--to", "production", "--reason", "first model"]) == 0
        _wait_ready(proc, base, tmp_path / "api.log")  # it serves nothing until a version holds the stage
        served = httpx.get(f"{base}/model", headers=AUTH).json()
        assert (served["version"], served["stage"]) == (1, "production")
        steady.start()
        feedback = []
        with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
            for start in range(0, len(live), 10):  # production traffic: the larger tumours
                batch = live.iloc[start:start + 10]
                r = client.post("/predict", json={"records": batch[features].to_dict(orient="records")})
                assert r.status_code == 200, r.text
                feedback += [{"request_id": r.json()["request_id"], "row": i, "label": label}
                             for i, label in enumerate(batch["target"])]
            r = client.post("/feedback", json={"feedback": feedback})
            assert r.status_code == 200, r.text
        time.sleep(1.0)  # the prediction log is written by a background thread

        report = _json_out(["monitor", "--model", "tumours", "--window", "5000", "--min-rows", "100",
                            "--retrain", "--auto-promote", "--json"])
        assert report["drifted"] is True and report["n_current"] >= len(live)
        assert report["retrain"]["action"] == "promoted", report["retrain"]
        assert report["retrain"]["challenger"] == "tumours@v2"

        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/model", headers=AUTH).json()["version"] != 2:
            assert time.monotonic() < deadline, "the API did not pick up the promotion"
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        steady.stop.set()
        if steady.is_alive():
            steady.join(timeout=30)
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
    assert steady.statuses and set(steady.statuses) == {200}, (tmp_path / "api.log").read_text()[-2000:]
    assert steady.versions[0] == 1 and steady.versions[-1] == 2
    history = _json_out(["models", "history", "tumours", "--json"])
    assert [(h["version"], h["stage"]) for h in history if h["action"] == "promote"] == \
        [(1, "production"), (2, "production")]
    challenger = ModelStore().load("tumours", 2).meta
    verdicts = [d for d in challenger["decisions"] if d.startswith("[retrain on drift]")]
    assert len(verdicts) == 1 and "promoted to production" in verdicts[0], challenger["decisions"]
    assert challenger["parent"] == "tumours@v1" and history[-1]["reason"] == verdicts[0].split("] ", 1)[1]
    grown = DataLake().versions("tumours")[-1]
    assert grown.version == 2 and grown.parent == 1 and "labelled live rows" in grown.note
    assert grown.rows == int(small.sum()) + len(live) // 2  # the older half of the labelled rows joined the data
