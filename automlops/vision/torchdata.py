"""From an :class:`~automlops.vision.datasets.ImageDataset` to batches of tensors.

**Augmentation** shows the network the same image in slightly different ways each epoch (a crop,
a flip), so it learns what a *square* is rather than where one square sat in one picture. The
transforms come from torchvision's ``transforms.v2``, which moves the *target* with the image: a
flipped image gets a flipped mask and flipped boxes (``tv_tensors.Mask``/``BoundingBoxes`` tell it
what each tensor is). Validation and test images are only resized and normalised: the score must
not depend on a random crop.

**Normalisation** subtracts ImageNet's mean colour and divides by its spread, the statistics
pretrained torchvision models were trained with. Faster R-CNN normalises inside the model, so
detection images are only turned into tensors.

**DataLoader workers** decode images in parallel processes. Starting them costs about a second,
which a small dataset never earns back, so :func:`worker_count` uses none below a few hundred
images and at most one per spare core above.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2

from automlops.vision.datasets import ImageDataset, ImageItem
from automlops.vision.zoo import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["ItemsDataset", "eval_transform", "make_loader", "train_transform", "worker_count"]

MIN_IMAGES_FOR_WORKERS = 512


def train_transform(task: str, size: int) -> v2.Compose:
    """The standard augmentations of torchvision's reference recipes, per task."""
    if task == "image_classification":
        steps: list[Any] = [v2.ToImage(), v2.RandomResizedCrop(size, scale=(0.6, 1.0), antialias=True),
                            v2.RandomHorizontalFlip()]
    elif task == "segmentation":
        steps = [v2.ToImage(), v2.RandomResizedCrop(size, scale=(0.5, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    else:
        steps = [v2.ToImage(), v2.RandomHorizontalFlip(), v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes()]
    return v2.Compose(steps + _to_float(task))


def eval_transform(task: str, size: int) -> v2.Compose:
    """Resize (classification, segmentation) and normalise: no randomness."""
    steps: list[Any] = [v2.ToImage()]
    if task != "detection":
        steps.append(v2.Resize((size, size), antialias=True))
    return v2.Compose(steps + _to_float(task))


def _to_float(task: str) -> list[Any]:
    steps: list[Any] = [v2.ToDtype(torch.float32, scale=True)]
    if task != "detection":
        steps.append(v2.Normalize(IMAGENET_MEAN, IMAGENET_STD))
    return steps


def load_rgb(path: Any) -> Any:
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")


class ItemsDataset(Dataset[tuple[Any, Any]]):
    """Some items of an image dataset, decoded and transformed on demand (one per ``__getitem__``)."""

    def __init__(self, data: ImageDataset, indices: Sequence[int], transform: v2.Compose) -> None:
        self.data, self.indices, self.transform = data, list(indices), transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        item: ImageItem = self.data.items[self.indices[i]]
        image = load_rgb(self.data.root / item.path)
        task = self.data.task
        if task == "image_classification":
            return self.transform(image), int(item.label if item.label is not None else -1)
        if task == "segmentation":
            from PIL import Image

            with Image.open(self.data.root / str(item.mask)) as m:
                mask = tv_tensors.Mask(torch.as_tensor(_as_array(m), dtype=torch.int64))
            out_image, out_mask = self.transform(image, mask)
            return out_image, out_mask
        boxes = tv_tensors.BoundingBoxes(torch.tensor(item.boxes, dtype=torch.float32).reshape(-1, 4),
                                         format="XYXY", canvas_size=(item.height, item.width))
        target = {"boxes": boxes, "labels": torch.tensor(item.box_labels, dtype=torch.int64) + 1}  # 0: background
        out_image, out_target = self.transform(image, target)
        return out_image, out_target


def _as_array(mask_image: Any) -> Any:
    import numpy as np

    return np.array(mask_image if mask_image.mode in ("L", "P") else mask_image.convert("L"))  # a writable copy


def _detection_collate(batch: list[tuple[Any, Any]]) -> tuple[list[Any], list[Any]]:
    """Detection images differ in size and box count: a batch is two lists, not stacked tensors."""
    images, targets = zip(*batch, strict=True)
    return list(images), [{"boxes": t["boxes"].as_subclass(torch.Tensor), "labels": t["labels"]} for t in targets]


def worker_count(n_images: int) -> int:
    """DataLoader worker processes for ``n_images`` images on this machine (see the module docstring)."""
    if n_images < MIN_IMAGES_FOR_WORKERS:
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def make_loader(dataset: ItemsDataset, *, batch_size: int, shuffle: bool, seed: int = 0,
                workers: int | None = None, pin_memory: bool = False) -> DataLoader[Any]:
    """A DataLoader for one split; training batches are shuffled with a seeded generator.

    ``pin_memory`` (for CUDA) puts batches in page-locked memory, so the copy to the GPU can overlap work.
    """
    workers = worker_count(len(dataset)) if workers is None else workers
    generator = torch.Generator().manual_seed(seed)
    collate = _detection_collate if dataset.data.task == "detection" else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, num_workers=workers,
                      collate_fn=collate, persistent_workers=workers > 0, pin_memory=pin_memory,
                      drop_last=shuffle and dataset.data.task != "detection" and len(dataset) > batch_size)
