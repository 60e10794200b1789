"""Object-detection annotations: COCO JSON and Pascal VOC XML, read into :class:`ImageItem` boxes.

Two formats cover almost every detection dataset one can download or export from a labelling tool:

* **COCO**: one JSON file with three lists. ``images`` (``id``, ``file_name``, ``width``,
  ``height``), ``categories`` (``id``, ``name``) and ``annotations`` (``image_id``,
  ``category_id``, ``bbox`` = ``[x, y, width, height]`` with ``x, y`` the top-left corner, in
  pixels). Category ids need not start at 0 or be contiguous (COCO's own skip numbers), so they
  are mapped to 0-based class indices in id order. Crowd regions (``iscrowd: 1``) are skipped.
* **Pascal VOC**: one XML file per image with the image's ``<filename>``, ``<size>`` and one
  ``<object>`` per box (``<name>``, ``<bndbox>`` with ``xmin ymin xmax ymax``). VOC has no class
  list of its own: a ``classes.txt`` (or ``labels.txt``) fixes the order and catches typos,
  otherwise the names found are sorted.

Either way each box becomes ``x1, y1, x2, y2`` in pixels, checked against the real image size
read from the file (a box may overhang by 1 px of rounding, and is then clipped).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from automlops.core.problem import TaskType
from automlops.errors import DataError
from automlops.vision.archive import IMAGE_EXTENSIONS
from automlops.vision.datasets import (
    Box,
    ImageDataset,
    ImageItem,
    child_folder,
    files_under,
    image_size,
    read_classes,
    relpath,
    visible,
)

__all__ = ["find_coco", "load_coco", "load_voc", "voc_folder"]

_BOX_SLACK = 1.0  # pixels a box may overhang its image (annotation tools round): clipped, not refused


def _box(corners: Sequence[Any], size: tuple[int, int], where: str) -> Box:
    """A checked ``x1, y1, x2, y2`` box, clipped to the image (after at most 1 px of slack)."""
    try:
        coords = [float(v) for v in corners]
    except (TypeError, ValueError):
        raise DataError(f"{where}: box coordinates {list(corners)} are not numbers") from None
    if not all(math.isfinite(v) for v in coords):
        raise DataError(f"{where}: box {coords} has a coordinate that is not a finite number")
    a, b, c, d = coords
    width, height = size
    if c - a <= 0 or d - b <= 0:
        raise DataError(f"{where}: box {_fmt(coords)} has no area (degenerate: x2 <= x1 or y2 <= y1)")
    if a < -_BOX_SLACK or b < -_BOX_SLACK or c > width + _BOX_SLACK or d > height + _BOX_SLACK:
        raise DataError(f"{where}: box {_fmt(coords)} (x1, y1, x2, y2) lies outside the {width}×{height} image")
    a, b, c, d = max(a, 0.0), max(b, 0.0), min(c, float(width)), min(d, float(height))
    if c - a <= 0 or d - b <= 0:
        raise DataError(f"{where}: box {_fmt(coords)} has no area inside the {width}×{height} image")
    return (a, b, c, d)


def _fmt(coords: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in coords) + "]"


def _inside(root: Path, base: Path, name: str) -> Path | None:
    """``base / name`` if it is an existing file inside ``root`` (a path in a JSON must not escape)."""
    candidate = (base / name).resolve()
    if not candidate.is_relative_to(root.resolve()):
        raise DataError(f"image path '{name}' in the annotations points outside the dataset folder")
    return candidate if candidate.is_file() else None


def _detection_dataset(root: Path, layout: str, classes: tuple[str, ...], items: list[ImageItem]) -> ImageDataset:
    if not items:
        raise DataError("no images found for detection: the annotations list none that exist")
    if not any(item.boxes for item in items):
        raise DataError("the detection annotations hold no boxes at all")
    return ImageDataset(root, TaskType.DETECTION.value, layout, classes, tuple(sorted(items, key=lambda i: i.path)))


# ---------------------------------------------------------------------- COCO


def find_coco(root: Path, *, required: bool) -> tuple[Path, dict[str, Any]] | None:
    """The one COCO JSON beside the images (root or annotations/), parsed; None if there is none."""
    folders = [root, *([d] if (d := child_folder(root, "annotations")) else [])]
    found = [p for f in folders for p in visible(f) if p.is_file() and p.suffix.lower() == ".json"]
    named = [p for p in found if p.name.lower() == "annotations.json"]
    coco = []
    for path in named or found:
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
            if required or named:
                reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                raise DataError(f"'{relpath(path, root)}' is not valid JSON ({reason})") from None
            continue
        if isinstance(data, dict) and {"images", "annotations", "categories"} <= data.keys():
            coco.append((path, data))
        elif named:
            raise DataError(f"'{relpath(path, root)}' is not COCO: it needs 'images', 'annotations' and "
                            "'categories' lists")
    if len(coco) > 1:
        names = ", ".join(relpath(p, root) for p, _ in coco)
        raise DataError(f"several COCO annotation files ({names}): keep one, or name it annotations.json")
    return coco[0] if coco else None


def load_coco(root: Path, path: Path, data: dict[str, Any]) -> ImageDataset:
    shown = relpath(path, root)
    if not all(isinstance(data[k], list) for k in ("images", "annotations", "categories")):
        raise DataError(f"'{shown}' is not COCO: 'images', 'annotations' and 'categories' must be lists")
    try:
        categories = sorted(((int(c["id"]), _name(c["name"])) for c in data["categories"]), key=lambda c: c[0])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"'{shown}': every category needs an 'id' (a number) and a 'name' (text)") from None
    index = {cid: i for i, (cid, _) in enumerate(categories)}
    names = tuple(name for _, name in categories)
    if not names or len(index) != len(names) or len(set(names)) != len(names):
        raise DataError(f"'{shown}': categories must be a non-empty list with distinct ids and names")
    images = _coco_images(root, path, data["images"])
    boxes: dict[Any, list[tuple[Box, int]]] = {image_id: [] for image_id in images}
    for n, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or ann.get("iscrowd", 0):
            continue
        where = f"'{shown}' annotation {ann.get('id', n)}"
        image_id, category = ann.get("image_id"), ann.get("category_id")
        if not isinstance(image_id, (int, str)) or image_id not in images:
            raise DataError(f"{where}: unknown image_id {image_id!r}")
        item = images[image_id]
        where += f" on '{item.path}'"
        if not isinstance(category, int) or category not in index:
            raise DataError(f"{where}: unknown category id {category!r} (categories: "
                            f"{', '.join(f'{c}={name}' for c, name in categories)})")
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise DataError(f"{where}: 'bbox' must be [x, y, width, height]")
        x, y, w, h = bbox
        try:
            corners = (x, y, float(x) + float(w), float(y) + float(h))
        except (TypeError, ValueError):
            raise DataError(f"{where}: bbox {bbox} holds something that is not a number") from None
        box = _box(corners, (item.width, item.height), where)
        boxes[image_id].append((box, index[category]))
    items = [ImageItem(item.path, item.width, item.height, boxes=tuple(b for b, _ in boxes[i]),
                       box_labels=tuple(label for _, label in boxes[i])) for i, item in images.items()]
    return _detection_dataset(root, "coco", names, items)


def _name(value: Any) -> str:
    """A category name: non-empty text (``None`` must not become a class called 'None')."""
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise ValueError(value)
    return str(value).strip()


def _coco_images(root: Path, path: Path, entries: list[Any]) -> dict[Any, ImageItem]:
    """COCO ``images`` → {image id: ImageItem without boxes}, each file found and its size checked."""
    bases = list(dict.fromkeys([path.parent, path.parent / "images", root, root / "images"]))
    shown = relpath(path, root)
    images: dict[Any, ImageItem] = {}
    ids_of: dict[str, Any] = {}  # image file -> the id that listed it
    for entry in entries:
        if not isinstance(entry, dict) or "id" not in entry or not isinstance(entry.get("file_name"), str):
            raise DataError(f"'{shown}': every image needs an 'id' and a 'file_name'")
        image_id = entry["id"]
        if not isinstance(image_id, int | str) or isinstance(image_id, bool):
            raise DataError(f"'{shown}': image id {image_id!r} is not a number or a text")
        if image_id in images:
            raise DataError(f"'{shown}': image id {image_id!r} appears twice")
        name = entry["file_name"]
        found = next((p for base in bases if (p := _inside(root, base, name)) is not None), None)
        if found is None:
            raise DataError(f"image '{name}' listed in '{shown}' is not in the dataset")
        rel = relpath(found, root)
        if rel in ids_of:  # one picture twice could land in training and in test: a score it did not earn
            raise DataError(f"'{shown}' lists the image '{rel}' twice (ids {ids_of[rel]!r} and {image_id!r}): give "
                            "each image one entry, and all its boxes as annotations of that id")
        ids_of[rel] = image_id
        width, height = image_size(found, root)
        declared = (entry.get("width"), entry.get("height"))
        if declared != (None, None):
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in declared):
                raise DataError(f"'{shown}': the width and height of '{name}' must be numbers, not "
                                f"{declared[0]!r} and {declared[1]!r}")
            if declared != (width, height):
                raise DataError(f"'{shown}' says '{name}' is {declared[0]}×{declared[1]} but the image is "
                                f"{width}×{height}")
        images[image_id] = ImageItem(rel, width, height)
    return images


# ---------------------------------------------------------------------- Pascal VOC


def voc_folder(root: Path) -> Path | None:
    folder = child_folder(root, "annotations")
    return folder if folder is not None and files_under(folder, frozenset({".xml"})) else None


def load_voc(root: Path) -> ImageDataset:
    folder = voc_folder(root)
    assert folder is not None
    images_dir = child_folder(root, "JPEGImages", "images") or root
    classes_file = next((p for p in visible(root) if p.is_file() and p.name.lower() in ("classes.txt",
                                                                                          "labels.txt")), None)
    fixed = read_classes(classes_file, root) if classes_file else None
    parsed: list[tuple[ImageItem, list[tuple[Box, str]]]] = []
    described: dict[str, str] = {}  # image -> the XML describing it
    for xml in files_under(folder, frozenset({".xml"})):
        item, objects = _voc_file(xml, root, images_dir, fixed)
        if item.path in described:  # one picture twice could land in training and in test
            raise DataError(f"'{described[item.path]}' and '{relpath(xml, root)}' both describe '{item.path}': keep one "
                            "XML per image, with all its objects")
        described[item.path] = relpath(xml, root)
        parsed.append((item, objects))
    classes = fixed or tuple(sorted({name for _, objects in parsed for _, name in objects}))
    index = {name: i for i, name in enumerate(classes)}
    items = [ImageItem(item.path, item.width, item.height, boxes=tuple(b for b, _ in objects),
                       box_labels=tuple(index[name] for _, name in objects)) for item, objects in parsed]
    return _detection_dataset(root, "voc", classes, items)


def _voc_file(xml: Path, root: Path, images_dir: Path, classes: tuple[str, ...] | None
              ) -> tuple[ImageItem, list[tuple[Box, str]]]:
    shown = relpath(xml, root)
    try:
        tree = ET.parse(xml).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DataError(f"'{shown}' is not valid XML ({exc})") from None
    name = (tree.findtext("filename") or "").strip()
    image = _inside(root, images_dir, name) if name else None
    if image is None:  # VOC files often name the image badly: fall back on the XML's own name
        image = next((p for ext in sorted(IMAGE_EXTENSIONS) if (p := images_dir / (xml.stem + ext)).is_file()), None)
    if image is None:
        raise DataError(f"'{shown}' describes image '{name or xml.stem}', which is not in {images_dir.name}/")
    width, height = image_size(image, root)
    declared = (_int(tree.findtext("size/width")), _int(tree.findtext("size/height")))
    if all(declared) and declared != (width, height):  # 0 or missing: many VOC tools leave it out
        raise DataError(f"'{shown}' says the image is {declared[0]}×{declared[1]} but it is {width}×{height}")
    objects = []
    for k, obj in enumerate(tree.iter("object")):
        label = (obj.findtext("name") or "").strip()
        where = f"'{shown}' object {k + 1}"
        if not label or (classes is not None and label not in classes):
            raise DataError(f"{where}: unknown class '{label}'" + (f" (classes.txt: {', '.join(classes)})"
                                                                   if classes else ""))
        box = obj.find("bndbox")
        if box is None:
            raise DataError(f"{where} has no <bndbox>")
        corners = [box.findtext(tag) for tag in ("xmin", "ymin", "xmax", "ymax")]
        objects.append((_box(corners, (width, height), where), label))
    return ImageItem(relpath(image, root), width, height), objects


def _int(text: str | None) -> int | None:
    try:
        return int(float(text or ""))
    except (ValueError, OverflowError):  # 'abc', 'nan', 'inf'
        return None
