"""The dashboard with very elongated images (10,000 × 10 strips): shown, not a "Something went wrong".

``st.image(..., width=150)`` of a strip asks Pillow for a 150 × 0 image, which raises; the Vision
page's sample grid then became a generic error box for a dataset the lake had accepted, and
*Try an image* on the Models page did the same for an uploaded strip (a detector even crashed
before drawing). Now every drawn image goes through :func:`automlops.ui.vision_draw.displayable`.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from automlops.core.fit import Artifact
from automlops.mlops.store import ModelStore
from automlops.ui.vision_draw import displayable
from automlops.vision.zoo import build_model
from tests.ui.helpers import assert_clean, new_app, open_page, texts

VISION_PAGE = "automlops/ui/pages/vision.py"


def strip_png(width: int, height: int, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_displayable_pads_a_strip_and_leaves_a_photo_alone() -> None:
    photo = Image.new("RGB", (64, 48))
    assert displayable(photo).size == (64, 48)
    shown = displayable(Image.new("RGB", (10_000, 10), (0, 0, 0)))
    width, height = shown.size
    assert width == 1024 and width / height <= 8
    assert shown.getpixel((0, 0)) == (0, 0, 0) and shown.getpixel((0, height - 1)) != (0, 0, 0)  # padded below


def test_a_dataset_of_strips_shows_its_sample_grid(ui_home: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for label in ("wide", "tall"):
            for i in range(4):
                zf.writestr(f"{label}/{i}.png", strip_png(3000, 10, i) if label == "wide" else strip_png(10, 3000, i))
    at = new_app()
    at.run()
    at.switch_page(VISION_PAGE)
    at.run()
    at.file_uploader(key="vision_upload").upload("strips.zip", buffer.getvalue(), "application/zip")
    at.run()
    at.button(key="vision_add").click().run()
    assert_clean(at)
    assert not at.error, texts(at.error)
    [grid] = at.get("image")
    assert len(grid.captions) == 8


def test_try_an_image_answers_a_strip_with_a_detector(ui_home: Path, empty_db: Path, tmp_path: Path) -> None:
    shutil.copy(empty_db, ui_home / "mlflow.db")
    torch.manual_seed(0)
    meta = {"architecture": "vision:fasterrcnn_mobilenet_v3_large_320_fpn",
            "model_name": "fasterrcnn_mobilenet_v3_large_320_fpn", "task": "detection",
            "classes": ["square", "circle"], "input_size": [64, 64], "normalization": {}, "score_threshold": 0.5,
            "architecture_params": {"n_classes": 2, "image_size": None, "detection_size": 64}}
    model = build_model("fasterrcnn_mobilenet_v3_large_320_fpn", 2, detection_size=64)
    ModelStore(ui_home / "models").save("boxes", Artifact("vision", model, meta, format="torch-state-dict"))
    at = open_page(new_app(), "models")
    assert_clean(at)
    at.file_uploader(key="vision_try").upload("strip.png", strip_png(2000, 10), "image/png")
    at.run()
    assert_clean(at)
    assert not at.error, texts(at.error)
    assert any("objects above the score threshold" in t or "object above the score threshold" in t
               for t in texts(at.markdown)), texts(at.markdown)
