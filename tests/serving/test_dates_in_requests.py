"""Dates sent to /predict: ISO 8601, or written as the training CSV wrote them, in training's day/month order.

A regression model is trained through the CLI on a CSV whose dates are written day first
(``23/04/2001``), with a target that grows with the date, so that reading a date in the wrong order
moves the answer by several units. Training records the order in the feature schema
(``"dayfirst": true``); a request's dates are then read that way when they do not say otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.serving.conftest import AUTH, make_settings
from tests.test_cli_tasks import _main_in_process

ROW = {"year": 2000, "color": "red"}


def write_dayfirst_sales(path: Path) -> Path:
    """120 rows: ``year`` (number), ``color`` (3 categories), ``when`` (40 dates of 2001 written dd/mm/yyyy)
    and ``y``, which grows by 1 every 10 days (9 November is 5.9 more than 11 September)."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2001-01-01", periods=40, freq="9D")
    when = pd.DatetimeIndex(rng.choice(days, 120))
    frame = pd.DataFrame({"year": rng.integers(1990, 2020, 120), "color": rng.choice(["red", "green", "blue"], 120),
                          "when": when.strftime("%d/%m/%Y")})
    frame["y"] = ((when - days[0]).days / 10 + (frame["year"] - 1990) / 5
                  + frame["color"].map({"red": 0, "green": 2, "blue": 4}) + rng.normal(0, 0.1, 120))
    frame.to_csv(path, index=False)
    return path


def train_dayfirst_model(home: Path) -> None:
    """Model 'sales' trained by ``automlops train`` on :func:`write_dayfirst_sales`'s CSV."""
    csv = write_dayfirst_sales(home / "sales.csv")
    code, _, err = _main_in_process(home, ["train", str(csv), "--target", "y", "--models", "ridge", "--preset",
                                           "fast", "--n-trials", "2", "--name", "sales"])
    assert code == 0, err


@pytest.fixture(scope="module")
def sales_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dayfirst")
    train_dayfirst_model(home)
    return home


@pytest.fixture
def client(sales_home: Path) -> Any:
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    with TestClient(create_app(make_settings(sales_home, model_name="sales"))) as started:
        yield started


def _post(client: Any, *dates: str) -> Any:
    return client.post("/predict", json={"records": [{**ROW, "when": d} for d in dates]}, headers=AUTH)


def _answers(client: Any, *dates: str) -> tuple[list[float], list[str]]:
    r = _post(client, *dates)
    assert r.status_code == 200, r.text
    return r.json()["predictions"], r.json()["warnings"]


def test_training_records_the_day_month_order_of_a_date_column(sales_home: Path) -> None:
    from automlops.mlops.store import ModelStore

    meta = ModelStore(sales_home / "models").load("sales").meta
    when = next(f for f in meta["feature_schema"]["features"] if f["name"] == "when")
    assert when["kind"] == "datetime" and when["dayfirst"] is True


def test_the_openapi_document_says_the_training_order_is_read_too(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    text = repr(doc)
    assert "the API also reads 31/05/2024, day first" in text


def test_a_date_written_as_in_training_is_read_like_its_iso_form(client: Any) -> None:
    written, warnings = _answers(client, "23/04/2001", "9.11.2001", "09-11-2001")
    iso, _ = _answers(client, "2001-04-23", "2001-11-09", "2001-11-09")
    assert written == pytest.approx(iso) and warnings == []


def test_a_lone_ambiguous_date_is_read_in_the_training_order(client: Any) -> None:
    (lone,), warnings = _answers(client, "09/11/2001")
    (november,), _ = _answers(client, "2001-11-09")
    (september,), _ = _answers(client, "2001-09-11")
    assert lone == pytest.approx(november) and abs(lone - september) > 3 and warnings == []


def test_dates_that_can_only_be_month_first_are_read_so_with_a_warning(client: Any) -> None:
    written, warnings = _answers(client, "11/23/2001", "09/11/2001")
    iso, _ = _answers(client, "2001-11-23", "2001-09-11")
    assert written == pytest.approx(iso)
    assert warnings == ["column 'when': dates such as '11/23/2001' can only be read month first (05/31/2024), but "
                        "the model's training dates were read day first (31/05/2024); they were read as written"]


@pytest.mark.parametrize(("date", "message"), [
    ("0001-01-01", "'0001-01-01' is outside the dates the model can hold (1677-09-22 to 2262-04-11)"),
    ("31/12/9999", "'31/12/9999' is outside the dates the model can hold (1677-09-22 to 2262-04-11)"),
    ("someday", "'someday' is not an ISO 8601 date/time (e.g. 2024-05-31), or day first (31/05/2024) as in "
                "training"),
])
def test_a_date_that_cannot_be_read_says_why(client: Any, date: str, message: str) -> None:
    r = _post(client, "2001-04-23", date)
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == [{"field": "when", "row": 1, "message": message}]
