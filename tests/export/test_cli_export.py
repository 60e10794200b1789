"""`automlops export` end to end through `cli.main`, and the inputs it must refuse (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automlops.cli import main
from automlops.mlops.store import ModelStore


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse refuses before a command runs
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automlops: error: "), err
    assert all(w in lines[0] for w in words), lines[0]


def _copy(name: str, new: str, **changes: object) -> None:
    """Save a copy of a stored model under another name, with some meta.json fields changed."""
    store = ModelStore()
    loaded = store.load(name)
    meta = {k: v for k, v in loaded.meta.items() if k not in ("name", "version")}
    store.save(new, loaded.model, {**meta, **changes})


def test_export_writes_checks_and_reports_json(studio: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cancer.py"
    code, stdout, err = _run(capsys, "export", "cancer_logistic@v1", "--out", str(out), "--check", "--json")
    assert code == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["model"] == "cancer_logistic" and summary["version"] == 1 and summary["kind"] == "tabular"
    assert summary["out"] == str(out) and out.is_file() and summary["bytes"] == len(out.read_bytes())
    assert summary["reproduced"] is True and summary["difference"] <= 1e-6
    assert summary["script_test_score"] == pytest.approx(summary["recorded_test_score"], abs=1e-6)
    assert "wrote" in err and "reproduced" in err


def test_export_into_a_folder_uses_the_default_name(studio: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "export", "cancer_logistic", "--out", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "train_cancer_logistic.py").is_file()


def test_export_never_writes_into_the_lake(studio: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`export --out data_lake/.../v0001.csv` replaced the model's training data: refused, the file intact."""
    lake_file = next((studio / "data_lake").rglob("v0001.csv"))
    before = lake_file.read_bytes()
    _one_line_error(*_run(capsys, "export", "cancer_logistic", "--out", str(lake_file))[::2], "data lake")
    assert lake_file.read_bytes() == before


def test_unknown_model_and_missing_folder_exit_2(studio: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(*_run(capsys, "export", "no_such_model")[::2], "no_such_model")
    _one_line_error(*_run(capsys, "export", "cancer_logistic@v9")[::2], "9")
    _one_line_error(*_run(capsys, "export", "cancer_logistic", "--out", str(tmp_path / "no" / "x.py"))[::2],
                    "does not exist")


def test_a_model_without_a_dataset_is_refused(studio: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _copy("cancer_logistic", "uploaded_model", dataset=None)
    _one_line_error(*_run(capsys, "export", "uploaded_model")[::2], "not trained on a data-lake dataset")


def test_a_dataset_version_gone_from_the_lake_is_refused(studio: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = ModelStore().load("cancer_logistic").meta
    _copy("cancer_logistic", "orphan_model", dataset={**meta["dataset"], "version": 7})
    _one_line_error(*_run(capsys, "export", "orphan_model")[::2], "breast_cancer", "v0007", "no longer")


def test_columns_gone_and_unsupported_kinds_are_refused(studio: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = ModelStore().load("cancer_logistic").meta
    _copy("cancer_logistic", "renamed_model", input_columns=[*meta["input_columns"], "column that left"])
    _one_line_error(*_run(capsys, "export", "renamed_model")[::2], "column that left")
    _copy("cancer_logistic", "text_model", kind="text", task="text_classification")  # a kind the studio lacks
    _one_line_error(*_run(capsys, "export", "text_model")[::2], "text", "tabular", "clustering", "vision")
    _copy("cancer_logistic", "images_gone", kind="vision", task="image_classification")
    _one_line_error(*_run(capsys, "export", "images_gone")[::2], "image dataset 'breast_cancer'", "no longer")
