"""Exported scripts of segmentation and detection models, and of models that started from a weights file.

The slow tests train tiny networks on the drawn-shapes samples (a DeepLabV3 on 14 masks, a Faster
R-CNN on 12 COCO images) on the CPU from a random initialisation, save them with their image-lake
lineage, export them, and run the script in a fresh Python where ``import automlops`` fails: the
test mIoU / mAP@0.5 is the recorded one to 1e-6 (same CPU, same library versions: training and the
torchmetrics / pycocotools evaluation repeat exactly) and each epoch's training loss the recorded one.

A Faster R-CNN trained one epoch from random weights finds nothing yet: its recorded test mAP@0.5 is
0.0 (3 epochs on 24 images at 128 px still give 0.0, at ~2 min), so for detection the exact per-epoch
training losses and the recorded split sizes carry the check; the segmentation score is a real one.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from automlops.export import export_script
from automlops.export.verify import compare_scores, run_script
from automlops.mlops.store import ModelStore

pytest.importorskip("torchvision")

SEG = {"task": "segmentation", "model_name": "deeplabv3_mobilenet_v3_large", "metric": "miou", "layout": "masks",
       "classes": ["background", "square", "disc"]}
DET = {"task": "detection", "model_name": "fasterrcnn_mobilenet_v3_large_320_fpn", "metric": "map_50",
       "layout": "coco", "classes": ["square", "disc"],
       "architecture_params": {"n_classes": 2, "image_size": None, "detection_size": 64}}


def _meta(**changes: Any) -> dict[str, Any]:
    meta = {"name": "shapes", "version": 1, "kind": "vision", "task": "image_classification",
            "model_name": "resnet18", "metric": "accuracy", "test_score": 0.5, "seed": 0, "preset": "fast",
            "best_model": "resnet18", "classes": ["0", "1"], "input_size": [32, 32],
            "architecture_params": {"n_classes": 2, "image_size": None, "detection_size": None},
            "best_params": {"batch_size": 4, "freeze": 0.0, "lr": 0.001, "optimizer": "adamw", "weight_decay": 0.0001},
            "images": {"train": 9, "validation": 2, "test": 3}, "weights_source": "random", "stopped": "all 1 epochs"}
    return {**meta, **changes}


def _script(meta: dict[str, Any]) -> str:
    from automlops.export.script import DataSource, assemble
    from automlops.export.vision import vision_parts

    source = DataSource("shapes", 1, Path("/lake/.images/shapes/v0001"), "0" * 64, {"storage": "images",
                                                                                      "root": "data"})
    text = assemble(meta, vision_parts(SimpleNamespace(meta=meta), source), "train_shapes.py")
    compile(text, "train_shapes.py", "exec")
    assert "import automlops" not in text and "from automlops" not in text
    return text


def test_segmentation_and_detection_scripts_are_written() -> None:
    seg = _script(_meta(**SEG))
    assert "deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, aux_loss=False, num_classes=n_classes)" \
        in seg and "masks_dir" in seg and "VisionTask('segmentation', 'miou'" in seg
    det = _script(_meta(**DET))
    assert ("fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, min_size=64, max_size=85, "
            "num_classes=n_classes + 1)") in det
    assert "has_val_loss=False" in det and "'pycocotools'" in det and "annotations.json" in det
    voc = _script(_meta(**{**DET, "layout": "voc"}))
    assert "ElementTree.parse" in voc
    pretrained = _script(_meta(**SEG, weights_source="cache"))
    assert "DeepLabV3_MobileNet_V3_Large_Weights.DEFAULT" in pretrained and "nn.Conv2d(" in pretrained
    assert "FastRCNNPredictor(" in _script(_meta(**DET, weights_source="download"))


def test_a_model_started_from_a_weights_file_needs_weights(tmp_path: Path) -> None:
    text = _script(_meta(weights_source="file", weights_detail="weights from w.pt"))
    assert "--weights PATH" in text.split('"""')[1]  # the docstring says so
    assert "def build_model(n_classes: int, weights: str)" in text and "torch.load(weights" in text
    out = tmp_path / "train_shapes.py"
    out.write_text(text, encoding="utf-8")
    import runpy

    script = runpy.run_path(str(out))  # its definitions only (this process has its libraries imported already)
    with pytest.raises(SystemExit, match=r"weights from w\.pt.*pass that file with --weights PATH"):
        script["main"]([])
    with pytest.raises(SystemExit, match="missing.pt does not exist"):
        script["main"](["--weights", str(tmp_path / "missing.pt")])


@pytest.mark.parametrize("layout", ["masks", "coco", "voc"])
def test_the_scripts_readers_list_the_studios_items(layout: str, tmp_path: Path) -> None:
    # the seeded split picks items by position: the script must list the same items, in the same order
    import runpy

    from automlops.vision import samples
    from automlops.vision.datasets import load_image_dataset

    folder = (samples.write_shapes_segmentation(tmp_path / "shapes", n=6, size=32) if layout == "masks" else
              samples.write_shapes_detection(tmp_path / "shapes", n=6, size=48, fmt="voc" if layout == "voc" else "coco"))
    meta = _meta(**(SEG if layout == "masks" else {**DET, "layout": layout}))
    out = tmp_path / "train_shapes.py"
    out.write_text(_script(meta), encoding="utf-8")
    mine, studio = runpy.run_path(str(out))["load_images"](folder), load_image_dataset(folder)
    assert (mine.task, mine.classes, Path(mine.root)) == (studio.task, studio.classes, studio.root)
    fields = (lambda i: (i.path, i.mask)) if layout == "masks" else (lambda i: (i.path, i.width, i.height, i.boxes,
                                                                                   i.box_labels))
    assert [fields(i) for i in mine.items] == [fields(i) for i in studio.items]


def _lake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str, folder: Path, name: str,
                **runner: Any) -> dict[str, Any]:
    import torch

    from automlops.mlops.image_lake import ImageLake
    from automlops.vision import samples
    from automlops.vision.runner import VisionRunner, save_vision_model

    monkeypatch.setenv("AUTOMLOPS_HOME", str(tmp_path / "home"))
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch-hub"))  # no cached weights
    entry = ImageLake().add_archive(name, samples.zip_folder(folder, tmp_path / f"{name}.zip"))
    fitted = VisionRunner(task, epochs=1, preset="fast", n_trials=1, device="cpu", download_weights=False,
                          search="tpe", dataset=entry.lineage(), **runner)
    fitted.fit(ImageLake().load(name))
    save_vision_model(fitted.result_, ModelStore(), name, dataset=entry.lineage())
    return dict(ModelStore().load(name).meta)


def _check(meta: dict[str, Any], out: Path, *args: str) -> None:
    run = run_script(out, *args, timeout=600)
    assert compare_scores(run.test_score, meta["test_score"]), (run.test_score, meta["test_score"])
    assert "split differently" not in run.stderr  # the same item count per split as training
    losses = [float(v) for v in re.findall(r"training loss ([0-9.e+-]+),", run.stderr)]
    assert losses == pytest.approx([row["train_loss"] for row in meta["history"]], abs=1e-5)


@pytest.mark.slow
def test_a_segmentation_script_reproduces_the_test_miou(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from automlops.vision import samples

    folder = samples.write_shapes_segmentation(tmp_path / "shapes", n=14, size=32)
    meta = _lake_model(tmp_path, monkeypatch, "segmentation", folder, "shapes_seg",
                       models=["deeplabv3_mobilenet_v3_large"], batch_size=4)
    assert meta["weights_source"] == "random" and meta["layout"] == "masks"
    out = tmp_path / "train_shapes_seg.py"
    export_script("shapes_seg", out=out)
    _check(meta, out)


@pytest.mark.slow
def test_a_detection_script_reproduces_the_test_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from automlops.vision import samples

    folder = samples.write_shapes_detection(tmp_path / "shapes", n=12, size=48)
    meta = _lake_model(tmp_path, monkeypatch, "detection", folder, "shapes_det",
                       models=["fasterrcnn_mobilenet_v3_large_320_fpn"], image_size=64, batch_size=4)
    assert meta["weights_source"] == "random" and meta["layout"] == "coco"
    out = tmp_path / "train_shapes_det.py"
    export_script("shapes_det", out=out)
    _check(meta, out)


@pytest.mark.slow
def test_a_model_started_from_a_weights_file_reproduces_with_weights(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    import torchvision

    from automlops.vision import samples

    weights = tmp_path / "start.pt"  # a seeded random DeepLabV3 with the published shape (21 classes)
    torch.manual_seed(1)
    torch.save(torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, aux_loss=False, num_classes=21).state_dict(), weights)
    folder = samples.write_shapes_segmentation(tmp_path / "shapes", n=14, size=32)
    meta = _lake_model(tmp_path, monkeypatch, "segmentation", folder, "shapes_file",
                       models=["deeplabv3_mobilenet_v3_large"], batch_size=4, weights=str(weights))
    assert meta["weights_source"] == "file"
    out = tmp_path / "train_shapes_file.py"
    export_script("shapes_file", out=out)
    _check(meta, out, "--weights", str(weights))
