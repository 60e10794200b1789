"""The API with a forecaster that needs future exogenous values (probe s36): its documented example
scores, it answers for exactly the series asked (ids written ``1.0`` too), and it refuses malformed
bodies as the other kinds do (422).

Two daily stores trained for real (ridge on lags), saved to a real store and served by the real app.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from automlops.mlops.store import ModelStore
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.tabular.persist import save_model
from automlops.tasks import TrainOptions, build_engine
from tests.forecasting.test_user_inputs import stores
from tests.serving.conftest import _SERVING_ENV, AUTH, make_settings


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    home = tmp_path_factory.mktemp("forecast-exog-api")
    engine = build_engine("timeseries", TrainOptions(preset="fast", target="sales", time_column="date",
                                                     series_id="store", horizon=7, models=("ridge",)))
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=2)).fit(stores(written="%Y-%m-%d"))
    save_model(result, ModelStore(home / "models"), "stores")
    with pytest.MonkeyPatch.context() as env:
        for var in _SERVING_ENV:
            env.delenv(var, raising=False)
        with TestClient(create_app(make_settings(home))) as client:
            yield client


def test_the_docs_example_of_a_forecaster_with_inputs_scores(api) -> None:  # type: ignore[no-untyped-def]
    content = api.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]["content"]
    example = content["application/json"]["example"]
    assert set(example) == {"records"} and set(example["records"][0]) == {"date", "store", "promo"}
    r = api.post("/predict", json=example, headers=AUTH)
    assert r.status_code == 200, r.text
    assert [row["ds"] for row in r.json()["forecast"]] == ["2013-03-26"]


def test_one_series_with_a_float_id(api) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/predict", json={"records": [{"date": "2013-03-27", "store": 2.0, "promo": 1},
                                               {"date": "2013-03-26", "store": 2.0, "promo": 1}]}, headers=AUTH)
    assert r.status_code == 200, r.text
    forecast = r.json()["forecast"]
    assert [(f["unique_id"], f["ds"]) for f in forecast] == [("2", "2013-03-27"), ("2", "2013-03-26")]


@pytest.mark.parametrize(("body", "needle"), [
    ({"columns": ["date", "date"], "data": [["26/03/2013", "27/03/2013"]]}, "twice"),
    ({"columns": ["date", "store", "promo"], "data": [["26/03/2013", 1, 0, 99]]}, "4 value(s) for 3 column(s)"),
    ({"horizon": True}, "horizon"),
])
def test_malformed_forecast_bodies_are_422(api, body: dict[str, Any], needle: str) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/predict", json=body, headers=AUTH)
    assert r.status_code == 422 and needle in r.text, r.text
