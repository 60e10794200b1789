"""``automlops train-vision``: the image lake → a tracked, saved model, with the same --json keys as train."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automlops.cli import TRAIN_KEYS, main
from automlops.mlops.image_lake import ImageLake
from automlops.mlops.store import ModelStore
from automlops.vision.samples import write_digits_imagefolder, zip_folder


@pytest.fixture
def digits_in_lake(home: Path, tmp_path: Path) -> str:
    archive = zip_folder(write_digits_imagefolder(tmp_path / "digits", per_class=6, size=32, classes=3),
                         tmp_path / "digits.zip")
    ImageLake().add_archive("digits", archive)
    return "digits"


def test_train_vision_json_has_the_train_keys_and_the_model_is_saved(digits_in_lake, capsys) -> None:
    code = main(["train-vision", digits_in_lake, "--model", "resnet18", "--epochs", "1", "--n-trials", "1",
                 "--weights", "none", "--batch-size", "4", "--name", "digit_net", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert set(TRAIN_KEYS) <= set(summary)
    assert summary["task"] == "image_classification" and summary["metric"] == "accuracy"
    assert summary["dataset"]["kind"] == "images" and summary["dataset"]["name"] == "digits"
    assert "epoch 1" in err  # the progress line names the epoch
    stored = ModelStore().load("digit_net")
    assert stored.meta["kind"] == "vision" and stored.meta["run_id"] == summary["run_id"]
    assert not [d for d in stored.meta["decisions"] if "logging failed" in d]  # the image lineage is logged too
    assert Path(summary["model_path"]).name == "model.pt"


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "deeplabv3_resnet50"], "segmentation model"),
    (["--model", "resnet1000"], "unknown vision architecture"),
    (["--name", "bad name"], "invalid model name"),
    (["--weights", "/nonexistent/w.pth"], "does not exist"),
    (["--task", "detection"], "laid out for image_classification"),
    (["--seed", "-1"], "seed must be a whole number"),
    (["--model", ","], "names no architecture"),
    (["--weights", "."], "is a folder"),
])
def test_bad_arguments_exit_2_with_one_line(digits_in_lake, capsys, argv, message) -> None:
    code = main(["train-vision", digits_in_lake, "--n-trials", "1", "--epochs", "1", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert ModelStore().names() == []


def test_an_unknown_dataset_is_named(home, capsys) -> None:
    assert main(["train-vision", "nope", "--n-trials", "1"]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.slow  # a timing check (30 s): benchmarks/vision_throughput.py measures the budget too
def test_the_whole_process_keeps_its_time_budget(digits_in_lake, home) -> None:
    """Measured from outside, as a user would: interpreter start to exit, imports included."""
    budget = 30.0
    env = {**os.environ, "AUTOMLOPS_HOME": str(home)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "automlops.cli", "train-vision", digits_in_lake, "--model",
                           "resnet18", "--epochs", "100", "--weights", "none", "--time-budget", str(budget), "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-500:]
    assert wall <= budget * 1.1, f"{wall:.1f} s for a {budget:.0f} s budget"


def test_random_weights_that_were_not_asked_for_are_a_warning(digits_in_lake, capsys, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))
    monkeypatch.setenv("AUTOMLOPS_DOWNLOAD_WEIGHTS", "false")  # what an offline machine ends with
    code = main(["train-vision", digits_in_lake, "--model", "resnet18", "--epochs", "1", "--n-trials", "1",
                 "--batch-size", "4"])
    out, err = capsys.readouterr()
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("automlops: warning:")]
    assert any("no pretrained weights for resnet18" in w and "random initialisation" in w for w in warnings), err
    assert "Downloading" not in out
