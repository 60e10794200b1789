"""`automlops predict` / `forecast` with future files as users write them (probe s36).

Two daily stores are trained through the CLI from CSV files: with a promotion flag (an exogenous
input), without it, and with their dates written day-first. Future files are then read as the training
file was (day-first, UTC offsets converted to UTC), for the series they name only; ``--out`` naming a
folder and a ``--future`` file a model does not need are told to the user, never a traceback.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from tests.forecasting.test_user_inputs import stores
from tests.test_cli_tasks import _main_in_process


def _train(home: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(home / f"{name}.csv", index=False)
    code, _, err = _main_in_process(home, ["train", str(home / f"{name}.csv"), "--task", "timeseries", "--time-column",
                                           "date", "--target", "sales", "--series-id", "store", "--horizon", "7",
                                           "--models", "ridge", "--preset", "fast", "--n-trials", "2"])
    assert code == 0, err


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models 'shops' (with a promotion input) and 'plain' (without), dates written 2013-01-31."""
    root = tmp_path_factory.mktemp("cli-s36")
    iso = stores(written="%Y-%m-%d")
    _train(root, "shops", iso)
    _train(root, "plain", iso.drop(columns="promo"))
    return root


@pytest.fixture(scope="module")
def eu(home: Path) -> Path:
    """Model 'eu': the same stores with their dates written day-first (31/01/2013), no input."""
    _train(home, "eu", stores().drop(columns="promo"))
    return home


def _predict(home: Path, model: str, rows: str, *extra: str) -> tuple[int, str, str]:
    path = home / "future.csv"
    path.write_text(rows)
    return _main_in_process(home, ["predict", "--model", model, str(path), *extra])


def test_a_day_first_future_file_is_read_day_first(eu: Path) -> None:
    # the CSV reader alone reads 01/04/2013 as 4 January: training read its dates day-first
    rows = "store,date\n" + "".join(f"{s},{d}/2013\n" for s in (1, 2) for d in ("01/04", "02/04"))
    code, out, err = _predict(eu, "eu", rows)
    assert code == 0, err
    assert list(pd.read_csv(io.StringIO(out))["ds"]) == ["2013-04-01", "2013-04-02"] * 2


def test_utc_offsets_in_a_future_file_are_converted(home: Path) -> None:
    code, out, err = _predict(home, "plain", "store,date\n1,2013-03-25T19:00:00-05:00\n")
    assert code == 0, err
    assert list(pd.read_csv(io.StringIO(out))["ds"]) == ["2013-03-26"]


def test_one_series_with_a_float_id_is_answered_alone(home: Path) -> None:
    code, out, err = _predict(home, "shops", "store,date,promo\n2.0,2013-03-26,1\n")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["unique_id"].tolist() == [2]


@pytest.mark.parametrize("command", ["predict", "forecast"])
def test_out_naming_a_folder_is_refused_in_one_line(home: Path, command: str) -> None:
    folder = home / "answers"
    folder.mkdir(exist_ok=True)
    args = ["--model", "plain", "--out", str(folder)]
    if command == "predict":
        (home / "when.csv").write_text("store,date\n1,2013-03-26\n")
        args.append(str(home / "when.csv"))
    code, _, err = _main_in_process(home, [command, *args])
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1, err
    assert list(folder.iterdir()) == []


def test_a_future_file_the_model_does_not_need_is_told(home: Path) -> None:
    future = home / "promo.csv"
    future.write_text("store,date,promo\n1,2013-03-26,1\n")
    code, out, err = _main_in_process(home, ["forecast", "--model", "plain", "--horizon", "2", "--future",
                                             str(future)])
    assert code == 0 and "no exogenous inputs" in err and len(pd.read_csv(io.StringIO(out))) == 4, err
    future.write_text("carrier,when,delay\n9E,2013-03-26,1\n")  # another model's file
    code, out, err = _main_in_process(home, ["forecast", "--model", "plain", "--horizon", "2", "--future",
                                             str(future)])
    assert code == 2 and "no time column 'date'" in err and out == "", err


def test_training_warns_which_columns_became_known_in_advance_inputs(tmp_path: Path) -> None:
    # Every other numeric column is an input whose future values a forecast needs: a user who left one in by
    # accident (tomorrow's minimum temperature, forecasting its maximum) used to learn it only from decisions_.
    iso = stores(written="%Y-%m-%d")
    for name, frame in (("shops", iso), ("plain", iso.drop(columns="promo"))):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        code, _, err = _main_in_process(tmp_path, ["train", str(tmp_path / f"{name}.csv"), "--task", "timeseries",
                                                   "--time-column", "date", "--target", "sales", "--series-id",
                                                   "store", "--horizon", "7", "--models", "ridge", "--n-trials", "1"])
        assert code == 0, err
        warned = [line for line in err.splitlines()
                  if line.startswith("automlops: warning: the table's other columns are inputs known in advance")]
        assert len(warned) == (name == "shops") and all("(promo)" in line for line in warned)


def test_forecasting_a_model_with_inputs_without_their_future_names_the_flag(home: Path) -> None:
    code, out, err = _main_in_process(home, ["forecast", "--model", "shops", "--horizon", "3"])
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "automlops: error: shops@v1 uses exogenous column(s) promo: give their future values with --future FILE "
        "(a CSV with the time column, the series id and those columns, one row per step ahead)"]
