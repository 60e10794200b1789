"""Fixtures for the prediction service: real models trained once, fresh homes per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from automlops.config import Settings

KEY = "test-key-0123456789abcdef"
AUTH = {"x-api-key": KEY}
_SERVING_ENV = ("API_KEY", "AUTOMLOPS_DEV", "MODEL_NAME", "MODEL_VERSION", "API_MAX_BODY_BYTES", "API_MAX_ROWS",
                "API_UNKNOWN_COLUMNS", "API_RELOAD_INTERVAL", "AUTOMLOPS_PREDICTION_LOG",
                "AUTOMLOPS_PREDICTION_LOG_ENABLED", "MLFLOW_TRACKING_URI", "API_MAX_IMAGES", "API_MAX_IMAGE_PIXELS",
                "API_MAX_IMAGE_BODY_BYTES")
# name -> (demo dataset, target)
BANK = {"cancer": ("breast_cancer", "target"), "diabetes": ("diabetes", "target"),
        "cars": ("cars", "Miles_per_Gallon"), "penguins": ("penguins", "species")}


@pytest.fixture(autouse=True)
def _clean_serving_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in _SERVING_ENV:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def model_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one tiny real model per demo dataset, trained once per test session."""
    from automlops.demo import load_demo
    from automlops.mlops.store import ModelStore
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    root = tmp_path_factory.mktemp("bank")
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"  # never touch the repository's
    try:
        store = ModelStore(root / "models")
        for name, (dataset, target) in BANK.items():
            runner = AutoMLRunner(target, preset="fast", models=["logistic" if name in ("cancer", "penguins")
                                                                 else "ridge"], n_trials=2).fit(load_demo(dataset))
            save_model(runner.result_, store, name, dataset={"name": dataset, "version": 1, "sha256": "0" * 64})
    finally:
        if old is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old
    return root / "models"


def make_settings(home: Path, *, key: str | None = KEY, **fields: Any) -> Settings:
    """Settings for one test, from field names, ignoring any .env file of the developer."""
    values: dict[str, Any] = {"AUTOMLOPS_HOME": str(home), "API_RELOAD_INTERVAL": 0.1}
    if key is not None:
        values["API_KEY"] = key
    for name, value in fields.items():
        alias = Settings.model_fields[name].validation_alias
        values[alias.choices[0] if alias is not None else name] = value  # type: ignore[union-attr]
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def app_client(home: Path) -> Iterator[Any]:
    """The real app over ``home``'s models, in a TestClient, with none of the developer's serving variables
    (for a module-scoped fixture: ``yield from app_client(home)``)."""
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    with pytest.MonkeyPatch.context() as env:
        for var in _SERVING_ENV:
            env.delenv(var, raising=False)
        with TestClient(create_app(make_settings(home))) as client:
            yield client


@pytest.fixture
def serve(tmp_path: Path, model_bank: Path) -> Iterator[Callable[..., Any]]:
    """``serve("penguins", api_max_rows=5)`` → a started TestClient over a fresh home with those models."""
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    clients: list[Any] = []

    def start(*models: str, key: str | None = KEY, **fields: Any) -> Any:
        home = tmp_path / f"home{len(clients)}"
        (home / "models").mkdir(parents=True)
        for name in models:
            shutil.copytree(model_bank / name, home / "models" / name)
        client = TestClient(create_app(make_settings(home, key=key, **fields)))
        client.__enter__()
        client.home = home  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def demo_rows() -> Callable[[str, int], list[dict[str, Any]]]:
    """``demo_rows("penguins", 5)``: feature rows (JSON-ready records) from a demo dataset."""
    import math

    from automlops.demo import load_demo

    def rows(name: str, n: int) -> list[dict[str, Any]]:
        dataset, target = BANK[name]
        frame = load_demo(dataset).drop(columns=[target]).head(n)
        for col in frame.columns:
            if str(frame[col].dtype).startswith("datetime"):
                frame[col] = frame[col].dt.strftime("%Y-%m-%d")
        records = frame.astype(object).to_dict(orient="records")
        return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in records]

    return rows
