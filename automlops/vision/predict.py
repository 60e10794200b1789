"""Predictions of a saved vision model on new images: labels, masks or boxes.

A served image goes through exactly the preprocessing the model was validated with, read from
``meta.json`` (``input_size``, ``normalization``), never re-guessed. Segmentation masks are
scaled back to the image's own size (the network saw a resized copy), and detection boxes are
in the image's own pixels (Faster R-CNN resizes internally and maps its boxes back; a very
elongated image is first padded, see :func:`automlops.vision.tasks.fit_detector`, and its boxes
are clipped to the image).

Images from outside are untrusted bytes: :func:`open_image` checks the magic bytes, Pillow's
decompression-bomb limit and that the image really decodes, before anything else touches them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import DataError

__all__ = ["IMAGE_SUFFIXES", "MAGIC", "open_image", "predict_images", "predict_paths", "sniff_image"]

MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP", b"GIF87a": "GIF", b"GIF89a": "GIF",
         b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DEFAULT_MAX_PIXELS = 40_000_000


def sniff_image(data: bytes) -> str | None:
    """The image format the first bytes announce (``None``: not an image we read)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in MAGIC.items() if data.startswith(magic)), None)


def open_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "the image") -> Any:
    """Decode untrusted bytes to an RGB Pillow image, or a DataError naming what is wrong."""
    import warnings

    from PIL import Image

    if sniff_image(data) is None:
        raise DataError(f"{name} is not an image (its first bytes are not PNG, JPEG, BMP, GIF, TIFF or WEBP)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > max_pixels:
                    raise DataError(f"{name} has {img.width}×{img.height} pixels, more than the limit of "
                                    f"{max_pixels:,}")
                img.load()
                return img.convert("RGB")
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{name} is too large to decode safely (a decompression bomb?)") from None
    except Exception as exc:
        raise DataError(f"{name} could not be decoded ({type(exc).__name__}: {exc})") from None


def _classes(meta: Mapping[str, Any]) -> list[str]:
    return [str(c) for c in meta.get("classes") or []]


@lru_cache(maxsize=16)
def _transform(h: int, w: int, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """The evaluation preprocessing, built once per model shape (not once per request)."""
    import torch
    from torchvision.transforms import v2

    steps: list[Any] = [v2.ToImage(), v2.Resize((h, w), antialias=True), v2.ToDtype(torch.float32, scale=True)]
    if mean:
        steps.append(v2.Normalize(list(mean), list(std)))
    return v2.Compose(steps)


def _batch(images: Sequence[Any], meta: Mapping[str, Any]) -> Any:
    import torch

    h, w = (int(v) for v in meta.get("input_size") or (224, 224))
    norm = meta.get("normalization") or {}
    transform = _transform(h, w, tuple(norm.get("mean", ())), tuple(norm.get("std", ())))
    return torch.stack([transform(img) for img in images])


def predict_images(model: Any, meta: Mapping[str, Any], images: Sequence[Any], *,
                   threshold: float | None = None) -> list[dict[str, Any]]:
    """One answer per image (see the keys per task in the module of each answer below)."""
    import torch

    task, classes = str(meta.get("task")), _classes(meta)
    if model.training:  # eval() walks every module (~1 ms for a MobileNet): only when needed
        model.eval()
    device = next(model.parameters()).device  # a model moved to a GPU predicts there
    with torch.inference_mode():
        if task == "image_classification":
            proba = torch.softmax(model(_batch(images, meta).to(device)), dim=1).tolist()  # one conversion, not one per class
            return [{"prediction": classes[max(range(len(p)), key=p.__getitem__)],
                     "probabilities": dict(zip(classes, p, strict=True))} for p in proba]
        if task == "segmentation":
            logits = model(_batch(images, meta).to(device))["out"].cpu()
            answers = []
            for img, one in zip(images, logits, strict=True):
                full = torch.nn.functional.interpolate(one[None], size=(img.height, img.width), mode="bilinear",
                                                       align_corners=False)[0]
                mask = full.argmax(dim=0).numpy().astype(np.uint8)
                counts = np.bincount(mask.ravel(), minlength=len(classes))
                answers.append({"mask": mask, "pixel_counts": {c: int(n) for c, n in zip(classes, counts,
                                                                                         strict=False)}})
            return answers
        if task == "detection":
            from torchvision.transforms.functional import pil_to_tensor

            from automlops.vision.tasks import fit_detector

            cut = float(meta.get("score_threshold", 0.5) if threshold is None else threshold)
            tensors = fit_detector(model, [(pil_to_tensor(img).float() / 255.0).to(device) for img in images])
            outputs = [{k: v.cpu() for k, v in o.items()} for o in model(tensors)]
            answers = []
            for img, o in zip(images, outputs, strict=True):  # filter on tensors, then convert once
                o["boxes"][:, 0::2] = o["boxes"][:, 0::2].clamp(0, img.width)  # off any padding (fit_detector)
                o["boxes"][:, 1::2] = o["boxes"][:, 1::2].clamp(0, img.height)
                inside = (o["boxes"][:, 2] > o["boxes"][:, 0]) & (o["boxes"][:, 3] > o["boxes"][:, 1])
                keep = (o["scores"] >= cut) & (o["labels"] >= 1) & (o["labels"] <= len(classes)) & inside
                answers.append({"boxes": [{"box": [round(v, 2) for v in box], "label": classes[label - 1],
                                           "score": score}
                                          for box, label, score in zip(o["boxes"][keep].tolist(),
                                                                       o["labels"][keep].tolist(),
                                                                       o["scores"][keep].tolist(), strict=True)]})
            return answers
    raise DataError(f"this model's task {task!r} is not an image task")


def predict_paths(model: Any, meta: Mapping[str, Any], paths: Sequence[Path], out_dir: Path | None = None, *,
                  threshold: float | None = None, batch_size: int = 16) -> pd.DataFrame:
    """Predict image files; one row per file. Masks (PNG) and boxes (JSON) go to ``out_dir``."""
    from PIL import Image

    task, classes, rows = str(meta.get("task")), _classes(meta), []
    if task != "image_classification":
        if out_dir is None:
            raise DataError("segmentation and detection write masks or boxes: give an output folder")
        out_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(paths), batch_size):
        chunk = list(paths[start:start + batch_size])
        images = [open_image(Path(p).read_bytes(), name=Path(p).name) for p in chunk]
        for path, answer in zip(chunk, predict_images(model, meta, images, threshold=threshold), strict=True):
            row: dict[str, Any] = {"file": str(path)}
            if task == "image_classification":
                row["prediction"] = answer["prediction"]
                row.update({f"proba_{c}": answer["probabilities"][c] for c in classes})
            elif task == "segmentation":
                assert out_dir is not None
                target = out_dir / f"{Path(path).stem}_mask.png"
                Image.fromarray(answer["mask"], "L").save(target)
                row["mask_file"] = str(target)
                row.update({f"{c}_pixels": n for c, n in answer["pixel_counts"].items()})
            else:
                assert out_dir is not None
                target = out_dir / f"{Path(path).stem}_boxes.json"
                target.write_text(json.dumps(answer["boxes"], indent=1), encoding="utf-8")
                row.update({"n_boxes": len(answer["boxes"]), "boxes_file": str(target)})
            rows.append(row)
    return pd.DataFrame(rows)
