"""Exported scripts of image classifiers: a real (tiny) torchvision model trained on digits from the image lake.

The network is trained on the CPU from a random initialisation (no pretrained weights: the torch
cache is empty and downloads are off), saved with its image-lake lineage, exported, and the script
is run in a fresh Python where ``import automlops`` fails. On the CPU, with the same library
versions, training repeats exactly: the test accuracy is the recorded one to 1e-6 and each epoch's
training loss matches the recorded history. (On a GPU that is not promised: mixed precision and
non-deterministic kernels move the weights a little; the script trains on the CPU.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from automlops.errors import ConfigError
from automlops.export import export_script
from automlops.export.verify import compare_scores, run_script
from automlops.mlops.store import ModelStore

pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def vision_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A studio home with 4 digit classes (10 images each, 32 px) in the image lake and a ResNet-18 trained 1 epoch."""
    import torch

    from automlops.mlops.image_lake import ImageLake
    from automlops.vision import samples
    from automlops.vision.runner import VisionRunner, save_vision_model

    base = tmp_path_factory.mktemp("vision_export")
    home = base / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOMLOPS_HOME", str(home))
        for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.delenv(var, raising=False)
        env.setattr(torch.hub, "get_dir", lambda: str(base / "torch-hub"))  # no cached ImageNet weights
        folder = samples.write_digits_imagefolder(base / "digits", per_class=10, size=32, classes=4)
        entry = ImageLake().add_archive("digits4", samples.zip_folder(folder, base / "digits4.zip"))
        runner = VisionRunner("classification", models=["resnet18"], epochs=1, preset="fast", n_trials=1,
                              device="cpu", download_weights=False, search="tpe", dataset=entry.lineage())
        runner.fit(ImageLake().load("digits4"))
        save_vision_model(runner.result_, ModelStore(), "digits_resnet", dataset=entry.lineage())
        yield {"home": home, "meta": dict(ModelStore().load("digits_resnet").meta)}


@pytest.mark.slow  # ~25 s: training in the test (~9 s) and again in the script (~13 s, mostly importing torch)
def test_the_script_retrains_and_reproduces_the_test_accuracy(vision_home: dict[str, Any], tmp_path: Path) -> None:
    meta = vision_home["meta"]
    assert meta["weights_source"] == "random" and meta["stopped"] == "all 1 epochs"
    out = tmp_path / "train_digits_resnet.py"
    text = export_script("digits_resnet", out=out)
    assert "import automlops" not in text and "from automlops" not in text
    assert "resnet18(weights=None, num_classes=n_classes)" in text and "EPOCHS = 1" in text
    run = run_script(out, timeout=300)
    assert compare_scores(run.test_score, meta["test_score"]), (run.test_score, meta["test_score"])
    losses = [float(v) for v in re.findall(r"training loss ([0-9.e+-]+),", run.stderr)]
    assert losses == pytest.approx([row["train_loss"] for row in meta["history"]], abs=1e-5)


@pytest.mark.slow  # ~25 s, as above
def test_a_network_started_from_published_weights_reproduces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # stand-in "ImageNet" weights in the torch cache (a seeded random ResNet-18): the studio takes them from the cache,
    # the script through torchvision's ResNet18_Weights.DEFAULT, which finds the same file (TORCH_HOME)
    import torch
    import torchvision

    from automlops.mlops.image_lake import ImageLake
    from automlops.vision import samples
    from automlops.vision.runner import VisionRunner, save_vision_model

    monkeypatch.setenv("AUTOMLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # the script's torch cache: $TORCH_HOME/hub
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch" / "hub"))  # this process's, the same
    published = torchvision.models.ResNet18_Weights.DEFAULT
    cache = tmp_path / "torch" / "hub" / "checkpoints" / Path(published.url).name
    cache.parent.mkdir(parents=True)
    torch.manual_seed(1)
    torch.save(torchvision.models.resnet18(num_classes=1000).state_dict(), cache)
    folder = samples.write_digits_imagefolder(tmp_path / "digits", per_class=10, size=32, classes=4)
    entry = ImageLake().add_archive("digits4", samples.zip_folder(folder, tmp_path / "digits4.zip"))
    runner = VisionRunner("classification", models=["resnet18"], epochs=1, preset="fast", n_trials=1, device="cpu",
                          download_weights=False, search="tpe", dataset=entry.lineage())
    runner.fit(ImageLake().load("digits4"))
    save_vision_model(runner.result_, ModelStore(), "digits_pretrained", dataset=entry.lineage())
    meta = ModelStore().load("digits_pretrained").meta
    assert meta["weights_source"] == "cache"
    out = tmp_path / "train_digits_pretrained.py"
    assert "ResNet18_Weights.DEFAULT" in export_script("digits_pretrained", out=out)
    run = run_script(out, timeout=300)
    assert compare_scores(run.test_score, meta["test_score"]), (run.test_score, meta["test_score"])
    losses = [float(v) for v in re.findall(r"training loss ([0-9.e+-]+),", run.stderr)]
    assert losses == pytest.approx([row["train_loss"] for row in meta["history"]], abs=1e-5)


def _meta(**changes: Any) -> dict[str, Any]:
    """The meta.json of a ResNet-18 trained 2 epochs on 4 digit classes (as the vision engine writes it)."""
    meta = {"name": "digits_resnet", "version": 1, "kind": "vision", "task": "image_classification",
            "model_name": "resnet18", "metric": "accuracy", "test_score": 0.5, "seed": 0, "preset": "fast",
            "best_model": "resnet18", "classes": ["0", "1", "2", "3"], "input_size": [32, 32],
            "architecture_params": {"n_classes": 4, "image_size": None, "detection_size": None},
            "best_params": {"batch_size": 16, "freeze": 0.5, "lr": 0.001, "optimizer": "adamw",
                            "weight_decay": 0.0001},
            "images": {"train": 28, "validation": 6, "test": 6}, "weights_source": "random",
            "stopped": "all 2 epochs"}
    return {**meta, **changes}


def _parts(meta: dict[str, Any]) -> str:
    from automlops.export.script import DataSource, assemble
    from automlops.export.vision import vision_parts

    source = DataSource("digits4", 1, Path("/lake/.images/digits4/v0001"), "0" * 64, {"storage": "images",
                                                                                        "root": "data"})
    return assemble(meta, vision_parts(SimpleNamespace(meta=meta), source), "train_digits_resnet.py")


def test_the_script_is_written_from_the_meta(tmp_path: Path) -> None:
    text = _parts(_meta())
    compile(text, "train_digits_resnet.py", "exec")
    assert "import automlops" not in text and "from automlops" not in text
    assert "resnet18(weights=None, num_classes=n_classes)" in text and "FREEZE = 0.5" in text
    assert "EPOCHS = 2" in text and "RECORDED_SPLIT = (28, 6, 6)" in text and "'torchmetrics'" in text
    # ImageNet weights: the same published weights, and a new head for the dataset's classes
    pretrained = _parts(_meta(weights_source="cache", stopped="early stopping: no better accuracy for 3 epochs"))
    assert "ResNet18_Weights.DEFAULT" in pretrained and "nn.Linear(" in pretrained
    assert "EPOCHS = 3  # not recorded: the 'fast' preset's" in pretrained


def test_an_unknown_layout_or_weights_source_is_refused() -> None:
    # segmentation, detection and weights files are exported now (tests/export/test_vision_seg_det_export.py)
    with pytest.raises(ConfigError, match="unknown weights"):
        _parts(_meta(weights_source="hub"))
    with pytest.raises(ConfigError, match="'yolo' dataset"):
        _parts(_meta(task="detection", model_name="fasterrcnn_mobilenet_v3_large_320_fpn", layout="yolo"))
