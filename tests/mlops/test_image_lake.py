"""The image lake: write-once versions of zipped image datasets, reused when identical, verified on load."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from PIL import Image

import automlops.vision.datasets  # noqa: F401 - registers the lake's image reader
from automlops.config import Settings
from automlops.errors import DataError, IntegrityError, NotFoundError
from automlops.mlops._atomic import sha256_file
from automlops.mlops.image_lake import ImageLake
from automlops.mlops.lake import DataLake
from automlops.vision.samples import write_digits_imagefolder, write_shapes_segmentation, zip_folder


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("archives")
    write_digits_imagefolder(root / "digits" / "digits", per_class=3, size=12, classes=3)
    write_shapes_segmentation(root / "seg", n=3, size=16)
    (root / "bad" / "cat").mkdir(parents=True)
    (root / "bad" / "cat" / "a.png").write_text("not a png")
    return {name: zip_folder(root / name, root / f"{name}.zip") for name in ("digits", "seg", "bad")}


@pytest.fixture
def lake(settings: Settings) -> ImageLake:
    return ImageLake(settings=settings)


def test_add_describes_the_version_and_hashes_every_file(lake: ImageLake, archives: dict[str, Path]) -> None:
    v = lake.add_archive("digits", archives["digits"], note="first upload")
    assert (v.id, v.version, v.task, v.layout, v.reused) == ("v0001", 1, "image_classification", "imagefolder", False)
    assert v.classes == ("0", "1", "2") and v.counts == {"0": 3, "1": 3, "2": 3} and v.n_images == 9
    assert v.path == lake.root / "digits" / "v0001" and v.root == v.path / "data" / "digits"
    assert v.sha256 == sha256_file(archives["digits"]) and v.note == "first upload"
    assert v.image_sizes == {"width": {"min": 12, "max": 12, "median": 12.0},
                             "height": {"min": 12, "max": 12, "median": 12.0}}
    manifest = json.loads((v.path / "manifest.json").read_text())
    assert len(manifest["files"]) == 9 == v.n_files
    assert manifest["files"]["data/digits/1/0002.png"] == sha256_file(v.root / "1" / "0002.png")
    assert manifest["source"] == {"filename": "digits.zip", "bytes": archives["digits"].stat().st_size}
    assert v.lineage() == {"name": "digits", "version": 1, "sha256": v.sha256, "rows": 9, "kind": "images",
                           "task": "image_classification", "source": str(v.path)}
    assert lake.root == lake.settings.lake_dir / ".images" and DataLake(settings=lake.settings).list_datasets() == []


def test_versions_and_reuse(lake: ImageLake, archives: dict[str, Path]) -> None:
    first = lake.add_archive("shapes", archives["seg"])
    again = lake.add_archive("shapes", archives["seg"].read_bytes())  # the same archive, as bytes
    assert again.reused and again.id == "v0001"
    assert sorted(p.name for p in (lake.root / "shapes").iterdir()) == [".lock", "v0001"]
    second = lake.add_archive("shapes", archives["digits"], task="classification")
    assert second.id == "v0002" and second.task == "image_classification"
    assert [v.id for v in lake.versions("shapes")] == ["v0001", "v0002"]
    assert lake.get_version("shapes").id == "v0002" == lake.get_version("shapes", "latest").id
    assert lake.get_version("shapes", 1) == first == lake.get_version("shapes", "v0001")
    assert lake.list_datasets() == ["shapes"]
    with pytest.raises(NotFoundError, match="no version 7; it has v0001, v0002"):
        lake.get_version("shapes", 7)
    with pytest.raises(NotFoundError, match="no image dataset named 'nope'"):
        lake.get_version("nope")


def test_an_archive_read_as_another_task_is_not_reused(lake: ImageLake, archives: dict[str, Path]) -> None:
    """A segmentation layout forced to classification is a two-class dataset ('images', 'masks'); adding the
    same bytes again without a task must store what detection finds, not hand back the forced reading."""
    forced = lake.add_archive("shapes", archives["seg"], task="image_classification")
    assert forced.task == "image_classification" and forced.classes == ("images", "masks")
    detected = lake.add_archive("shapes", archives["seg"])
    assert not detected.reused and detected.id == "v0002" and detected.task == "segmentation"
    assert lake.add_archive("shapes", archives["seg"]).id == "v0002"  # detected again: reused
    assert lake.add_archive("shapes", archives["seg"], task="image_classification").id == "v0001"


def test_load_returns_the_checked_dataset(lake: ImageLake, archives: dict[str, Path]) -> None:
    v = lake.add_archive("shapes", archives["seg"])
    dataset = lake.load("shapes")
    assert dataset.task == "segmentation" and dataset.classes == ("background", "square", "circle")
    assert dataset.root == v.root.resolve() and len(dataset) == 3
    assert dataset.counts() == v.counts and sum(v.counts.values()) == 3 * 16 * 16


def test_a_modified_added_or_removed_file_is_caught(lake: ImageLake, archives: dict[str, Path]) -> None:
    v = lake.add_archive("digits", archives["digits"])
    image = v.root / "0" / "0000.png"
    original = image.read_bytes()
    image.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    assert not lake.verify("digits")
    with pytest.raises(IntegrityError, match="'data/digits/0/0000.png' does not match its recorded SHA-256"):
        lake.load("digits")
    assert len(lake.load("digits", check=False)) == 9  # the check can be skipped explicitly
    image.write_bytes(original)
    assert lake.verify("digits")
    (v.root / "2" / "extra.png").write_bytes(original)
    with pytest.raises(IntegrityError, match="'data/digits/2/extra.png' was added"):
        lake.load("digits")
    (v.root / "2" / "extra.png").unlink()
    (v.root / "1" / "0001.png").unlink()
    with pytest.raises(IntegrityError, match="0001.png"):
        lake.check("digits")


def test_a_refused_archive_leaves_no_version(lake: ImageLake, archives: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'cat/a.png' is not an image"):
        lake.add_archive("broken", archives["bad"])
    assert not (lake.root / "broken").exists()  # a failed first add removes the dataset's folder
    lake.add_archive("digits", archives["digits"])
    with pytest.raises(DataError, match="not a zip archive"):
        lake.add_archive("digits", b"PK but not really")
    (tmp_path / "one" / "cat").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "one" / "cat" / "a.png")
    with pytest.raises(DataError, match="found 1 class"):  # a valid zip, an invalid dataset
        lake.add_archive("digits", zip_folder(tmp_path / "one", tmp_path / "one.zip"))
    assert sorted(p.name for p in (lake.root / "digits").iterdir()) == [".lock", "v0001"]  # no temp folder either


def test_caps_come_from_the_settings(home: Path, archives: dict[str, Path]) -> None:
    lake = ImageLake(settings=Settings(archive_max_entries=4))
    with pytest.raises(DataError, match="more than the 4 allowed"):
        lake.add_archive("digits", archives["digits"])
    assert lake.list_datasets() == []


def test_names_are_validated(lake: ImageLake, archives: dict[str, Path]) -> None:
    for bad in ("../x", "a b", "", "x" * 65):
        with pytest.raises(DataError, match="invalid dataset name"):
            lake.add_archive(bad, archives["digits"])
    with pytest.raises(DataError, match="no such archive"):
        lake.add_archive("digits", archives["digits"].parent / "missing.zip")


def test_two_identical_uploads_at_once_make_one_version(lake: ImageLake, archives: dict[str, Path]) -> None:
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(lake.add_archive("digits", archives["digits"])))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.reused for r in results) == [False, True, True]
    assert [v.id for v in lake.versions("digits")] == ["v0001"]
