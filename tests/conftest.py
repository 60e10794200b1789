"""Shared fixtures: every test gets its own AUTOMLOPS_HOME (lake, models, mlflow.db)."""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from automlops.config import Settings
from tests.postgres import PostgresServer, pg_bindir, run_postgres
from tests.servers import AuthServer, run_auth_server


@pytest.fixture(autouse=True)
def _fixed_seeds() -> None:
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh studio home; the environment points every setting at it."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("AUTOMLOPS_HOME", str(root))
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                "MODEL_NAME", "MODEL_VERSION"):
        monkeypatch.delenv(var, raising=False)
    return root


@pytest.fixture
def machine_load(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """``machine_load(n)``: from now on, :mod:`automlops.core.cores` reads ``n`` cores as busy with other
    programs (``0``: an idle machine), whatever the machine running the tests is doing.

    It sets the input the first reading falls back to (the load average, this process's own core
    added) and keeps that answer: for tests of what a fit does *given* the load, which the parallel
    test run itself would otherwise decide.
    """
    from automlops.core import cores

    def set_load(busy_elsewhere: float) -> None:
        monkeypatch.setattr(os, "getloadavg", lambda: (busy_elsewhere + 1.0, 0.0, 0.0))
        monkeypatch.setattr(cores, "WINDOW", float("inf"))
        cores._last.clear()

    yield set_load
    cores._last.clear()


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, empty MLflow DB: creating one costs ~1.5 s of migrations, copying it ~1 ms."""
    from mlflow.tracking import MlflowClient

    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{db}").search_experiments(max_results=1)
    return db


@pytest.fixture(scope="session")
def mlflow_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """A real authenticated MLflow server (stands in for DagsHub)."""
    with run_auth_server(tmp_path_factory.mktemp("mlflow-auth"), "admin", "right-" + secrets.token_hex(8)) as server:
        yield server


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL server (password auth, loopback, free port), one per test process."""
    if pg_bindir() is None:  # .ci/run installs Debian's postgresql; a developer machine may lack it
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (as .ci/run does)")
    with run_postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def pg_database(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the shared server; returns its SQLAlchemy URL (with the password)."""
    name = "t_" + secrets.token_hex(6)
    return postgres.create_database(name)


# Tests that assert a wall-clock promise (a time budget kept, a write that never slows a request, a
# deadline met within a second). ``make test`` runs the rest on two workers at once (pytest-xdist)
# and these afterwards, alone: a time budget is a promise about a machine the command has to itself.
TIMING_SENSITIVE = (
    "tests/tabular/test_budget.py::",
    "tests/tabular/test_evaluate_deadline.py::",
    "tests/search/test_deadline.py::",
    "tests/search/test_tracking_budget.py::",
    "tests/search/test_shared_study.py::",
    "tests/search/test_postgres_study.py::",  # a killed worker must be seen dead (grace 3 s) within the budget
    "tests/test_budget_large_table.py::",
    "tests/test_tracking_unreachable.py::",
    "tests/test_cli.py::test_second_train_is_version_2_within_its_time_budget",
    "tests/test_cli_vision.py::test_the_whole_process_keeps_its_time_budget",
    "tests/tabular/test_runner.py::test_time_budget_is_respected",
    "tests/tabular/test_caps.py::test_a_wide_training_keeps_its_time_budget_and_logs_the_skip",
    "tests/anomaly/test_engine.py::test_keeps_a_time_budget",
    "tests/clustering/test_engine.py::test_a_time_budget_is_kept",  # 4 s budget: 5.3 s beside two browser tests
    "tests/vision/test_engine.py::test_the_time_budget_holds",
    "tests/stability/test_tabular.py::test_the_time_budget_is_kept_and_what_was_skipped_is_said",
    "tests/mlops/test_mlflow_template.py::test_seeded_store_is_usable_and_fast",
    "tests/serving/test_prediction_log.py::test_slow_or_failing_writes_never_slow_or_fail_requests",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the timing-sensitive tests ``serial`` (see :data:`TIMING_SENSITIVE`)."""
    for item in items:
        if item.nodeid.startswith(TIMING_SENSITIVE):
            item.add_marker(pytest.mark.serial)
