"""Forecast requests to the API as users write them (probe s37), and what ``automlops monitor`` says after.

Two rows for one store and day with different promotion flags are refused (which one should the
forecast use?), naming the store and the day; columns the model does not read are answered with a
warning, as ``automlops forecast --future`` warns; a null or absent store id is named as such, not as
"unknown series 'None'"; and ``automlops monitor`` on a forecaster says what monitoring it means
instead of "only 0 logged predictions". Two daily stores (a level per store, plus 3 on promotion
days) trained for real, saved to a real store and served by the real app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from automlops.mlops.store import ModelStore
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.tabular.persist import save_model
from automlops.tasks import TrainOptions, build_engine
from tests.forecasting.test_user_inputs import stores
from tests.serving.conftest import AUTH, app_client
from tests.test_cli_tasks import _main_in_process


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store with 'stores': two daily series that need their future promotion flags."""
    root = tmp_path_factory.mktemp("forecast-requests")
    engine = build_engine("timeseries", TrainOptions(preset="fast", target="sales", time_column="date",
                                                     series_id="store", horizon=7, models=("ridge",)))
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=2)).fit(stores(written="%Y-%m-%d"))
    save_model(result, ModelStore(root / "models"), "stores")
    return root


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[Any]:
    yield from app_client(home)


def _ask(api: Any, *records: dict[str, Any]) -> Any:
    return api.post("/predict", json={"records": list(records)}, headers=AUTH)


def test_one_store_and_day_twice_with_different_inputs_is_refused(api: Any) -> None:
    r = _ask(api, {"date": "2013-03-26", "store": 1, "promo": 1}, {"date": "2013-03-26", "store": 1, "promo": 0})
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert "series '1'" in message and "2013-03-26" in message and "promo: 1, 0" in message, message
    # the same row twice is no contradiction: each gets the same answer (promotion day: about 25 + 3)
    r = _ask(api, *[{"date": "2013-03-26", "store": 1, "promo": 1}] * 2)
    assert r.status_code == 200, r.text
    first, second = r.json()["predictions"]
    assert first == second and abs(first - 28) < 2


def test_columns_the_model_does_not_use_are_ignored_with_a_warning(api: Any) -> None:
    r = _ask(api, {"date": "2013-03-26", "store": 2, "promo": 1, "weather": 3, "sales": 99})
    assert r.status_code == 200, r.text
    body = r.json()
    assert abs(body["predictions"][0] - 33) < 2  # store 2's level 30, plus 3 for the promotion
    [warning] = body["warnings"]
    assert "'weather', 'sales' ignored" in warning and "'promo'" in warning, warning
    assert _ask(api, {"date": "2013-03-26", "store": 2, "promo": 1}).json()["warnings"] == []


def test_a_horizon_sent_with_future_rows_is_ignored_with_a_warning(api: Any) -> None:
    r = api.post("/predict", json={"horizon": 5, "records": [{"date": "2013-03-26", "store": 2, "promo": 0}]},
                 headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_rows"] == 1  # the row decides the steps, not the horizon
    assert body["warnings"] == ["horizon 5 ignored: the future rows say which steps to forecast"]


@pytest.mark.parametrize("row", [{"date": "2013-03-26", "store": None, "promo": 1},  # "store": null
                                 {"date": "2013-03-26", "promo": 1}])  # no store, beside a row that has one
def test_a_null_or_absent_series_id_is_named_as_such(api: Any, row: dict[str, Any]) -> None:
    r = _ask(api, {"date": "2013-03-26", "store": 1, "promo": 0}, row)
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert "series-id column 'store' is null or missing in 1 future row(s) (row 1" in message, message
    assert "None" not in message and "nan" not in message


def test_monitor_on_a_forecaster_says_what_monitoring_means_for_it(api: Any, home: Path) -> None:
    assert api.post("/predict", json={"records": [{"date": "2013-03-26", "store": 1, "promo": 1}]},
                    headers=AUTH).status_code == 200
    code, out, err = _main_in_process(home, ["monitor", "--model", "stores", "--no-mlflow"])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "stores is a forecasting model" in err and "logged predictions" not in err
    assert "add them to its data" in err and "train again" in err
