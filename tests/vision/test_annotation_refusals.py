"""Image archives whose annotations are wrong in ways that used to crash, or to be stored and mislead.

Each one goes through the image lake as ``automlops lake add-images`` and the Vision page send it:
a refusal is a :class:`DataError` naming the problem (exit code 2, an error box) and nothing is
stored. Before: an image id that is a list or JSON nested 100,000 deep was an internal error
(``TypeError``, ``RecursionError``); a VOC size of ``inf`` an ``OverflowError``; one picture listed
twice became two images, which the split could put one in training and one in test (a test score
the model did not earn); a category named ``null`` became a class called "None"; a width written
as text was "48×48 but the image is 48×48"; masks that are all 255 (ignore) were stored, and
training then failed with a message about the time budget.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from automlops.errors import DataError
from automlops.mlops.image_lake import ImageLake
from automlops.vision.datasets import load_image_dataset

N = 6


def png(width: int = 48, height: int = 48, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def archive(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def coco(images: list | None = None, categories: list | None = None, raw: str | None = None) -> bytes:
    entries = images if images is not None else [{"id": i, "file_name": f"{i}.png", "width": 48, "height": 48}
                                                 for i in range(N)]
    body = raw if raw is not None else json.dumps({
        "images": entries, "categories": categories or [{"id": 1, "name": "square"}],
        "annotations": [{"id": i + 1, "image_id": i, "category_id": 1, "bbox": [5, 5, 20, 20]} for i in range(N)]})
    return archive({"annotations.json": body, **{f"images/{i}.png": png(seed=i) for i in range(N)}})


def voc_xml(image: str, width: str = "48") -> str:
    return (f"<annotation><filename>{image}</filename><size><width>{width}</width><height>48</height></size>"
            "<object><name>square</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>25</xmax><ymax>25</ymax></bndbox>"
            "</object></annotation>")


def voc(xmls: dict[str, str]) -> bytes:
    return archive({**{f"annotations/{n}": x for n, x in xmls.items()},
                    **{f"images/{i}.png": png(seed=i) for i in range(N)}})


def masks(value: int) -> bytes:
    mask = io.BytesIO()
    Image.fromarray(np.full((32, 32), value, dtype=np.uint8), "L").save(mask, "PNG")
    return archive({"classes.txt": "background\nthing\n", **{f"images/{i}.png": png(32, 32, i) for i in range(N)},
                    **{f"masks/{i}.png": mask.getvalue() for i in range(N)}})


LISTED_TWICE = [{"id": i, "file_name": f"{i % 3}.png"} for i in range(N)]

REFUSED = {
    "an image id that is a list": (coco(images=[{"id": [0], "file_name": "0.png"}]), "image id [0] is not a number"),
    "JSON nested 100,000 deep": (coco(raw="[" * 100_000 + "]" * 100_000), "nested too deeply"),
    "one picture under two ids": (coco(images=LISTED_TWICE), "lists the image 'images/0.png' twice"),
    "a category named null": (coco(categories=[{"id": 1, "name": None}]), "a 'name' (text)"),
    "a width written as text": (coco(images=[{"id": i, "file_name": f"{i}.png", "width": "48", "height": 48}
                                             for i in range(N)]), "must be numbers, not '48'"),
    "two VOC files for one picture": (voc({"a.xml": voc_xml("0.png"), "b.xml": voc_xml("0.png")}),
                                      "both describe 'images/0.png'"),
    "masks that are all 'ignore'": (masks(255), "nothing to learn"),
    "an empty archive": (archive({}), "no files at all"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_archive_is_refused_with_its_reason_and_nothing_is_stored(home: Path, case: str) -> None:
    data, reason = REFUSED[case]
    lake = ImageLake()
    with pytest.raises(DataError) as caught:
        lake.add_archive("boxes", data)
    assert reason in str(caught.value) and "\n" not in str(caught.value)
    assert lake.list_datasets() == []


def test_a_voc_size_that_is_not_finite_is_read_as_missing(tmp_path: Path) -> None:
    root = tmp_path / "voc"
    with zipfile.ZipFile(io.BytesIO(voc({f"{i}.xml": voc_xml(f"{i}.png", "inf" if i == 0 else "48")
                                         for i in range(N)}))) as zf:
        zf.extractall(root)
    data = load_image_dataset(root)  # many VOC tools leave the size out or wrong: the image's own is used
    assert data.task == "detection" and len(data) == N and data.items[0].width == 48


def test_every_picture_is_in_one_part_only(tmp_path: Path) -> None:
    """The guard behind the duplicate refusals: a dataset's items name distinct files."""
    root = tmp_path / "coco"
    with zipfile.ZipFile(io.BytesIO(coco())) as zf:
        zf.extractall(root)
    data = load_image_dataset(root)
    assert len({item.path for item in data.items}) == len(data.items) == N
