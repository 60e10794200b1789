"""Computer vision: image classification, segmentation and detection by transfer learning (torchvision).

The engine plugs into the same :class:`~automlops.search.driver.SearchDriver` as every tabular
task: an Optuna search (Hyperband on epochs by default) under a time budget, tracked in MLflow,
saved through the model store, served by the API. The pieces, in the order data flows through them:

* :mod:`~automlops.vision.archive` – unzip an uploaded archive safely (no ``..``, no links, no bombs);
* :mod:`~automlops.vision.datasets` – recognise the layout (ImageFolder, masks, COCO, VOC) and check it;
* :mod:`~automlops.vision.zoo` – the architectures, their pretrained weights and new heads;
* :mod:`~automlops.vision.torchdata` – augmentations and loaders; :mod:`~automlops.vision.tasks` – loss
  and metrics per task; :mod:`~automlops.vision.trainer` – the training loop;
* :mod:`~automlops.vision.engine` – the search; :mod:`~automlops.vision.runner` – ``VisionRunner``;
* :mod:`~automlops.vision.predict` – answers for new images; :mod:`~automlops.vision.plots` – pictures.

Importing this package is cheap: torch is imported by the modules that need it, when they are used.
"""

from __future__ import annotations

from typing import Any

from automlops.vision import datasets as _datasets  # noqa: F401 - registers the image lake's reader (no torch)
from automlops.vision import zoo as _zoo  # noqa: F401 - registers the architectures with the model store (no torch)

__all__ = ["ImageDataset", "ImageItem", "VISION_MODELS", "VisionRunner", "load_image_dataset", "models_for",
           "predict_images", "predict_paths", "save_vision_model"]

_WHERE = {"ImageDataset": "datasets", "ImageItem": "datasets", "load_image_dataset": "datasets",
          "VISION_MODELS": "zoo", "models_for": "zoo", "VisionRunner": "runner", "save_vision_model": "runner",
          "predict_images": "predict", "predict_paths": "predict"}


def __getattr__(name: str) -> Any:
    """Public names, imported on first use (``from automlops.vision import VisionRunner``)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'automlops.vision' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"automlops.vision.{_WHERE[name]}"), name)
