"""Tracker against a real SQLite MLflow store in a temp home."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import multiprocessing
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from automlops.config import Settings
from automlops.errors import ConfigError, TrackingError
from automlops.mlops._model_logging import pip_requirements
from automlops.mlops.tracking import Tracker, sqlite_path


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def pipeline(data: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    X, y = data
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


@pytest.fixture
def tracker(settings: Settings, empty_db: Path) -> Tracker:
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    return Tracker(settings=settings)


def _open_and_log(settings: Settings, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait()
    tracker = Tracker(settings=settings)
    tracker.end_run(tracker.start_run("racer"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_parent_and_nested_runs_round_trip(
    tracker: Tracker, settings: Settings, pipeline: Pipeline, data, tmp_path: Path
) -> None:
    X, _ = data
    parent = tracker.start_run("automl", tags={"preset": "fast"})
    children = [tracker.start_run(f"trial-{i}", parent_run_id=parent) for i in range(2)]
    for i, child in enumerate(children):
        tracker.log_params(child, {"C": 0.5 * (i + 1), "model": "logreg", "long": "x" * 7000})
        tracker.log_metrics(child, {"roc_auc": 0.9 + i / 100, "skipped": None}, step=1)
        tracker.end_run(child)
    tracker.log_dataset_input(parent, name="cancer", version=3, sha256="ab" * 32, rows=len(X),
                              columns=list(X.columns), source="data_lake/cancer/v0003.csv")
    tracker.set_tags(parent, {"best_model": "logreg"})
    tracker.log_text(parent, "# decisions\n- stratified split", "reports/decisions.md")
    tracker.log_dataframe(parent, pd.DataFrame({"model": ["a", "b"], "score": [0.9, 0.91]}), "leaderboard.csv")
    note = tmp_path / "note.txt"
    note.write_text("hello")
    tracker.log_artifact(parent, note, "extra")
    uri = tracker.log_sklearn_model(parent, pipeline, input_example=X)
    assert uri == f"runs:/{parent}/model"
    tracker.end_run(parent, "FAILED")

    # read back with MLflow's own client, not through the tracker
    client = MlflowClient(settings.resolved_tracking_uri)
    child = client.get_run(children[1])
    assert child.data.params["C"] == "1.0" and len(child.data.params["long"]) == 6000
    assert child.data.metrics == {"roc_auc": pytest.approx(0.91)}
    assert child.data.tags["mlflow.parentRunId"] == parent
    assert child.info.status == "FINISHED"
    run = client.get_run(parent)
    assert run.info.status == "FAILED" and run.data.tags["preset"] == "fast"
    assert run.info.artifact_uri.startswith(settings.artifacts_dir.resolve().as_uri())
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "cancer@v3"
    assert '"sha256": "' + "ab" * 32 in dataset_input.dataset.profile
    assert {t.key: t.value for t in dataset_input.tags} == {"mlflow.data.context": "training"}

    details = tracker.get_run(parent)
    assert {"reports/decisions.md", "leaderboard.csv", "extra/note.txt", "model/MLmodel"} <= set(details.artifacts)
    assert details.tags["best_model"] == "logreg" and details.parent_run_id is None

    loaded = tracker.load_sklearn_model(uri)
    assert (loaded.predict(X) == pipeline.predict(X)).all()
    requirements = Path(client.download_artifacts(parent, "model/requirements.txt", str(tmp_path))).read_text()
    assert "scikit-learn==" in requirements and "skops==" in requirements

    runs = tracker.search_runs()
    assert len(runs) == 3 and set(runs["run_id"]) == {parent, *children}
    assert set(runs.loc[runs["run_id"].isin(children), "parent_run_id"]) == {parent}
    assert {"params.C", "metrics.roc_auc", "tags.preset", "duration", "start_time"} <= set(runs.columns)
    finished = tracker.search_runs("attributes.status = 'FINISHED'")
    assert set(finished["run_id"]) == set(children)


def test_start_run_batch_end_cycle_is_fast(tracker: Tracker) -> None:
    tracker.end_run(tracker.start_run("warm-up"))
    start = time.perf_counter()
    for _ in range(5):
        run_id = tracker.start_run("cycle")
        tracker.log_params(run_id, {f"p{i}": i for i in range(20)})
        tracker.log_metrics(run_id, {"score": 0.5})
        tracker.end_run(run_id)
    assert (time.perf_counter() - start) / 5 < 0.5


def test_many_params_are_batched(tracker: Tracker, settings: Settings) -> None:
    run_id = tracker.start_run("wide")
    tracker.log_params(run_id, {f"p{i}": i for i in range(250)})  # MLflow caps a batch at 100
    assert len(MlflowClient(settings.resolved_tracking_uri).get_run(run_id).data.params) == 250


def test_search_runs_is_a_dataframe_even_when_empty(tracker: Tracker) -> None:
    runs = tracker.search_runs()
    assert runs.empty and list(runs.columns)[:3] == ["run_id", "run_name", "status"]


def test_errors_are_tracking_errors(tracker: Tracker) -> None:
    with pytest.raises(TrackingError, match="MLflow could not"):
        tracker.log_metrics("0" * 32, {"x": 1.0})
    with pytest.raises(ConfigError):
        tracker.end_run("0" * 32, "DONE")


def test_experiment_is_reused(settings: Settings) -> None:
    first = Tracker(settings=settings).experiment_id
    assert Tracker(settings=settings).experiment_id == first
    assert Tracker(experiment="other", settings=settings).experiment_id != first


def test_local_sqlite_is_connected(settings: Settings) -> None:
    status = Tracker(settings=settings).check_connection()  # a fresh home: creates the DB
    assert status.state == "connected" and status.ok and status.user is None
    assert (settings.home / "mlflow.db").is_file()


def test_processes_creating_a_fresh_db_at_once_do_not_race(settings: Settings) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(3)
    workers = [ctx.Process(target=_open_and_log, args=(settings, barrier)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert len(Tracker(settings=settings).search_runs()) == 3


def test_closed_port_is_unreachable_fast(settings: Settings) -> None:
    tracker = Tracker(f"http://127.0.0.1:{_free_port()}", settings=settings)
    start = time.perf_counter()
    status = tracker.check_connection(timeout=2.0)
    assert status.state == "unreachable", status
    assert time.perf_counter() - start < 5


def test_credentials_never_leak_into_messages(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-token"
    creds = settings.model_copy(update={"tracking_username": "ada", "tracking_password": secret})
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):  # restored after the test
        monkeypatch.setenv(var, "placeholder")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    tracker = Tracker(f"http://ada:{secret}@127.0.0.1:{_free_port()}", settings=creds)
    status = tracker.check_connection(timeout=1.0)
    assert status.user == "ada" and secret not in status.message and secret not in repr(tracker)
    with pytest.raises(TrackingError) as info:
        tracker.start_run("x")
    assert secret not in str(info.value)


def test_helpers() -> None:
    assert sqlite_path("sqlite:////tmp/a/mlflow.db") == Path("/tmp/a/mlflow.db")
    assert sqlite_path("http://host") is None and sqlite_path("sqlite:///:memory:") is None
    pins = pip_requirements()
    assert any(p.startswith("scikit-learn==") for p in pins) and all("==" in p for p in pins)


@contextlib.contextmanager
def _recording_server() -> Iterator[tuple[str, list[str | None]]]:
    """A loopback HTTP server answering MLflow's experiments/search; it records each Authorization header."""
    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(self.headers.get("Authorization"))
            body = json.dumps({"experiments": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_each_tracker_sends_its_own_credentials_only(settings: Settings) -> None:
    """Three trackers in three threads, two servers: every request carries its own tracker's identity."""
    with _recording_server() as (uri_a, seen_a), _recording_server() as (uri_b, seen_b):
        ada = Tracker(uri_a, settings=settings.model_copy(update={"tracking_username": "ada",
                                                                    "tracking_password": "pw-of-ada"}))
        bob = Tracker(uri_b, settings=settings.model_copy(update={"tracking_username": "bob",
                                                                    "tracking_password": "pw-of-bob"}))
        nobody = Tracker(uri_a, settings=settings)

        def work(tracker: Tracker) -> None:
            for _ in range(5):
                assert tracker.check_connection(timeout=5).ok
                tracker.client.search_experiments(max_results=1)

        threads = [threading.Thread(target=work, args=(t,)) for t in (ada, bob, nobody)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(seen_a, key=str) == [_basic("ada", "pw-of-ada")] * 10 + [None] * 10
        assert seen_b == [_basic("bob", "pw-of-bob")] * 10
    assert not [v for v in os.environ.values() if "pw-of-" in v]


def test_logging_a_model_with_integer_columns_prints_no_mlflow_hint(tracker: Tracker, tmp_path: Path) -> None:
    """penguins' ``year`` is an integer column: MLflow's schema hint used to reach the user's terminal.

    The signature stays as inferred, so the served MLflow model still takes whole numbers there.
    """
    import warnings

    import mlflow.pyfunc
    from palmerpenguins import load_penguins
    from sklearn.impute import SimpleImputer

    frame = load_penguins().dropna(subset=["species"])
    X = frame[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]]
    assert str(X["year"].dtype) == "int64"
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=500)).fit(X, frame["species"])
    run = tracker.start_run("penguins")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        uri = tracker.log_sklearn_model(run, model, input_example=X)
    assert not [w for w in caught if "integer column" in str(w.message)]

    served = mlflow.pyfunc.load_model(tracker.client.download_artifacts(run, "model", str(tmp_path)))
    assert list(served.predict(X.head(3))) == list(model.predict(X.head(3)))
    assert (tracker.load_sklearn_model(uri).predict(X) == model.predict(X)).all()
