"""How a forecast's ``ds`` is written: as the model's steps call for, whatever hours one answer covers.

An hourly model's forecast for the step at midnight was answered ``2020-01-11`` alone, and with its
clock (``2020-01-11 00:00:00``) as soon as a later hour came with it, by the API and in the CLI's CSV.
Now every time of an hourly model carries its clock, in ISO 8601 (``2020-01-11T00:00:00``), in both,
and a daily, monthly or quarterly model's times are dates. The hourly series is a daily wave (10 + 5 sin(2πt/24)), so its next step, midnight,
is forecast near 10; it is trained for real and served by the real app.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automlops.mlops.store import ModelStore
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.tabular.persist import save_model
from automlops.tasks import TrainOptions, build_engine
from tests.serving.conftest import AUTH, app_client
from tests.test_cli_tasks import _main_in_process


def _hourly(days: int = 10) -> pd.DataFrame:
    t = np.arange(24 * days)
    wave = 10 + 5 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.1, len(t))
    return pd.DataFrame({"when": pd.date_range("2020-01-01", periods=len(t), freq="h"), "load": wave})


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store with 'load', trained on the hourly wave."""
    root = tmp_path_factory.mktemp("hourly")
    engine = build_engine("timeseries", TrainOptions(preset="fast", target="load", time_column="when", horizon=24,
                                                     models=("ridge",)))
    result = SearchDriver(engine, DriverConfig(preset="fast", n_trials=2)).fit(_hourly())
    save_model(result, ModelStore(root / "models"), "load")
    return root


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[Any]:
    yield from app_client(home)


@pytest.mark.parametrize(("body", "expected"), [
    ({"horizon": 1}, ["2020-01-11T00:00:00"]),  # the data ends at 2020-01-10 23:00
    ({"horizon": 2}, ["2020-01-11T00:00:00", "2020-01-11T01:00:00"]),
    ({"records": [{"when": "2020-01-11 00:00"}]}, ["2020-01-11T00:00:00"]),
    ({"records": [{"when": "2020-01-11T02:00:00Z"}, {"when": "2020-01-11"}]},
     ["2020-01-11T02:00:00", "2020-01-11T00:00:00"]),
])
def test_an_hourly_models_times_keep_their_clock_at_midnight(api: Any, body: dict[str, Any],
                                                             expected: list[str]) -> None:
    r = api.post("/predict", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    forecast = r.json()["forecast"]
    assert [row["ds"] for row in forecast] == expected
    midnight = next(row["yhat"] for row in forecast if row["ds"].endswith("T00:00:00"))
    assert abs(midnight - 10) < 1.5


def test_the_cli_writes_the_times_as_the_api_does(home: Path) -> None:
    (home / "future.csv").write_text("when\n2020-01-11 00:00\n")
    for args in (["forecast", "--model", "load", "--horizon", "1"],
                 ["predict", "--model", "load", str(home / "future.csv")]):
        code, out, err = _main_in_process(home, args)
        assert code == 0, err
        assert pd.read_csv(io.StringIO(out), dtype=str)["ds"].tolist() == ["2020-01-11T00:00:00"]


@pytest.mark.parametrize(("freq", "last", "pattern"), [
    ("h", "2020-01-10 23:00", "%Y-%m-%dT%H:%M:%S"),
    ("D", "2020-01-10", "%Y-%m-%d"),
    ("D", "2020-01-10 09:00", "%Y-%m-%dT%H:%M:%S"),  # a daily reading at 9 o'clock keeps its hour
    ("36h", "2020-01-10", "%Y-%m-%dT%H:%M:%S"),  # midnight now, noon next
    ("W-SUN", "2020-01-12", "%Y-%m-%d"),
    ("QS-OCT", "2009-07-01", "%Y-%m-%d"),
])
def test_the_format_follows_the_models_grid(freq: str, last: str, pattern: str) -> None:
    from automlops.forecasting.times import time_format

    assert time_format(freq, [pd.Timestamp(last)]) == pattern
