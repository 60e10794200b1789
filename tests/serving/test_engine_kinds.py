"""The API serves what the new engines train: anomaly flags with scores, forecasts with intervals.

Each model is trained for real by its engine (a few trials), saved to a real model store, and
served by the real FastAPI app; requests go over HTTP through TestClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automlops.mlops.store import ModelStore
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.tabular.persist import save_model
from automlops.tasks import TrainOptions, answer_table, build_engine
from tests.serving.conftest import AUTH, make_settings


def _train(task: str, frame: pd.DataFrame, store: ModelStore, name: str, **options: Any) -> Any:
    engine = build_engine(task, TrainOptions(preset="fast", **options))
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=3)).fit(frame)
    return save_model(result, store, name)


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    from automlops.demo import load_demo

    return load_demo("breast_cancer")


@pytest.fixture(scope="module")
def co2() -> pd.DataFrame:
    from automlops.demo import load_demo

    return load_demo("co2")


def _client(home: Path) -> Any:
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    return TestClient(create_app(make_settings(home)))


@pytest.fixture(scope="module")
def anomaly_api(tmp_path_factory: pytest.TempPathFactory, cancer: pd.DataFrame) -> Iterator[tuple[Any, Any]]:
    home = tmp_path_factory.mktemp("anomaly-api")
    stored = _train("anomaly", cancer.drop(columns="target"), ModelStore(home / "models"), "cells",
                    contamination=0.1)
    with _client(home) as client:
        yield client, stored


@pytest.fixture(scope="module")
def forecast_api(tmp_path_factory: pytest.TempPathFactory, co2: pd.DataFrame) -> Iterator[tuple[Any, Any]]:
    home = tmp_path_factory.mktemp("forecast-api")
    stored = _train("timeseries", co2, ModelStore(home / "models"), "co2", target="co2", time_column="month",
                    horizon=12)
    with _client(home) as client:
        yield client, stored


def test_anomaly_rows_get_a_flag_a_score_and_the_threshold(anomaly_api, cancer: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    client, stored = anomaly_api
    rows = cancer.drop(columns="target").head(40)
    r = client.post("/predict", json={"records": rows.to_dict(orient="records")}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"name": "cells", "version": 1, "task": "anomaly"} and body["n_rows"] == 40
    assert set(body["predictions"]) <= {0, 1} and len(body["scores"]) == 40
    threshold = body["threshold"]
    assert threshold == stored.meta["threshold"]
    assert body["predictions"] == [int(s > threshold) for s in body["scores"]]  # the flag is the threshold's verdict
    expected = answer_table(ModelStore(stored.path.parent.parent).load("cells").model, stored.meta, rows)
    assert np.allclose(body["scores"], expected["score"])  # the same scores as the CLI and the dashboard


def test_anomaly_rows_missing_a_column_are_422(anomaly_api, cancer: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    client, _ = anomaly_api
    rows = cancer.drop(columns=["target", "mean radius"]).head(3).to_dict(orient="records")
    r = client.post("/predict", json={"records": rows}, headers=AUTH)
    assert r.status_code == 422 and "mean radius" in r.text


def test_a_horizon_returns_the_forecast_with_ordered_intervals(forecast_api, co2: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    client, stored = forecast_api
    r = client.post("/predict", json={"horizon": 6}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["task"] == "timeseries" and body["n_rows"] == 6
    forecast = pd.DataFrame(body["forecast"])
    assert list(pd.to_datetime(forecast["ds"])) == list(pd.date_range(co2["month"].max(), periods=7, freq="MS")[1:])
    assert body["predictions"] == forecast["yhat"].tolist()
    assert (forecast["yhat_lo_95"] <= forecast["yhat_lo_80"]).all() and (forecast["yhat_lo_80"] <= forecast["yhat"]).all()
    assert (forecast["yhat"] <= forecast["yhat_hi_80"]).all() and (forecast["yhat_hi_80"] <= forecast["yhat_hi_95"]).all()
    assert forecast["yhat"].between(360, 390).all()  # CO2 in 2002 was about 372 ppm


def test_future_rows_name_the_timestamps_to_forecast(forecast_api, co2: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    client, _ = forecast_api
    months = pd.date_range(co2["month"].max(), periods=4, freq="MS")[1:]
    records = [{"month": m.strftime("%Y-%m-%d")} for m in months]
    r = client.post("/predict", json={"records": records}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert [pd.Timestamp(row["ds"]) for row in r.json()["forecast"]] == list(months)


@pytest.mark.parametrize(("body", "needle"), [
    ({"horizon": 0}, "horizon"),  # below 1: refused by the request schema
    ({"records": [{"month": "not a date"}]}, "month"),
    ({"records": [{"month": "1990-01-01"}]}, "1990"),  # inside the history: nothing to forecast
])
def test_bad_forecast_requests_are_422(forecast_api, body: dict[str, Any], needle: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = forecast_api
    r = client.post("/predict", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert needle in r.text and "error" in r.json()


def test_a_horizon_sent_to_a_model_that_does_not_forecast_is_422(anomaly_api) -> None:  # type: ignore[no-untyped-def]
    client, _ = anomaly_api
    r = client.post("/predict", json={"horizon": 3}, headers=AUTH)
    assert r.status_code == 422 and "forecasting" in r.json()["error"]["message"]


def test_the_docs_example_of_a_forecaster_asks_for_its_horizon_and_scores(forecast_api) -> None:  # type: ignore[no-untyped-def]
    client, stored = forecast_api
    body = client.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]["content"]
    example = body["application/json"]["example"]
    assert example == {"horizon": stored.meta["horizon"]}
    r = client.post("/predict", json=example, headers=AUTH)
    assert r.status_code == 200 and r.json()["n_rows"] == stored.meta["horizon"]
