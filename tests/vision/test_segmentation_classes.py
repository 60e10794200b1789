"""Segmentation classes that the masks never show: one class everywhere is refused (predicting it would
score a perfect mIoU while learning nothing); a class listed but never drawn is named in the decisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from automlops.errors import DataError
from automlops.vision import VisionRunner
from automlops.vision.datasets import load_image_dataset
from automlops.vision.samples import write_shapes_segmentation


def test_masks_of_a_single_class_are_refused(tmp_path: Path) -> None:
    root = write_shapes_segmentation(tmp_path / "plain", n=6, size=32)
    for mask in (root / "masks").glob("*.png"):  # every pixel background
        Image.fromarray(np.zeros((32, 32), dtype=np.uint8), "L").save(mask)
    with pytest.raises(DataError, match="every labelled pixel of every mask is class 'background'"):
        load_image_dataset(root)


def test_a_class_no_mask_shows_is_named_in_the_decisions(tmp_path: Path, no_weights: None) -> None:
    root = write_shapes_segmentation(tmp_path / "shapes", n=14, size=32)
    classes = root / "classes.txt"
    classes.write_text(classes.read_text(encoding="utf-8") + "triangle\n", encoding="utf-8")  # listed, never drawn
    data = load_image_dataset(root)
    assert data.counts()["triangle"] == 0
    runner = VisionRunner("segmentation", models=["deeplabv3_mobilenet_v3_large"], epochs=1, n_trials=1,
                          download_weights=False).fit(data)
    notes = [d.message for d in runner.result_.decisions if d.topic == "data"]
    assert any("'triangle' appear in no label" in note for note in notes), notes
