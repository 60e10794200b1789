"""``automlops predict`` with a vision model: an image, a folder or a zip in; a CSV (and masks or boxes) out.

In process (``main``) against a fresh AUTOMLOPS_HOME holding real saved, untrained torchvision
models (see tests/serving/test_vision_predict.py): the shapes of the answers are checked, not
their accuracy.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from automlops.cli import main
from automlops.core.fit import Artifact
from automlops.mlops.store import ModelStore
from automlops.vision.samples import write_digits_imagefolder, write_shapes_segmentation, zip_folder
from automlops.vision.zoo import build_model
from tests.serving.test_vision_predict import vision_meta

DIGITS = ["0", "1", "2"]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Saved untrained models: ``digits`` (classification), ``shapes`` (segmentation), ``boxes`` (detection)."""
    root = tmp_path_factory.mktemp("cli-bank") / "models"
    store = ModelStore(root)
    torch.manual_seed(0)
    for name, architecture, task, classes, size in (
            ("digits", "mobilenet_v2", "image_classification", DIGITS, 32),
            ("shapes", "deeplabv3_mobilenet_v3_large", "segmentation", ["background", "square", "circle"], 32),
            ("boxes", "fasterrcnn_mobilenet_v3_large_320_fpn", "detection", ["square", "circle"], 64)):
        model = build_model(architecture, len(classes), detection_size=size if task == "detection" else None)
        store.save(name, Artifact("vision", model, vision_meta(architecture, task, classes, size),
                                  format="torch-state-dict"))
    from sklearn.linear_model import LogisticRegression

    table = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    store.save("table", Artifact("tabular", table, {"task": "classification", "target": "y"}))
    return root


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    write_digits_imagefolder(root / "digits", per_class=2, size=16, classes=3)
    (root / "digits" / "notes.txt").write_text("not an image, skipped")
    zip_folder(root / "digits", root / "digits.zip")
    (root / "digits" / ".hidden.png").write_bytes(b"ignored: hidden")  # (an archive refuses a fake image)
    write_shapes_segmentation(root / "shapes", n=3, size=24)
    zip_folder(root / "shapes" / "images", root / "shapes.zip")
    return root


@pytest.fixture
def models(home: Path, bank: Path) -> Path:
    shutil.copytree(bank, home / "models", copy_function=os.link)  # hard links: the files are only read
    return home / "models"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["predict", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_one_image_answers_a_label_and_a_probability_per_class(models, images, capsys) -> None:
    path = images / "digits" / "1" / "0000.png"
    code, out, err = _run(capsys, "--model", "digits", str(path))
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out), dtype={"prediction": str})
    assert list(frame.columns) == ["file", "prediction", *(f"proba_{c}" for c in DIGITS)]
    assert frame["file"].tolist() == [str(path)] and frame["prediction"].iloc[0] in DIGITS
    assert frame[[f"proba_{c}" for c in DIGITS]].sum(axis=1).iloc[0] == pytest.approx(1.0, abs=1e-5)


def test_a_folder_and_its_zip_answer_the_same_rows(models, images, home, capsys) -> None:
    out_csv = home / "preds.csv"
    code, _, err = _run(capsys, "--model", "digits", str(images / "digits"), "--out", str(out_csv))
    assert code == 0, err
    assert "skipped 1 file(s) without an image extension" in err and "wrote 6 predictions of digits@v1" in err
    folder = pd.read_csv(out_csv, dtype={"prediction": str})
    assert folder["file"].tolist() == [f"{d}/{i:04d}.png" for d in DIGITS for i in range(2)]  # relative, sorted
    code, out, err = _run(capsys, "--model", "digits@v1", str(images / "digits.zip"))
    assert code == 0, err
    zipped = pd.read_csv(io.StringIO(out), dtype={"prediction": str})
    pd.testing.assert_frame_equal(zipped, folder)


def test_segmentation_writes_masks_beside_the_csv(models, images, home, capsys) -> None:
    out_csv = home / "out" / "seg.csv"
    out_csv.parent.mkdir()
    code, _, err = _run(capsys, "--model", "shapes", str(images / "shapes.zip"), "--out", str(out_csv))
    assert code == 0, err
    frame = pd.read_csv(out_csv)
    assert list(frame.columns) == ["file", "mask_file", "background_pixels", "square_pixels", "circle_pixels"]
    assert len(frame) == 3
    for row in frame.itertuples():
        mask = Image.open(out_csv.parent / row.mask_file)
        assert row.mask_file.startswith("seg_masks/") and mask.mode == "L"
        assert mask.size == Image.open(images / "shapes" / "images" / row.file).size
        assert row.background_pixels + row.square_pixels + row.circle_pixels == mask.size[0] * mask.size[1]


def test_detection_writes_one_box_file_per_image(models, home, capsys) -> None:
    photo = home / "street.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(photo)
    code, _, err = _run(capsys, "--model", "boxes", str(photo), "--out", str(home / "det.csv"))
    assert code == 0, err
    [row] = pd.read_csv(home / "det.csv").to_dict(orient="records")
    assert row["boxes_file"] == "det_boxes/street_boxes.json"
    boxes = json.loads((home / row["boxes_file"]).read_text())
    assert row["n_boxes"] == len(boxes) and all(b["score"] >= 0.5 for b in boxes)


def test_bad_inputs_exit_2_with_one_line(models, images, home, capsys) -> None:
    (home / "empty").mkdir()
    (home / "empty" / "readme.md").write_text("no images here")
    (home / "fake.png").write_text("text with an image's name")
    (home / "table.csv").write_text("x\n1\n")
    cases = [
        (("--model", "digits", str(home / "missing.jpg")), "no such file or folder"),
        (("--model", "digits", str(home / "empty")), "no images in"),
        (("--model", "digits", str(home / "fake.png")), "fake.png is not an image"),
        (("--model", "digits", str(home / "table.csv")), "table.csv is not an image"),
        (("--model", "shapes", str(images / "shapes" / "images")), "give --out"),
        (("--model", "shapes", str(home / "fake.png"), "--proba"), "--proba needs a classification model"),
        (("--model", "table", str(images / "digits")), "predicts the rows of a CSV file, not images"),
    ]
    for argv, fragment in cases:
        code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, ""), (argv, err)
        assert err.count("\n") == 1 and fragment in err, (argv, err)
    clash = home / "clash"
    for folder in ("a", "b"):
        (clash / folder).mkdir(parents=True)
        shutil.copy(images / "shapes" / "images" / "0000.png", clash / folder / "0000.png")
    code, _, err = _run(capsys, "--model", "shapes", str(clash), "--out", str(home / "s.csv"))
    assert code == 2 and "a/0000.png and b/0000.png would write the same file" in err
