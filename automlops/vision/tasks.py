"""What differs between the three vision tasks: the loss, the forward pass and the metrics.

The training loop (:mod:`automlops.vision.trainer`) is the same for every task; each task is one
:class:`VisionTask` in :data:`VISION_TASKS` that says how to get a loss from a batch and how to
score predictions. The metrics are **torchmetrics**' implementations, the same a paper would use:

* **classification** – *accuracy* (share of images whose top class is right; the search metric),
  *macro-F1* (the mean of each class's F1, so a rare class counts as much as a common one) and the
  *confusion matrix* (rows: true class, columns: predicted).
* **segmentation** – *mIoU* (for each class, the overlap of predicted and true pixels divided by
  their union, then the mean over classes; the search metric) and *pixel accuracy* (share of pixels
  right, flattered by a large background). Pixels marked 255 in a mask are ignored.
* **detection** – *mAP* (mean average precision): a predicted box counts as right when it overlaps
  a true box of the same class by at least an IoU threshold; precision is averaged over recall
  levels and classes. ``map_50`` uses IoU 0.5 (the search metric: lenient enough to rank models
  trained for a few epochs); ``map`` averages thresholds 0.5:0.95 (COCO's headline number). The
  COCO evaluation itself runs in **pycocotools**, torchmetrics' backend.

Faster R-CNN resizes every image itself, its shorter side to ``min_size`` unless that would put its
longer side past ``max_size``. A very elongated image (a 10,000 × 10 strip) would then shrink to 0
pixels high, which is a crash, not a prediction: :func:`fit_detector` pads such an image at the
bottom or right with black first, so its boxes keep their coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from automlops.core.registry import Registry

__all__ = ["DETECTOR_MIN_SIDE", "IGNORE_INDEX", "VISION_TASKS", "MetricSet", "VisionTask", "fit_detector"]

IGNORE_INDEX = 255
DETECTOR_MIN_SIDE = 32  # pixels the shorter side keeps after a detector's resize (its smallest anchors)


def fit_detector(model: nn.Module, images: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``images`` (C × H × W) padded with zeros at the bottom or right where the detector's own resize
    would shrink the shorter side below :data:`DETECTOR_MIN_SIDE` pixels; the others as they are."""
    max_size = getattr(getattr(model, "transform", None), "max_size", None)
    if not max_size:
        return list(images)
    out = []
    for image in images:
        height, width = (int(v) for v in image.shape[-2:])
        need = math.ceil(DETECTOR_MIN_SIDE * max(height, width) / float(max_size))
        if min(height, width) >= need:
            out.append(image)
            continue
        pad_right, pad_bottom = (need - width, 0) if width < height else (0, need - height)
        out.append(nn.functional.pad(image, (0, pad_right, 0, pad_bottom)))
    return out


class MetricSet:
    """Accumulates one split's predictions batch by batch; ``compute`` gives plain floats."""

    def __init__(self, task: str, n_classes: int) -> None:
        self.task, self.n_classes = task, n_classes
        self.loss_sum, self.loss_n = 0.0, 0
        if task == "image_classification":
            from torchmetrics.classification import (
                MulticlassAccuracy,
                MulticlassConfusionMatrix,
                MulticlassF1Score,
            )

            self.parts: dict[str, Any] = {
                "accuracy": MulticlassAccuracy(n_classes, average="micro"),
                "macro_f1": MulticlassF1Score(n_classes, average="macro"),
                "confusion": MulticlassConfusionMatrix(n_classes)}
        elif task == "segmentation":
            from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

            self.parts = {"miou": MulticlassJaccardIndex(n_classes, average="macro", ignore_index=IGNORE_INDEX),
                          "pixel_accuracy": MulticlassAccuracy(n_classes, average="micro", ignore_index=IGNORE_INDEX)}
        else:
            from torchmetrics.detection import MeanAveragePrecision

            self.parts = {"map": MeanAveragePrecision(iou_type="bbox", backend="pycocotools")}

    def add_loss(self, loss: float, n: int) -> None:
        self.loss_sum += loss * n
        self.loss_n += n

    def update(self, outputs: Any, targets: Any) -> None:
        if self.task == "detection":
            preds = [{k: v.detach().cpu() for k, v in o.items()} for o in outputs]
            truth = [{k: v.detach().cpu() for k, v in t.items()} for t in targets]
            self.parts["map"].update(preds, truth)
            return
        predicted = outputs.argmax(dim=1).cpu()
        for metric in self.parts.values():
            metric.update(predicted, targets.cpu())

    def compute(self) -> dict[str, Any]:
        """The metrics as floats (and the confusion matrix as a nested list)."""
        out: dict[str, Any] = {}
        if self.loss_n:
            out["loss"] = self.loss_sum / self.loss_n
        for name, metric in self.parts.items():
            value = metric.compute()
            if name == "confusion":
                out[name] = value.int().tolist()
            elif name == "map":
                out["map"] = max(0.0, float(value["map"]))  # -1 means "no box at all": nothing was found
                out["map_50"] = max(0.0, float(value["map_50"]))
                out["map_75"] = max(0.0, float(value["map_75"]))
            else:
                out[name] = float(value)
        return out


@dataclass(frozen=True)
class VisionTask:
    """One image task: its search metric, how it computes a loss and its predictions."""

    name: str
    metric: str  # the metric the search maximises
    metric_names: tuple[str, ...]  # every headline metric reported
    has_val_loss: bool = True

    def training_loss(self, model: nn.Module, images: Any, targets: Any) -> torch.Tensor:
        if self.name == "detection":  # torchvision detectors return their losses in train mode
            losses: Mapping[str, torch.Tensor] = model(fit_detector(model, images), targets)
            return sum(losses.values())  # type: ignore[return-value]
        return nn.functional.cross_entropy(self.forward(model, images), targets, ignore_index=IGNORE_INDEX)

    def forward(self, model: nn.Module, images: Any) -> Any:
        """Predictions in eval mode: logits (classification), per-pixel logits (segmentation) or boxes."""
        if self.name == "detection":
            return model(fit_detector(model, images))
        out = model(images)
        return out["out"] if self.name == "segmentation" else out

    def eval_loss(self, outputs: Any, targets: Any) -> float | None:
        if not self.has_val_loss:
            return None
        return float(nn.functional.cross_entropy(outputs, targets, ignore_index=IGNORE_INDEX))

    def metrics(self, n_classes: int) -> MetricSet:
        return MetricSet(self.name, n_classes)


VISION_TASKS: Registry[VisionTask] = Registry("vision task")
VISION_TASKS.add("image_classification", VisionTask("image_classification", "accuracy", ("accuracy", "macro_f1")))
VISION_TASKS.add("segmentation", VisionTask("segmentation", "miou", ("miou", "pixel_accuracy")))
VISION_TASKS.add("detection", VisionTask("detection", "map_50", ("map_50", "map", "map_75"), has_val_loss=False))
