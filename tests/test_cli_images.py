"""``automlops lake add-images`` and ``lake list``, in process, against a fresh AUTOMLOPS_HOME."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from automlops.cli import main
from automlops.vision.samples import write_shapes_detection, write_shapes_segmentation, zip_folder


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("zips")
    write_shapes_segmentation(root / "seg", n=2, size=16)
    write_shapes_detection(root / "det", n=2, size=16, fmt="voc")
    out = {name: zip_folder(root / name, root / f"{name}.zip") for name in ("seg", "det")}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("images/ok.txt", "fine")
        archive.writestr("../../escape.txt", "gotcha")
    (root / "evil.zip").write_bytes(buf.getvalue())
    (root / "text.zip").write_text("just text")
    return {**out, "evil": root / "evil.zip", "text": root / "text.zip"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_add_images_then_again_then_list(home: Path, zips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "lake", "list")
    assert code == 0 and "no datasets yet" in out
    code, out, err = _run(capsys, "lake", "add-images", "shapes", str(zips["seg"]), "--note", "drawn")
    assert code == 0, err
    assert out.count("\n") == 1 and out.startswith("shapes: added as v0001 (2 images, segmentation [masks], 3 classes")
    assert "pixels: background" in out
    code, out, _ = _run(capsys, "lake", "add-images", "shapes", str(zips["seg"]))
    assert code == 0 and out.startswith("shapes: already stored as v0001")
    code, out, err = _run(capsys, "lake", "add-images", "boxes", str(zips["det"]), "--task", "detection")
    assert code == 0 and "detection [voc], 2 classes; boxes: circle" in out, err
    csv = home / "t.csv"
    pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}).to_csv(csv, index=False)
    assert _run(capsys, "lake", "add", "table", str(csv))[0] == 0
    code, out, _ = _run(capsys, "lake", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and lines[0].startswith("table ")  # CSV datasets first
    assert lines[1].startswith("boxes ") and "images" in lines[1] and "detection" in lines[1]
    assert lines[2].startswith("shapes ") and "v0001" in lines[2] and lines[2].endswith("segmentation: drawn")
    assert (home / "data_lake" / ".images" / "shapes" / "v0001" / "manifest.json").is_file()


@pytest.mark.parametrize(("case", "fragment"), [
    ("text", "is not a zip archive"),
    ("evil", "points outside the dataset folder"),
    ("missing", "no such file"),
    ("wrong-task", "a segmentation dataset needs images/, masks/ and classes.txt"),
])
def test_bad_input_is_exit_2_with_one_line(home: Path, zips: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                           case: str, fragment: str) -> None:
    argv = {"text": [str(zips["text"])], "evil": [str(zips["evil"])], "missing": [str(home / "nope.zip")],
            "wrong-task": [str(zips["det"]), "--task", "segmentation"]}[case]
    code, out, err = _run(capsys, "lake", "add-images", "upload", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("automlops: error: ") and fragment in err, err
    assert not (home / "data_lake" / ".images" / "upload").exists()


def test_bad_arguments_are_usage_errors(home: Path, zips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["lake", "add-images", "x", str(zips["seg"]), "--task", "regression"])
    assert caught.value.code == 2 and "invalid choice: 'regression'" in capsys.readouterr().err
    code, _, err = _run(capsys, "lake", "add-images", "no/slashes", str(zips["seg"]))
    assert code == 2 and "invalid dataset name" in err
