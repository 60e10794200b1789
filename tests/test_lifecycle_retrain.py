"""Retrain on drift grows the champion's own data, once, and writes nothing when it fails.

Real parts throughout: scikit-learn's breast-cancer table in the lake, a champion trained by
``automlops train``, live traffic in the API's prediction log (the larger tumours: a real drift),
ground truth through the feedback table, and ``automlops monitor --retrain`` as a user runs it.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from automlops.cli import main
from automlops.config import Settings
from automlops.demo import load_demo
from automlops.mlops.feedback import FeedbackItem, record_feedback
from automlops.mlops.lake import DataLake
from automlops.mlops.monitor import PredictionLog, PredictionRecord
from automlops.mlops.store import ModelStore

MONITOR = ["monitor", "--model", "tumours", "--window", "5000", "--min-rows", "100", "--min-labelled", "100",
           "--retrain", "--no-mlflow"]


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _champion_and_traffic(home: Path, empty_db: Path, label: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """tumours@v1 trained on the smaller tumours (lake v1); the larger ones served and labelled since.

    ``label`` maps a true target to the label sent back (default: the target itself).
    """
    shutil.copyfile(empty_db, home / "mlflow.db")
    cancer = load_demo("breast_cancer")
    small = cancer[cancer["mean radius"] < cancer["mean radius"].quantile(0.55)].reset_index(drop=True)
    live = cancer[cancer["mean radius"] >= cancer["mean radius"].quantile(0.55)].reset_index(drop=True)
    DataLake().add("tumours", small, note="the smaller tumours")
    code, out, err = _run(["train", "lake:tumours", "--target", "target", "--models", "logistic",
                           "--n-trials", "2", "--name", "tumours", "--json"])
    assert code == 0, err
    features = [c for c in live.columns if c != "target"]
    settings, now = Settings(), time.time() + 1
    with PredictionLog(settings=settings) as log:
        for start in range(0, len(live), 10):
            batch = live.iloc[start:start + 10]
            log.submit(PredictionRecord(now + start / 1000, f"r{start}", "tumours", 1, features,
                                        batch[features].to_numpy().tolist(), batch["target"].tolist()))
        log.flush()
    record_feedback([FeedbackItem(f"r{start}", label=(label or str)(y), row=i)
                     for start in range(0, len(live), 10)
                     for i, y in enumerate(live["target"].iloc[start:start + 10])], settings=settings)
    return small, live


def test_retrain_grows_the_champions_version_once(home: Path, empty_db: Path) -> None:
    small, live = _champion_and_traffic(home, empty_db)
    lake = DataLake()
    lake.add("tumours", small.drop(columns=["mean texture"]), note="a newer version with other columns")

    code, out, err = _run([*MONITOR, "--json"])
    assert code == 0, err
    first = json.loads(out.strip().splitlines()[-1])["retrain"]
    assert first["action"] in ("promoted", "kept_champion"), first
    grown = lake.versions("tumours")[-1]
    assert (grown.version, grown.parent) == (3, 1)  # the champion's version, not the newest (v2)
    assert grown.rows == len(small) + len(live) // 2

    code, out, err = _run(MONITOR)  # the same labelled rows again: nothing new to learn from
    assert code == 0, err
    assert "retrain: skipped" in out and "already trained on tumours@v3" in out, out
    assert [v.version for v in lake.versions("tumours")] == [1, 2, 3]  # no version holding the rows twice
    assert len(ModelStore().versions("tumours")) == 2


def test_a_failed_retrain_prints_the_report_and_writes_nothing(home: Path, empty_db: Path) -> None:
    _champion_and_traffic(home, empty_db, label=lambda y: int(y == "malignant"))  # 0/1: not the model's classes

    code, out, err = _run(MONITOR)

    assert code == 2 and err.startswith("automlops: error:") and len(err.strip().splitlines()) == 1, err
    assert "DRIFTED" in out and "report:" in out  # the drift report came first
    assert [v.version for v in DataLake().versions("tumours")] == [1]  # no orphan version behind
    assert [s.version for s in ModelStore().versions("tumours")] == [1]


@pytest.mark.parametrize("flag", ["--json"])
def test_a_failed_retrain_still_prints_the_json_check(home: Path, empty_db: Path, flag: str) -> None:
    _champion_and_traffic(home, empty_db, label=lambda y: int(y == "malignant"))

    code, out, _ = _run([*MONITOR, flag])

    payload = json.loads(out.strip().splitlines()[-1])
    assert code == 2 and payload["drifted"] is True and "error" in payload
    assert [v.version for v in DataLake().versions("tumours")] == [1]
