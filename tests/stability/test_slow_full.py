"""The full analysis the issue asks for (K=10 splits, N=5 seeds, sensitivity, fANOVA) on a real
LightGBM trained by ``automlops train`` on breast_cancer, through the CLI, within a time budget.
Slow (a real search, then ~100 refits): run with ``-m slow``."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from automlops.cli import main

pytestmark = pytest.mark.slow


def test_full_analysis_of_a_lightgbm_within_its_budget(home: Path, empty_db: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(empty_db, home / "mlflow.db")
    csv = tmp_path / "breast_cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(csv, index=False)
    assert main(["train", str(csv), "--target", "target", "--models", "lightgbm", "--n-trials", "8",
                 "--ensemble", "none", "--preset", "fast", "--name", "bc"]) == 0
    capsys.readouterr()
    out = tmp_path / "report.html"
    started = time.monotonic()
    code = main(["stability", "bc", "--splits", "10", "--seeds", "5", "--sensitivity", "--points", "3",
                 "--repeats", "2", "--time-budget", "90", "--out", str(out), "--json"])
    wall = time.monotonic() - started
    stdout, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["n_fits"] >= 10 and summary["split_std"] is not None
    assert summary["verdict"].split(":")[0] in ("stable", "somewhat stable", "unstable")
    assert wall < 90 + 30  # the budget covers the refits; loading, the report and MLflow come on top
    page = out.read_text()
    assert "Distribution" in page and "Verdict" in page
