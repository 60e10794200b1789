"""A refused training leaves nothing behind: no lake version, no MLflow run, no model (issue 8).

Every argument is checked before any work, and the training data is written to the lake only
after a model was trained from it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from automlops.cli import main
from automlops.mlops.lake import DataLake


@pytest.fixture(autouse=True)
def _restore_http_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """`automlops train` sets MLflow's HTTP bounds process-wide: undo that after each test."""
    for var, value in (("MLFLOW_HTTP_REQUEST_TIMEOUT", "10"), ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"),
                       ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")):
        monkeypatch.setenv(var, value)


def _iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


def _all_missing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(target=np.nan)


def _single_class(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(target="setosa")


def _one_row_class(frame: pd.DataFrame) -> pd.DataFrame:
    """One class and a class of a single row: the single row cannot be dropped (as it is beside two classes or
    more, see tests/tabular/test_runner.py), since one class would be left to learn."""
    out = frame.copy()
    out["target"] = "a"
    out.loc[0, "target"] = "lonely"
    return out


def _lake_state(home: Path) -> list[tuple[str, int]]:
    return [(info.name, len(info.versions)) for info in DataLake().list_datasets()]


def _target_only(frame: pd.DataFrame) -> pd.DataFrame:
    """A one-column table is read (it may be searched for anomalies), but a target alone has nothing to learn
    from: the refusal says so and names the tasks that take one column."""
    return frame[["target"]]


@pytest.mark.parametrize("spoil", [_all_missing, _single_class, _one_row_class, _target_only])
def test_refused_data_leaves_no_lake_version(home: Path, spoil, capsys: pytest.CaptureFixture[str]) -> None:
    path = home / "iris.csv"
    spoil(_iris()).to_csv(path, index=False)
    code = main(["train", str(path), "--target", "target", "--preset", "fast", "--n-trials", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "'target'" in err, err
    assert _lake_state(home) == []
    assert not (home / "models").exists() or not any((home / "models").iterdir())


def test_a_count_read_as_classes_is_refused_with_the_way_to_predict_it_as_a_number(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Visits 0, 1 and 4, the last two once each: read as three classes, two of them unlearnable (dropping
    them would leave one class). The refusal says how to predict the count as a number, and that works."""
    path = home / "visits.csv"
    _iris().assign(target=[1, 4] + [0] * 148).to_csv(path, index=False)
    code = main(["train", str(path), "--target", "target", "--preset", "fast", "--n-trials", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "single row" in err, err
    assert "read as 3 classes (whole numbers)" in err and "--task regression" in err, err
    assert _lake_state(home) == []
    assert main(["train", str(path), "--target", "target", "--task", "regression", "--preset", "fast",
                 "--n-trials", "2"]) == 0


def test_a_good_training_then_adds_the_exact_upload(home: Path) -> None:
    path = home / "iris.csv"
    _iris().to_csv(path, index=False)
    assert main(["train", str(path), "--target", "target", "--preset", "fast", "--n-trials", "2"]) == 0
    entry = DataLake().get_version("iris")
    assert entry.full_path.read_bytes() == path.read_bytes() and entry.version == 1


@pytest.mark.parametrize("argv", [["--name", "bad name!"], ["--name", "abc\n"], ["--models", "no_such_model"],
                                  ["--metric", "no_such_metric"], ["--n-trials", "0"]])
def test_bad_arguments_are_refused_before_any_work(home: Path, argv: list[str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = home / "iris.csv"
    _iris().to_csv(path, index=False)
    started = time.monotonic()
    code = main(["train", str(path), "--target", "target", "--preset", "fast", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("automlops: error:"), err
    assert time.monotonic() - started < 5
    assert _lake_state(home) == [] and not (home / "mlflow.db").exists() and not (home / "models").exists()


def test_a_single_column_trains_an_anomaly_detector(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One sensor's values, one column: the lake reads it and the anomaly engine searches it."""
    path = home / "petal.csv"
    _iris()[["petal length (cm)"]].to_csv(path, index=False)
    assert main(["train", str(path), "--task", "anomaly", "--n-trials", "3", "--preset", "fast"]) == 0
    assert DataLake().get_version("petal").version == 1
    capsys.readouterr()
    code = main(["train", str(path), "--target", "petal length (cm)", "--preset", "fast", "--n-trials", "2"])
    assert code == 2 and "no column to learn from besides the target" in capsys.readouterr().err
