"""``automlops predict`` checks a tabular model's rows as ``/predict`` does, and says the same things.

The model is trained through the CLI on a CSV with a number (``year``), a category (``color``) and
dates written day first (``when``; :func:`tests.serving.test_dates_in_requests.write_dayfirst_sales`).
What the API refuses, the command refuses with the column named (exit 2, one line, no ``--out`` file);
what the API warns about, the command prints on stderr as ``warning: ...`` lines, once per problem.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.serving.conftest import AUTH, make_settings
from tests.serving.test_dates_in_requests import train_dayfirst_model
from tests.test_cli_tasks import _main_in_process


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-checks")
    train_dayfirst_model(root)
    return root


def _predict(home: Path, rows: str, *extra: str) -> tuple[int, str, str]:
    path = home / "rows.csv"
    path.write_text(rows)
    return _main_in_process(home, ["predict", "--model", "sales", str(path), *extra])


def _predictions(out: str) -> list[float]:
    return pd.read_csv(io.StringIO(out))["prediction"].tolist()


def test_text_in_a_numeric_column_is_refused_naming_the_column(home: Path) -> None:
    out_file = home / "answers.csv"
    code, out, err = _predict(home, "year,color,when\n2000,red,23/04/2001\ntwenty,red,23/04/2001\n",
                              "--out", str(out_file))
    assert code == 2 and out == "" and not out_file.exists()
    assert err == ("automlops: error: the model could not predict on this table: 1 value(s) do not fit the model's "
                   "schema: column 'year', data row 2 ('twenty'): expected a number, got text\n")


def test_a_date_that_does_not_parse_is_refused_naming_the_column(home: Path) -> None:
    code, _, err = _predict(home, "year,color,when\n2000,red,someday\n2000,red,0001-01-01\n")
    assert code == 2 and len(err.splitlines()) == 1
    assert "column 'when', data row 1: 'someday' is not an ISO 8601 date/time" in err
    assert "column 'when', data row 2: '0001-01-01' is outside the dates the model can hold" in err


def test_the_api_warnings_are_printed_once_per_problem(home: Path) -> None:
    rows = "year,color,when,note\n2000,purple,23/04/2001,a\n2001,purple,,b\n2002,red,24/04/2001,c\n"
    code, out, err = _predict(home, rows)
    assert code == 0 and len(_predictions(out)) == 3
    assert err.splitlines() == [
        "warning: ignored 1 column(s) the model does not use: 'note'",
        "warning: column 'color': category 'purple' was not seen in training; the model treats it as unknown",
        "warning: column 'when': a missing value was filled in as the model fills them (this column had none in "
        "training)",
    ]


def test_the_command_warns_and_answers_as_the_api_does(home: Path) -> None:
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    records = [{"year": 2000, "color": "purple", "when": "11/23/2001"}, {"year": 2001, "color": "red", "when": None}]
    code, out, err = _predict(home, "year,color,when\n2000,purple,11/23/2001\n2001,red,\n")
    assert code == 0
    with TestClient(create_app(make_settings(home, model_name="sales"))) as client:
        body = client.post("/predict", json={"records": records}, headers=AUTH).json()
    assert err.splitlines() == [f"warning: {w}" for w in body["warnings"]] and len(body["warnings"]) == 3
    assert _predictions(out) == pytest.approx(body["predictions"])


def test_a_lone_ambiguous_date_is_read_in_the_training_order(home: Path) -> None:
    answers: dict[str, Any] = {}
    for date in ("09/11/2001", "2001-11-09", "2001-09-11"):
        code, out, err = _predict(home, f"year,color,when\n2000,red,{date}\n")
        assert code == 0 and err == "", err
        answers[date] = _predictions(out)[0]
    assert answers["09/11/2001"] == pytest.approx(answers["2001-11-09"])
    assert abs(answers["09/11/2001"] - answers["2001-09-11"]) > 3


def test_infinity_is_still_read_as_a_missing_number(home: Path) -> None:
    code, out, err = _predict(home, "year,color,when\ninf,red,23/04/2001\n2000,red,23/04/2001\n")
    assert code == 0 and len(_predictions(out)) == 2
    assert err == ("warning: column 'year': a missing value was filled in as the model fills them (this column had "
                   "none in training)\n")


def test_a_true_false_column_sent_as_one_zero_or_yes_no_is_read_as_booleans(tmp_path: Path) -> None:
    """Trained on a True/False column, sent 1/0 (or yes/no, true/false): the same answers as True/False, with a
    warning naming what was read. Before, 0 and 1 were categories the model had never seen."""
    from sklearn.datasets import load_breast_cancer

    home = tmp_path / "home"
    home.mkdir()
    cancer = load_breast_cancer(as_frame=True).frame[["mean radius", "mean texture", "worst area", "target"]]
    cancer.insert(3, "large", cancer["mean radius"] > 14)  # a real boolean column: written True/False in the CSV
    cancer.to_csv(tmp_path / "cells.csv", index=False)
    code, _, err = _main_in_process(home, ["train", str(tmp_path / "cells.csv"), "--target", "target", "--models",
                                           "logistic", "--n-trials", "1", "--name", "cells"])
    assert code == 0, err
    rows = cancer.drop(columns="target").head(40)

    def answers(written: pd.Series) -> tuple[list[float], str]:
        path = tmp_path / "rows.csv"
        rows.assign(large=written).to_csv(path, index=False)
        code, out, err = _main_in_process(home, ["predict", "--model", "cells", str(path), "--proba"])
        assert code == 0, err
        return pd.read_csv(io.StringIO(out)).iloc[:, -1].tolist(), err

    truth, quiet = answers(rows["large"])
    assert "large" not in quiet
    for spelled, said in ((rows["large"].astype(int), True), (rows["large"].map({True: "yes", False: "no"}), True),
                          (rows["large"].map({True: "true", False: "FALSE"}), False)):  # the CSV reader knows these
        got, err = answers(spelled)
        assert got == pytest.approx(truth)
        assert ("column 'large': read" in err and "as False/True, as the column was in training" in err) is said, err
        assert "not seen in training" not in err
