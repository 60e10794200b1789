"""``automlops lake add-images NAME archive.zip``: an image dataset into the lake, as a new version.

    automlops lake add-images digits digits.zip                       ImageFolder: one folder per class
    automlops lake add-images shapes shapes.zip --task segmentation   images/ + masks/ + classes.txt
    automlops lake add-images boxes boxes.zip --task detection --note "from CVAT"   COCO or Pascal VOC

The archive is unpacked safely (no path escapes, links or zip bombs; every image checked by its
content) and its layout validated before the version exists: a refused archive answers exit code
2 with one line naming the first problem, and leaves nothing in the lake. The same archive added
again is recognised by its SHA-256 and reused. ``automlops lake list`` shows image datasets
after the CSV ones (:func:`image_lines`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from automlops.errors import DataError

__all__ = ["TASK_CHOICES", "add_commands", "cmd_add_images", "image_lines"]

TASK_CHOICES = ("classification", "image_classification", "segmentation", "detection")


def add_commands(lake_subparsers: Any) -> None:
    """Add ``add-images`` to ``automlops lake`` (cheap: nothing heavy is imported here)."""
    add = lake_subparsers.add_parser("add-images", help="add a .zip of images (ImageFolder, images/+masks/, "
                                                        "COCO or VOC) as a new image-dataset version")
    add.add_argument("name", help="dataset name: 1-64 letters, digits, '_' or '-'")
    add.add_argument("archive", help="the .zip file")
    add.add_argument("--task", choices=TASK_CHOICES,
                     help="what the images are for (default: found from the layout)")
    add.add_argument("--note", default="", help="a note stored with the version")
    add.set_defaults(handler=cmd_add_images)


def cmd_add_images(args: argparse.Namespace) -> int:
    """Store the archive; print one line: the version, the images and classes, the archive's SHA-256."""
    from automlops.mlops.image_lake import ImageLake
    from automlops.vision.datasets import vision_task  # importing it registers the lake's image reader

    path = Path(args.archive)
    if not path.is_file():
        raise DataError(f"no such file: {args.archive}")
    v = ImageLake().add_archive(args.name, path, note=args.note, task=vision_task(args.task))
    state = "already stored as" if v.reused else "added as"
    counts = ", ".join(f"{name} {n}" for name, n in list(v.counts.items())[:8])
    more = ", ..." if len(v.counts) > 8 else ""
    unit = {"segmentation": "pixels", "detection": "boxes"}.get(v.task, "images")
    print(f"{args.name}: {state} {v.id} ({v.n_images} images, {v.task} [{v.layout}], {len(v.classes)} classes; "
          f"{unit}: {counts}{more}; sha256 {v.sha256[:12]})")
    return 0


def image_lines() -> list[str]:
    """One line per image-dataset version, for ``automlops lake list`` (reads manifests only)."""
    from automlops.mlops.image_lake import ImageLake

    lake = ImageLake()
    lines = []
    for name in lake.list_datasets():
        for v in lake.versions(name):
            lines.append(f"{name:<20} {v.id} {'images':<9} {v.n_images:>7} imgs {len(v.classes):>4} clss "
                         f"{v.sha256[:12]} {v.created}  {v.task}" + (f": {v.note}" if v.note else ""))
    return lines
