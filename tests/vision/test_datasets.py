"""Each layout parses into the right classes, counts and boxes; each broken dataset names its first problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from automlops.errors import ConfigError, DataError
from automlops.vision.datasets import ImageDataset, load_image_dataset, vision_task
from automlops.vision.samples import (
    write_digits_imagefolder,
    write_shapes_detection,
    write_shapes_segmentation,
)


def _img(path: Path, size: tuple[int, int] = (16, 12), mode: str = "RGB", value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)
    return path


def _coco(root: Path, annotations: list[dict], *, categories: list[dict] | None = None, size: int = 32,
          images: list[dict] | None = None) -> Path:
    for i in (1, 2):
        _img(root / "images" / f"{i}.png", (size, size))
    data = {"images": images or [{"id": i, "file_name": f"{i}.png", "width": size, "height": size} for i in (1, 2)],
            "annotations": annotations,
            "categories": categories or [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]}
    (root / "annotations.json").write_text(json.dumps(data))
    return root


def _ann(bbox: list[float], category: int = 1, image: int = 1) -> dict:
    return {"id": 1, "image_id": image, "category_id": category, "bbox": bbox, "iscrowd": 0}


def _refused(root: Path, *fragments: str, task: str | None = None) -> None:
    with pytest.raises(DataError) as caught:
        load_image_dataset(root, task)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


# ---------------------------------------------------------------------- layouts that parse


def test_imagefolder_inside_a_wrapping_folder(tmp_path: Path) -> None:
    write_digits_imagefolder(tmp_path / "upload" / "digits", per_class=3, size=16, classes=3)
    ds = load_image_dataset(tmp_path / "upload")
    assert (ds.task, ds.layout, ds.classes) == ("image_classification", "imagefolder", ("0", "1", "2"))
    assert ds.root.name == "digits" and len(ds) == 9
    assert ds.counts() == {"0": 3, "1": 3, "2": 3}
    assert ds.labels() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    first = ds.items[0]
    assert (first.path, first.width, first.height, first.label) == ("0/0000.png", 16, 16, 0)
    assert (ds.root / first.path).is_file()


def test_segmentation_masks_with_pixel_counts(tmp_path: Path) -> None:
    root = write_shapes_segmentation(tmp_path / "seg", n=3, size=24)
    ds = load_image_dataset(root)
    assert (ds.task, ds.layout, ds.classes) == ("segmentation", "masks", ("background", "square", "circle"))
    assert [(i.path, i.mask) for i in ds.items][0] == ("images/0000.png", "masks/0000.png")
    stacked = np.stack([np.asarray(Image.open(root / i.mask)) for i in ds.items])
    expected = {name: int((stacked == k).sum()) for k, name in enumerate(ds.classes)}
    assert ds.counts() == expected and sum(expected.values()) == 3 * 24 * 24
    assert ImageDataset(ds.root, ds.task, ds.layout, ds.classes, ds.items).counts() == expected  # recomputed
    assert ds.labels() is None


def test_coco_and_voc_give_the_same_boxes(tmp_path: Path) -> None:
    coco = load_image_dataset(write_shapes_detection(tmp_path / "coco", n=4, size=32, seed=3))
    voc = load_image_dataset(write_shapes_detection(tmp_path / "voc", n=4, size=32, seed=3, fmt="voc"))
    assert (coco.layout, coco.classes) == ("coco", ("square", "circle"))  # category ids 1, 2 → 0, 1
    assert (voc.layout, voc.classes) == ("voc", ("circle", "square"))  # no classes.txt: sorted names
    data = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    first = [a for a in data["annotations"] if a["image_id"] == 1]
    x, y, w, h = first[0]["bbox"]
    assert coco.items[0].boxes[0] == (x, y, x + w, y + h)
    assert coco.items[0].box_labels[0] == first[0]["category_id"] - 1
    for a, b in zip(coco.items, voc.items, strict=True):
        assert a.path == b.path and a.boxes == b.boxes
        assert [coco.classes[k] for k in a.box_labels] == [voc.classes[k] for k in b.box_labels]
    kinds = [a["category_id"] for a in data["annotations"]]
    assert coco.counts() == {"square": kinds.count(1), "circle": kinds.count(2)}
    assert voc.counts() == {"circle": kinds.count(2), "square": kinds.count(1)}


def test_coco_with_sparse_category_ids_crowds_and_a_slightly_overhanging_box(tmp_path: Path) -> None:
    root = _coco(tmp_path / "d", [_ann([0, 0, 32.6, 10], category=9), _ann([1, 1, 5, 5], category=5, image=2),
                                  {**_ann([2, 2, 4, 4], category=5), "iscrowd": 1}],
                 categories=[{"id": 9, "name": "dog"}, {"id": 5, "name": "cat"}])
    ds = load_image_dataset(root, "detection")
    assert ds.classes == ("cat", "dog")  # id order
    assert ds.items[0].boxes == ((0.0, 0.0, 32.0, 10.0),)  # clipped to the 32-px image
    assert ds.items[0].box_labels == (1,) and ds.items[1].box_labels == (0,)
    assert ds.counts() == {"cat": 1, "dog": 1}  # the crowd region is skipped


def test_voc_with_a_class_list(tmp_path: Path) -> None:
    root = write_shapes_detection(tmp_path / "voc", n=2, size=32, fmt="voc")
    (root / "classes.txt").write_text("square\ncircle\n")
    assert load_image_dataset(root).classes == ("square", "circle")


def test_task_names() -> None:
    assert vision_task("classification") == "image_classification"
    assert vision_task("Detection") == "detection" and vision_task(None) is None
    with pytest.raises(ConfigError, match="unknown image task"):
        vision_task("regression")


# ---------------------------------------------------------------------- classification problems


def test_an_empty_class_folder(tmp_path: Path) -> None:
    _img(tmp_path / "d" / "cat" / "a.png")
    (tmp_path / "d" / "dog").mkdir()
    (tmp_path / "d" / "dog" / "notes.txt").write_text("no images here")
    _refused(tmp_path / "d", "class folder 'dog' has no images")


def test_fewer_than_two_classes(tmp_path: Path) -> None:
    _img(tmp_path / "d" / "cat" / "a.png")
    _refused(tmp_path / "d", "found 1 class ('cat')", "at least 2")


def test_an_image_outside_the_class_folders(tmp_path: Path) -> None:
    _img(tmp_path / "d" / "cat" / "a.png")
    _img(tmp_path / "d" / "dog" / "b.png")
    _img(tmp_path / "d" / "stray.png")
    _refused(tmp_path / "d", "'stray.png' is outside any class folder")


def test_no_images_at_all(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "readme.txt").write_text("hello")
    _refused(tmp_path / "d", "no images found")
    _refused(tmp_path / "missing", "no dataset folder")


def test_a_file_named_like_an_image_that_is_not_one(tmp_path: Path) -> None:
    _img(tmp_path / "d" / "cat" / "a.png")
    (tmp_path / "d" / "dog").mkdir()
    (tmp_path / "d" / "dog" / "b.png").write_text("not a png")
    _refused(tmp_path / "d", "'dog/b.png' is not a readable image")


# ---------------------------------------------------------------------- segmentation problems


@pytest.fixture
def seg(tmp_path: Path) -> Path:
    return write_shapes_segmentation(tmp_path / "seg", n=2, size=24)


def test_a_mask_whose_size_differs(seg: Path) -> None:
    _img(seg / "masks" / "0001.png", (20, 24), "L")
    _refused(seg, "mask 'masks/0001.png' is 20×24 but its image is 24×24")


def test_an_unknown_class_id_in_a_mask(seg: Path) -> None:
    pixels = np.asarray(Image.open(seg / "masks" / "0000.png")).copy()
    pixels[0, 0], pixels[1, 1] = 7, 255  # 255 is "ignore": allowed
    Image.fromarray(pixels, "L").save(seg / "masks" / "0000.png")
    _refused(seg, "mask 'masks/0000.png' holds class id 7", "3 classes")


def test_a_colour_mask(seg: Path) -> None:
    _img(seg / "masks" / "0000.png", (24, 24), "RGB")
    _refused(seg, "mask 'masks/0000.png' is a RGB image")


def test_an_image_without_mask_and_a_mask_without_image(seg: Path) -> None:
    (seg / "masks" / "0001.png").rename(seg / "masks" / "0009.png")
    _refused(seg, "image 'images/0001.png' has no mask")
    _img(seg / "images" / "0001.png", (24, 24))
    _img(seg / "masks" / "0001.png", (24, 24), "L")
    _refused(seg, "mask 'masks/0009.png' has no image")


def test_segmentation_needs_a_class_list(seg: Path) -> None:
    (seg / "classes.txt").unlink()
    _refused(seg, "classes.txt", task="segmentation")


# ---------------------------------------------------------------------- detection problems


@pytest.mark.parametrize(("bbox", "fragment"), [
    ([20, 20, 20, 5], "box [20, 20, 40, 25] (x1, y1, x2, y2) lies outside the 32×32 image"),
    ([-3, 0, 5, 5], "lies outside"),
    ([5, 5, 0, 4], "has no area"),
    ([5, 5, 4, -1], "has no area"),
    ([32.5, 5, 0.4, 4], "has no area inside"),
    (["a", 5, 4, 4], "not a number"),
])
def test_bad_coco_boxes(tmp_path: Path, bbox: list, fragment: str) -> None:
    _refused(_coco(tmp_path / "d", [_ann([1, 1, 4, 4]), _ann(bbox, image=2)]), fragment, "on 'images/2.png'")


def test_an_unknown_category_id(tmp_path: Path) -> None:
    _refused(_coco(tmp_path / "d", [_ann([1, 1, 4, 4], category=7)]), "unknown category id 7", "1=cat, 2=dog")


def test_coco_images_that_are_missing_escape_or_lie_about_their_size(tmp_path: Path) -> None:
    missing = [{"id": 1, "file_name": "nope.png", "width": 32, "height": 32}]
    _refused(_coco(tmp_path / "a", [_ann([1, 1, 4, 4])], images=missing), "image 'nope.png'", "not in the dataset")
    escape = [{"id": 1, "file_name": "../../../etc/hosts"}]
    _refused(_coco(tmp_path / "b", [_ann([1, 1, 4, 4])], images=escape), "points outside the dataset folder")
    wrong = [{"id": 1, "file_name": "1.png", "width": 64, "height": 64}]
    _refused(_coco(tmp_path / "c", [_ann([1, 1, 4, 4])], images=wrong), "says '1.png' is 64×64", "32×32")


def test_detection_without_any_box(tmp_path: Path) -> None:
    _refused(_coco(tmp_path / "d", []), "hold no boxes")
    (tmp_path / "e" / "images").mkdir(parents=True)
    _img(tmp_path / "e" / "images" / "1.png")
    _refused(tmp_path / "e", "no detection annotations found", task="detection")


def test_a_voc_object_of_an_unknown_class(tmp_path: Path) -> None:
    root = write_shapes_detection(tmp_path / "voc", n=2, size=32, fmt="voc")
    (root / "classes.txt").write_text("square\n")  # "circle" is not in the list
    _refused(root, "unknown class 'circle'", "classes.txt: square")


def test_a_voc_box_outside_its_image(tmp_path: Path) -> None:
    root = write_shapes_detection(tmp_path / "voc", n=1, size=32, fmt="voc")
    xml = root / "annotations" / "0000.xml"
    text = xml.read_text()
    start = text.index("<xmax>") + len("<xmax>")
    xml.write_text(text[:start] + "90" + text[text.index("</xmax>"):])
    _refused(root, "'annotations/0000.xml' object 1", "lies outside the 32×32 image")
