"""Credentials belong to their tracker, not to the process: two authenticated servers, one process.

Server A (the shared ``mlflow_auth_server``, admin ``admin``) and server B (started here, admin
``bob``) each also know the *other* server's admin with the same password, as a READ-only user.
So a token that reached the wrong server would not simply be refused: an anonymous client would
suddenly be let in (200 instead of 401), and a writer would act as the wrong user (403). A
tracker for A, a tracker for B, the Settings page's probe of B and an anonymous tracker for A
then work interleaved in one thread and side by side in two, and each server only ever sees
its own identity, and the environment never holds a password.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from automlops.config import Settings
from automlops.errors import TrackingError
from automlops.mlops.reports import read_artifact_text
from automlops.mlops.tracking import Tracker
from automlops.ui import tracking
from tests.ui.conftest import AuthServer, run_auth_server

pytestmark = pytest.mark.integration

ROUNDS = 8


@pytest.fixture(scope="module")
def server_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """A second authenticated MLflow server whose admin is ``bob``, with its own password."""
    with run_auth_server(tmp_path_factory.mktemp("mlflow-auth-b"), "bob", "bob-" + secrets.token_hex(8)) as server:
        yield server


def _add_reader(server: AuthServer, username: str, password: str) -> None:
    """Create a (READ-only, the servers' default) user on ``server`` through its admin REST API."""
    import base64

    request = urllib.request.Request(
        f"{server.uri}/api/2.0/mlflow/users/create", method="POST",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Basic " + base64.b64encode(
            f"{server.username}:{server.password}".encode()).decode()})
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:  # the session-wide server A may know the user already
        if "already exists" not in exc.read().decode(errors="replace"):
            raise


def _tracker(settings: Settings, server: AuthServer, *, with_credentials: bool = True) -> Tracker:
    update = {"tracking_uri": server.uri, "tracking_username": server.username if with_credentials else None,
              "tracking_password": server.password if with_credentials else None}
    return Tracker(settings=settings.model_copy(update=update))


def _no_password_in_environment(*servers: AuthServer) -> None:
    values = "\n".join(os.environ.values())
    assert not [s.username for s in servers if s.password in values], "a password is in os.environ"


def _collect(errors: list[BaseException], work: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
    return run


@pytest.fixture
def servers(ui_home: Path, mlflow_auth_server: AuthServer, server_b: AuthServer) -> tuple[AuthServer, AuthServer]:
    a, b = mlflow_auth_server, server_b
    _add_reader(a, b.username, b.password)  # B's token, if it reached A, would be let in as 'bob'
    _add_reader(b, a.username, a.password)  # and A's token on B as 'admin'
    return a, b


def test_interleaved_trackers_send_each_server_only_its_own_identity(
        servers: tuple[AuthServer, AuthServer], tmp_path: Path) -> None:
    a, b = servers
    settings = Settings()
    tracker_a, tracker_b, anonymous_a = _tracker(settings, a), _tracker(settings, b), _tracker(
        settings, a, with_credentials=False)
    probe_b = tracking.server_target(b.uri, b.username, b.password)

    run_a = tracker_a.start_run("job-on-a")
    _no_password_in_environment(a, b)
    assert tracking.check(probe_b).ok  # the Settings page probes B while the job logs to A
    tracker_a.log_metrics(run_a, {"score": 0.5})
    run_b = tracker_b.start_run("job-on-b")
    tracker_a.log_text(run_a, "hello from A", "notes/a.txt")
    tracker_b.log_text(run_b, "hello from B", "notes/b.txt")
    assert anonymous_a.check_connection(timeout=5).state == "unauthorized"
    with pytest.raises(TrackingError, match="401|[Uu]nauthorized"):
        anonymous_a.start_run("anonymous")
    assert read_artifact_text(tracker_a, run_a, "notes/a.txt") == "hello from A"  # download threads too
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(frame, [0, 0, 1, 1])
    uri = tracker_a.log_sklearn_model(run_a, model, input_example=frame)
    assert tracking.check(probe_b).ok
    assert list(tracker_a.load_sklearn_model(uri).predict(frame)) == [0, 0, 1, 1]
    tracker_a.end_run(run_a)
    tracker_b.end_run(run_b)
    _no_password_in_environment(a, b)
    assert tracker_a.get_run(run_a).metrics == {"score": 0.5}
    assert "notes/b.txt" in tracker_b.get_run(run_b).artifacts


def test_two_threads_on_two_servers_never_swap_credentials(servers: tuple[AuthServer, AuthServer]) -> None:
    a, b = servers
    settings = Settings()
    tracker_a, tracker_b, anonymous_a = _tracker(settings, a), _tracker(settings, b), _tracker(
        settings, a, with_credentials=False)
    probe_b = tracking.server_target(b.uri, b.username, b.password)
    run_a, run_b = tracker_a.start_run("thread-a"), tracker_b.start_run("thread-b")
    tracker_a.log_text(run_a, "A", "a.txt")
    start, errors = threading.Barrier(2), []  # type: ignore[var-annotated]

    def job_on_a() -> None:  # a training job logging to A
        start.wait()
        for step in range(ROUNDS):
            tracker_a.log_metrics(run_a, {"loss": 1.0 / (step + 1)}, step=step)
            assert read_artifact_text(tracker_a, run_a, "a.txt") == "A"
            _no_password_in_environment(a, b)

    def settings_page() -> None:  # meanwhile: probe B, log to B, and an identity-less client of A
        start.wait()
        for step in range(ROUNDS):
            assert tracking.check(probe_b).ok
            tracker_b.log_metrics(run_b, {"loss": 2.0 / (step + 1)}, step=step)
            assert anonymous_a.check_connection(timeout=5).state == "unauthorized"
            _no_password_in_environment(a, b)

    with ThreadPoolExecutor(2) as pool:
        for work in (job_on_a, settings_page):
            pool.submit(_collect(errors, work))
    assert not errors, errors
    assert tracker_a.get_run(run_a).metrics == {"loss": pytest.approx(1.0 / ROUNDS)}
    assert tracker_b.get_run(run_b).metrics == {"loss": pytest.approx(2.0 / ROUNDS)}
