"""Image datasets on disk: which layout a folder uses, and whether its labels make sense.

Three tasks, four layouts, the ones torchvision's reference scripts and most tutorials use:

* **ImageFolder** (image classification): one folder per class, the folder's name being the
  label: ``cat/001.jpg``, ``dog/002.jpg``. Classes are the folder names, sorted.
* **masks** (semantic segmentation): ``images/x.png`` with ``masks/x.png`` of the same size,
  where each mask pixel holds the *index* of its class in ``classes.txt`` (line 1 = index 0,
  usually ``background``), and 255 means "ignore this pixel" (object borders, say).
* **COCO** or **Pascal VOC** (object detection): ``images/`` with one ``annotations.json``, or
  one XML per image in ``annotations/`` (read by :mod:`automlops.vision.annotations`).

Boxes are stored as ``x1, y1, x2, y2`` in pixels. One wrapping top folder (``digits/0/...``, as a
zip of a folder has) is stepped into. Hidden files and OS junk are ignored. The first problem
found (a mask whose size differs from its image, a box outside its image, an unknown class id, an
empty class...) raises :class:`~automlops.errors.DataError` naming the file. Image sizes are read
from headers only (Pillow opens files lazily), masks are decoded once to check every pixel.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from automlops.config import Settings
from automlops.core.problem import TaskType
from automlops.errors import ConfigError, DataError
from automlops.mlops.image_lake import ImageReader, set_image_reader
from automlops.vision.archive import IMAGE_EXTENSIONS, ArchiveLimits, is_junk, safe_extract

__all__ = ["IGNORE_INDEX", "LAYOUTS", "VISION_TASKS", "ImageDataset", "ImageItem", "load_image_dataset",
           "vision_task"]

VISION_TASKS = (TaskType.IMAGE_CLASSIFICATION.value, TaskType.SEGMENTATION.value, TaskType.DETECTION.value)
LAYOUTS = ("imagefolder", "masks", "coco", "voc")
IGNORE_INDEX = 255  # a mask pixel that belongs to no class and is left out of the loss and the metrics
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


@dataclass(frozen=True)
class ImageItem:
    """One image and its labels; paths are relative to the dataset's root, with ``/``."""

    path: str
    width: int
    height: int
    label: int | None = None
    mask: str | None = None
    boxes: tuple[Box, ...] = ()
    box_labels: tuple[int, ...] = ()


@dataclass(frozen=True)
class ImageDataset:
    """A validated image dataset: what :func:`load_image_dataset` returns, and everyone reads."""

    root: Path
    task: str
    layout: str
    classes: tuple[str, ...]
    items: tuple[ImageItem, ...]
    pixel_counts: tuple[int, ...] | None = field(default=None, repr=False, compare=False)  # masks, per class

    def __len__(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        """Images per class (classification), labelled pixels per class (segmentation) or boxes per class."""
        if self.task == TaskType.SEGMENTATION.value:
            pixels = self.pixel_counts or _count_pixels(self)
            return dict(zip(self.classes, (int(n) for n in pixels), strict=True))
        totals = [0] * len(self.classes)
        for item in self.items:
            for label in ((item.label,) if item.label is not None else item.box_labels):
                totals[label] += 1
        return dict(zip(self.classes, totals, strict=True))

    def labels(self) -> list[int] | None:
        """Each image's class index (for stratified splits); None unless this is classification."""
        if self.task != TaskType.IMAGE_CLASSIFICATION.value:
            return None
        return [int(item.label) for item in self.items if item.label is not None]


def vision_task(task: str | TaskType | None) -> str | None:
    """``"classification"`` (the CLI's word) or a :class:`TaskType` → ``"image_classification"``; None stays None."""
    if task is None:
        return None
    value = str(task.value if isinstance(task, TaskType) else task).strip().lower()
    value = {"classification": TaskType.IMAGE_CLASSIFICATION.value, "detect": "detection",
             "segment": "segmentation"}.get(value, value)
    if value not in VISION_TASKS:
        raise ConfigError(f"unknown image task '{task}'; choose classification, segmentation or detection")
    return value


def load_image_dataset(root: Path, task: str | None = None) -> ImageDataset:
    """Find the layout of the folder ``root`` (for ``task`` if given), read and check it."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise DataError(f"no dataset folder at {root}")
    wanted = vision_task(task)
    root = _unwrap(root)
    from automlops.vision.annotations import (  # it imports this module
        find_coco,
        load_coco,
        load_voc,
        voc_folder,
    )
    coco = find_coco(root, required=wanted == "detection") if wanted in (None, "detection") else None
    if wanted == "segmentation" or (wanted is None and child_folder(root, "images") and child_folder(root, "masks")):
        return _load_masks(root)
    if wanted == "detection" or (wanted is None and (coco or voc_folder(root))):
        if coco is not None:
            return load_coco(root, *coco)
        if voc_folder(root) is not None:
            return load_voc(root)
        raise DataError("no detection annotations found: put a COCO annotations.json (images, annotations, "
                        "categories) or Pascal VOC annotations/*.xml beside images/")
    return _load_imagefolder(root)


# ---------------------------------------------------------------------- files and folders


def visible(folder: Path) -> list[Path]:
    """``folder``'s entries, sorted, without hidden files and OS junk (``.DS_Store``, ``__MACOSX``...)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and not is_junk(p.name)
                  and p.name != "__MACOSX")


def child_folder(folder: Path, *names: str) -> Path | None:
    """The sub-folder called one of ``names`` (any letter case), if any."""
    wanted = [n.lower() for n in names]
    found = {p.name.lower(): p for p in visible(folder) if p.is_dir()}
    return next((found[n] for n in wanted if n in found), None)


def files_under(folder: Path, suffixes: frozenset[str] | None = IMAGE_EXTENSIONS) -> list[Path]:
    """Visible files below ``folder`` (recursively) with one of ``suffixes`` (None: all), sorted."""
    out = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).parts
        if any(part.startswith(".") or part == "__MACOSX" for part in rel) or not path.is_file():
            continue
        if suffixes is None or path.suffix.lower() in suffixes:
            out.append(path)
    return sorted(out, key=lambda p: p.relative_to(folder).as_posix())


def _unwrap(root: Path) -> Path:
    """Step into one wrapping folder (``digits/0/x.png`` → ``digits``), as a zipped folder has."""
    entries = visible(root)
    if len(entries) == 1 and entries[0].is_dir():
        inner = entries[0]
        if not any(p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS for p in visible(inner)):
            return inner
    return root


def relpath(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, with ``/`` (how items and messages name files)."""
    return path.relative_to(root).as_posix()


def image_size(path: Path, root: Path) -> tuple[int, int]:
    """(width, height) from the image's header, under Pillow's decompression-bomb limit."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return int(img.width), int(img.height)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"'{relpath(path, root)}' is a decompression bomb (too many pixels)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"'{relpath(path, root)}' is not a readable image ({exc})") from None


def read_classes(path: Path, root: Path) -> tuple[str, ...]:
    """Class names from a text file, one per line (blank lines skipped); a repeated name is refused."""
    names = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    seen = set()
    for name in names:
        if name in seen:
            raise DataError(f"'{relpath(path, root)}' names the class '{name}' twice")
        seen.add(name)
    return tuple(names)


# ---------------------------------------------------------------------- ImageFolder


def _load_imagefolder(root: Path) -> ImageDataset:
    entries = visible(root)
    stray = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if stray:
        raise DataError(f"image '{stray[0].name}' is outside any class folder: image classification needs one "
                        "folder per class (cat/001.jpg, dog/002.jpg)")
    folders = [p for p in entries if p.is_dir()]
    if not entries:
        raise DataError("the dataset is empty: no files at all (an empty archive?); use class folders (cat/001.jpg), "
                        "images/ + masks/ + classes.txt, or images/ with COCO or VOC annotations")
    if not folders:
        raise DataError(f"no images found in {root.name or root}: use class folders (cat/001.jpg), images/ + "
                        "masks/ + classes.txt, or images/ with COCO or VOC annotations")
    if len(folders) < 2:
        hint = (" (a detection set also needs annotations.json or annotations/*.xml; a segmentation set masks/ "
                "and classes.txt)" if folders[0].name.lower() in ("images", "jpegimages") else "")
        raise DataError(f"found 1 class ('{folders[0].name}'): image classification needs at least 2 class "
                        f"folders{hint}")
    items = []
    for label, folder in enumerate(folders):
        files = files_under(folder)
        if not files:
            raise DataError(f"class folder '{folder.name}' has no images (.png, .jpg, .jpeg, .bmp, .gif, .tif, .webp)")
        for path in files:
            width, height = image_size(path, root)
            items.append(ImageItem(relpath(path, root), width, height, label=label))
    return ImageDataset(root, TaskType.IMAGE_CLASSIFICATION.value, "imagefolder",
                        tuple(f.name for f in folders), tuple(items))


# ---------------------------------------------------------------------- segmentation masks


def _load_masks(root: Path) -> ImageDataset:
    images_dir, masks_dir = child_folder(root, "images"), child_folder(root, "masks")
    classes_file = next((p for p in visible(root) if p.is_file() and p.name.lower() == "classes.txt"), None)
    if images_dir is None or masks_dir is None or classes_file is None:
        missing = [n for n, p in (("images/", images_dir), ("masks/", masks_dir), ("classes.txt", classes_file))
                   if p is None]
        raise DataError(f"a segmentation dataset needs images/, masks/ and classes.txt; {', '.join(missing)} "
                        "missing")
    classes = read_classes(classes_file, root)
    if not 2 <= len(classes) <= IGNORE_INDEX:
        raise DataError(f"classes.txt names {len(classes)} class(es): segmentation needs 2 to 255, one per line "
                        "(line 1 = pixel value 0, usually 'background')")
    masks: dict[str, Path] = {}
    for path in files_under(masks_dir, None):
        if path.suffix.lower() != ".png":
            raise DataError(f"mask '{relpath(path, root)}' is not a PNG: masks must be lossless PNGs, one class "
                            "index per pixel")
        masks[path.relative_to(masks_dir).with_suffix("").as_posix()] = path
    images = files_under(images_dir)
    if not images:
        raise DataError("images/ holds no images (.png, .jpg, ...)")
    items, totals, keys = [], np.zeros(len(classes), dtype=np.int64), set()
    for path in images:
        key = path.relative_to(images_dir).with_suffix("").as_posix()
        if key in keys:
            raise DataError(f"two images in images/ share the name '{key}' (different extensions): keep one")
        keys.add(key)
        mask = masks.pop(key, None)
        if mask is None:
            raise DataError(f"image '{relpath(path, root)}' has no mask (expected masks/{key}.png)")
        width, height = image_size(path, root)
        totals += _check_mask(mask, root, (width, height), classes)
        items.append(ImageItem(relpath(path, root), width, height, mask=relpath(mask, root)))
    if masks:
        extra = next(iter(masks.values()))
        raise DataError(f"mask '{relpath(extra, root)}' has no image in images/ with the same name")
    if not totals.any():  # every pixel 255: the loss would be 0/0 (NaN) at the first batch
        raise DataError(f"every pixel of every mask is {IGNORE_INDEX} (ignore): there is nothing to learn; mask pixels "
                        f"hold class indices 0-{len(classes) - 1} from classes.txt")
    if int((totals > 0).sum()) == 1:  # one class everywhere: predicting it scores a perfect mIoU, learning nothing
        only = classes[int(np.argmax(totals))]
        raise DataError(f"every labelled pixel of every mask is class '{only}': segmentation needs pixels of at least "
                        f"two classes in the masks (mask pixels hold class indices 0-{len(classes) - 1} from classes.txt)")
    return ImageDataset(root, TaskType.SEGMENTATION.value, "masks", classes, tuple(items),
                        pixel_counts=tuple(int(n) for n in totals))


def _check_mask(path: Path, root: Path, size: tuple[int, int], classes: Sequence[str]) -> np.ndarray:
    """Check one mask (size, mode, class ids) and return its pixel count per class."""
    from PIL import Image

    shown = relpath(path, root)
    try:
        with Image.open(path) as img:
            if img.size != size:
                raise DataError(f"mask '{shown}' is {img.width}×{img.height} but its image is {size[0]}×{size[1]}")
            if img.mode not in ("L", "P", "1"):
                raise DataError(f"mask '{shown}' is a {img.mode} image: save one class index per pixel as an "
                                "8-bit grayscale (L) or palette (P) PNG")
            values = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"mask '{shown}' is not a readable PNG ({exc})") from None
    hist = np.bincount(values.ravel(), minlength=256)
    unknown = np.nonzero(hist[len(classes):IGNORE_INDEX])[0]
    if unknown.size:
        raise DataError(f"mask '{shown}' holds class id {int(unknown[0]) + len(classes)} but classes.txt names "
                        f"{len(classes)} classes (ids 0-{len(classes) - 1}; 255 = ignore)")
    return hist[: len(classes)]


def _count_pixels(dataset: ImageDataset) -> tuple[int, ...]:
    from PIL import Image

    totals = np.zeros(len(dataset.classes), dtype=np.int64)
    for item in dataset.items:
        if item.mask:
            with Image.open(dataset.root / item.mask) as img:
                hist = np.bincount(np.asarray(img, dtype=np.uint8).ravel(), minlength=256)
            totals += hist[: len(dataset.classes)]
    return tuple(int(n) for n in totals)


# ---------------------------------------------------------------------- the image lake's reader


def _extract_for_lake(source: Path | bytes, dest: Path, settings: Settings) -> list[str]:
    return safe_extract(source, dest, ArchiveLimits.from_settings(settings))


# automlops.mlops never imports an engine: the image lake unpacks and reads archives through this
set_image_reader(ImageReader(extract=_extract_for_lake, load=load_image_dataset))
