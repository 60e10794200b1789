"""A studio home with real models for the bundle tests, trained once for the whole package.

``penguins`` (classification by LightGBM, wrapped in the studio's early-stopping estimator: text
categories with missing values) and ``cars`` (regression: a date column and a many-valued text
column) between them need the studio's own transformers and estimators, so the bundle has to carry
them; ``cars_joblib`` is the same cars pipeline stored as a joblib file (a pickle) instead of skops;
``groups`` clusters iris flowers; ``outliers`` is an anomaly detector (its answer comes from a studio
function, which travels too);
``sales`` is stored as a forecasting model, a kind a bundle refuses before reading its file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

KEY = "bundle-test-key-0123456789"
MODELS = {"penguins": ("penguins", "species", "lightgbm"), "cars": ("cars", "Miles_per_Gallon", "ridge")}
_STORE_FIELDS = ("name", "version", "created", "signature", "model_sha256", "model_bytes", "model_file", "model_format",
                 "libraries", "format_note")


@pytest.fixture(scope="package")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """AUTOMLOPS_HOME holding penguins, cars, cars_joblib, groups, outliers and sales (each v1)."""
    from sklearn.datasets import load_iris, load_wine

    from automlops.anomaly import AnomalyEngine
    from automlops.clustering import ClusteringEngine
    from automlops.demo import load_demo
    from automlops.mlops.store import ModelStore
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    home = tmp_path_factory.mktemp("bundle") / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AUTOMLOPS_HOME", str(home))
        env.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
        for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MODEL_NAME", "MODEL_VERSION", "API_KEY"):
            env.delenv(var, raising=False)
        store = ModelStore()
        for name, (dataset, target, model) in MODELS.items():
            runner = AutoMLRunner(target, preset="fast", models=[model], n_trials=1, validation="holdout")
            runner.fit(load_demo(dataset))
            save_model(runner.result_, store, name, dataset={"name": dataset, "version": 1, "sha256": "0" * 64},
                       register=False)
        cars = store.load("cars")
        store.save("cars_joblib", cars.model, {k: v for k, v in cars.meta.items() if k not in _STORE_FIELDS},
                   format="joblib")
        clusterer = SearchDriver(ClusteringEngine(models=["kmeans"]), DriverConfig(preset="fast", n_trials=2))
        save_model(clusterer.fit(load_iris(as_frame=True).frame.drop(columns="target")), store, "groups",
                   register=False)
        detector = SearchDriver(AnomalyEngine(), DriverConfig(preset="fast", n_trials=2))
        save_model(detector.fit(load_wine(as_frame=True).frame.drop(columns="target")), store, "outliers",
                   register=False)
        store.save("sales", cars.model, {"kind": "forecasting", "task": "timeseries"})
        yield home


@pytest.fixture
def home(studio: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package's studio home, for one test (environment set, nothing else changed)."""
    monkeypatch.setenv("AUTOMLOPS_HOME", str(studio))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{studio / 'mlflow.db'}")
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MODEL_NAME", "MODEL_VERSION", "API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return studio


def demo_records(name: str, n: int) -> list[dict[str, Any]]:
    """``n`` real rows of the model's dataset, without the target, as JSON records (``None`` = missing)."""
    from automlops.demo import load_demo

    dataset, target, _ = MODELS[name]
    frame = load_demo(dataset).drop(columns=[target]).sample(n, random_state=0)
    for col in frame.columns:
        if str(frame[col].dtype).startswith("datetime"):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    records = frame.astype(object).to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in records]
