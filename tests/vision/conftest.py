"""Tiny image datasets with known answers, written once per test session (see automlops/vision/samples.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from automlops.vision.datasets import ImageDataset, load_image_dataset
from automlops.vision.samples import (
    write_digits_imagefolder,
    write_shapes_detection,
    write_shapes_segmentation,
)


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> ImageDataset:
    """scikit-learn's handwritten digits 0-3, 10 per class, 32 px, as an ImageFolder."""
    return load_image_dataset(write_digits_imagefolder(tmp_path_factory.mktemp("digits") / "digits", per_class=10,
                                                       size=32, classes=4))


@pytest.fixture(scope="session")
def shapes_segmentation(tmp_path_factory: pytest.TempPathFactory) -> ImageDataset:
    return load_image_dataset(write_shapes_segmentation(tmp_path_factory.mktemp("seg") / "shapes", n=14, size=32))


@pytest.fixture(scope="session")
def shapes_detection(tmp_path_factory: pytest.TempPathFactory) -> ImageDataset:
    return load_image_dataset(write_shapes_detection(tmp_path_factory.mktemp("det") / "shapes", n=12, size=48))


@pytest.fixture
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty torch cache: runs are deterministic whatever the machine downloaded before."""
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch-hub"))


def images_of(data: ImageDataset, n: int) -> list:
    from PIL import Image

    out = []
    for item in data.items[:n]:
        with Image.open(data.root / item.path) as img:
            out.append(img.convert("RGB"))
    return out
