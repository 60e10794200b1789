"""AutoMLOps Studio — the computer-vision engine, in one import.

A five-minute tour (each name links to a small module in ``automlops/vision``)::

    from cv_engine import ImageLake, VisionRunner, save_vision_model
    lake = ImageLake()
    lake.add_archive("digits", "digits.zip")           # safe unzip, layout checked, SHA-256 per file
    data = lake.load("digits")                          # an ImageDataset (ImageFolder here)
    runner = VisionRunner("classification", models=["resnet18", "mobilenet_v2"], time_budget=300).fit(data)
    runner.result_.test_metrics   # accuracy, macro-F1 on images never used to choose anything
    runner.decisions_             # weights used, input size, split, pruning... in plain words
    runner.history_               # loss and metric per epoch of every trial
    runner.predict([pil_image])   # [{"prediction": "7", "probabilities": {...}}]

* ``safe_extract``        – unzip without ``..``, links or zip bombs (``archive.py``)
* ``load_image_dataset``  – ImageFolder, images + masks, COCO or VOC, checked (``datasets.py``)
* ``VISION_MODELS``       – ResNet18/50, MobileNetV2, ViT-B/16, DeepLabV3, Faster R-CNN (``zoo.py``)
* ``resolve_weights``     – a weights file, the torch cache, a download, or random init (``zoo.py``)
* ``train_model``         – the loop: AdamW/SGD, warm-up + cosine, AMP, early stopping (``trainer.py``)
* ``VISION_TASKS``        – loss and torchmetrics per task: accuracy, mIoU, mAP (``tasks.py``)
* ``VisionEngine``        – the search on the shared driver, epochs as Hyperband's resource (``engine.py``)
* ``predict_images`` / ``predict_paths`` – labels, masks or boxes for new images (``predict.py``)
* ``write_digits_imagefolder`` / ``write_shapes_segmentation`` / ``write_shapes_detection`` – datasets
  with known answers, to try everything offline (``samples.py``)
"""

from __future__ import annotations

from automlops.mlops.image_lake import ImageDatasetVersion, ImageLake
from automlops.mlops.persist import save_model
from automlops.vision.archive import ArchiveLimits, safe_extract
from automlops.vision.datasets import ImageDataset, ImageItem, load_image_dataset
from automlops.vision.engine import VISION_PRESETS, VisionEngine
from automlops.vision.predict import open_image, predict_images, predict_paths
from automlops.vision.runner import VisionRunner, save_vision_model
from automlops.vision.samples import (
    write_digits_imagefolder,
    write_shapes_detection,
    write_shapes_segmentation,
    zip_folder,
)
from automlops.vision.tasks import VISION_TASKS
from automlops.vision.trainer import TrainConfig, train_model
from automlops.vision.zoo import VISION_MODELS, models_for, resolve_weights

__all__ = ["VISION_MODELS", "VISION_PRESETS", "VISION_TASKS", "ArchiveLimits", "ImageDataset", "ImageDatasetVersion",
           "ImageItem", "ImageLake", "TrainConfig", "VisionEngine", "VisionRunner", "load_image_dataset",
           "models_for", "open_image", "predict_images", "predict_paths", "resolve_weights", "safe_extract",
           "save_model", "save_vision_model", "train_model", "write_digits_imagefolder", "write_shapes_detection",
           "write_shapes_segmentation", "zip_folder"]
