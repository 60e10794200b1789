"""Fixtures for the dashboard tests: a fresh studio home and tiny data.

Every test gets its own ``AUTOMLOPS_HOME`` (lake, models, mlflow.db) and a reset tracking
target; the MLflow variables the tracker exports are restored afterwards, so no identity
leaks from one test into the next.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from tests.servers import AuthServer, free_port, run_auth_server, stop_process, wait_http
from tests.ui.helpers import CRED_VARS, iris_csv

__all__ = ["AuthServer", "free_port", "run_auth_server", "stop_process", "wait_http"]  # moved to tests/servers.py


@pytest.fixture
def ui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh studio home in the environment; tracking state and caches reset around the test."""
    import streamlit as st

    from automlops.ui import imports, tracking

    # The dashboard warms up heavy imports in a thread; tests start from a warm process, like a
    # dashboard a few seconds after its first page (test bodies import outside the page lock).
    assert imports.wait_ready(180)

    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("AUTOMLOPS_HOME", str(root))
    for var in (*CRED_VARS, "MODEL_NAME", "MODEL_VERSION"):
        monkeypatch.setenv(var, "x")  # recorded, so the original (absent) state comes back afterwards
        monkeypatch.delenv(var)
    tracking.reset()
    st.cache_data.clear()
    yield root
    tracking.reset()


@pytest.fixture
def settings(ui_home: Path) -> Settings:
    return Settings()


@pytest.fixture
def lake(settings: Settings) -> DataLake:
    return DataLake(settings=settings)


@pytest.fixture
def iris_lake(lake: DataLake) -> DataLake:
    from automlops.demo import seed_demo

    seed_demo(lake, ["iris"])
    return lake


@pytest.fixture
def frame_iris() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(iris_csv()))



@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the test item (the browser test screenshots failures)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
