"""A very elongated image (a 2,000 × 10 strip) given to a detector: an answer, not a crash.

Faster R-CNN resizes each image itself (shorter side to ``min_size``, longer side at most
``max_size``); for a strip that shrank the short side to 0 pixels and torch raised
``RuntimeError`` — a 500 from the API, an "internal error" from ``automlops predict``, a generic
error box on the dashboard, and a crashed trial when such an image was in the training set. Now
the strip is padded first (:func:`automlops.vision.tasks.fit_detector`) and its boxes are clipped
to the image.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from automlops.core.fit import Artifact
from automlops.mlops.store import ModelStore
from automlops.serving.app import create_app
from automlops.vision.predict import predict_images
from automlops.vision.tasks import DETECTOR_MIN_SIDE, VISION_TASKS, fit_detector
from automlops.vision.zoo import build_model
from tests.serving.conftest import AUTH, make_settings

SIZE = 64  # the detector's min_size (max_size 85): small, so the test is quick
META = {"architecture": "vision:fasterrcnn_mobilenet_v3_large_320_fpn", "model_name": "fasterrcnn_mobilenet_v3_large_320_fpn",
        "task": "detection", "classes": ["square", "circle"], "input_size": [SIZE, SIZE], "normalization": {},
        "architecture_params": {"n_classes": 2, "image_size": None, "detection_size": SIZE}, "score_threshold": 0.5}


@pytest.fixture(scope="module")
def detector() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("fasterrcnn_mobilenet_v3_large_320_fpn", 2, detection_size=SIZE).eval()


def strip(width: int, height: int) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.mark.parametrize("size", [(2000, 10), (10, 2000), (1, 1), (40, 30)])
def test_a_detector_answers_any_shape_with_boxes_inside_the_image(detector, size) -> None:
    image = strip(*size)
    [answer] = predict_images(detector, META, [image], threshold=0.0)
    for found in answer["boxes"]:
        x1, y1, x2, y2 = found["box"]
        assert 0 <= x1 < x2 <= image.width and 0 <= y1 < y2 <= image.height


def test_only_strips_are_padded_and_only_at_the_bottom_or_right(detector) -> None:
    square, wide, tall = torch.rand(3, 40, 30), torch.rand(3, 10, 2000), torch.rand(3, 2000, 10)
    same, padded_wide, padded_tall = fit_detector(detector, [square, wide, tall])
    assert same is square
    assert padded_wide.shape[-1] == 2000 and padded_wide.shape[-2] > 10
    assert torch.equal(padded_wide[:, :10], wide) and padded_wide[:, 10:].abs().sum() == 0
    assert padded_tall.shape[-2] == 2000 and torch.equal(padded_tall[:, :, :10], tall)
    max_size = detector.transform.max_size
    assert padded_wide.shape[-2] * max_size / 2000 >= DETECTOR_MIN_SIDE  # what the detector's resize keeps


def test_a_strip_in_the_training_set_trains(detector) -> None:
    task = VISION_TASKS.get("detection")
    target = {"boxes": torch.tensor([[100.0, 2.0, 160.0, 9.0]]), "labels": torch.tensor([1])}
    detector.train()
    try:
        loss = task.training_loss(detector, [torch.rand(3, 10, 2000)], [target])
    finally:
        detector.eval()
    assert torch.isfinite(loss)


def test_the_api_answers_a_strip_sent_to_a_detector(tmp_path: Path, detector) -> None:
    bank = tmp_path / "bank"
    ModelStore(bank).save("boxes", Artifact("vision", detector, META, format="torch-state-dict"))
    home = tmp_path / "home"
    shutil.copytree(bank, home / "models")
    buffer = io.BytesIO()
    strip(2000, 10).save(buffer, "PNG")
    with TestClient(create_app(make_settings(home))) as client:
        response = client.post("/predict", files=[("files", ("strip.png", buffer.getvalue(), "image/png"))],
                               headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["n_images"] == 1
