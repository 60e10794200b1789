"""The model registry on real MLflow: registration, stages as aliases, history, rollback, bad input, remote.

Local tests use a real SQLite registry (a copy of the session's migrated empty DB); the remote
ones the real authenticated ``mlflow server`` (tests/conftest.py), which stands in for DagsHub.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from automlops.config import Settings
from automlops.core.fit import Artifact
from automlops.errors import ConfigError, NotFoundError, TrackingError
from automlops.mlops.registry import STORE_VERSION_TAG, ModelRegistry, register_saved
from automlops.mlops.store import ModelStore, StoredModel
from automlops.mlops.tracking import Tracker
from tests.servers import AuthServer

SHA = "5e" * 32


@pytest.fixture(scope="module")
def iris_model() -> LogisticRegression:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=300).fit(X, y)


@pytest.fixture
def local(home: Path, empty_db: Path) -> Settings:
    shutil.copy(empty_db, home / "mlflow.db")
    return Settings(register_models=False)  # the tests register explicitly


def _save(store: ModelStore, model: object, **meta: object) -> StoredModel:
    base = {"task": "classification", "dataset": {"name": "iris", "version": 2, "sha256": SHA}}
    return store.save("iris", Artifact("tabular", model, {**base, **meta}))


@pytest.fixture
def three(local: Settings, iris_model: LogisticRegression) -> ModelRegistry:
    """iris v1..v3 saved and registered."""
    store = ModelStore(settings=local)
    for _ in range(3):
        _save(store, iris_model)
    registry = ModelRegistry(settings=local)
    assert [rv.version for rv in registry.sync(store)] == [1, 2, 3]
    return registry


def test_register_is_idempotent_and_tags_link_the_lineage(local: Settings, iris_model: LogisticRegression) -> None:
    tracker = Tracker(settings=local)
    run_id = tracker.start_run("iris-train")
    store = ModelStore(settings=local)
    first = _save(store, iris_model, run_id=run_id)
    child = _save(store, iris_model, parent="iris@v1")
    registry = ModelRegistry(tracker)
    rv = registry.register(first)
    assert registry.register(first) == rv  # registering again changes nothing
    assert (rv.version, rv.run_id, rv.dataset, rv.dataset_version, rv.dataset_sha256) == (1, run_id, "iris", 2, SHA)
    assert registry.register(child).parent == "iris@v1"
    assert [v.version for v in registry.versions("iris")] == [1, 2]
    client = tracker.client
    versions = {int(mv.tags[STORE_VERSION_TAG]): mv for mv in client.search_model_versions("name='iris'")}
    assert len(versions) == 2
    assert versions[1].source == f"runs:/{run_id}/model" and versions[1].run_id == run_id
    assert versions[2].source == child.path.resolve().as_uri()  # no run: the version folder
    assert versions[2].tags["automlops.parent"] == "iris@v1" and versions[2].tags["automlops.dataset_sha256"] == SHA
    assert [t.action for t in registry.history("iris")] == ["register", "register"]


def test_stages_move_and_the_history_says_who_when_why(three: ModelRegistry) -> None:
    r = three
    t = r.promote("iris", 1, "staging", reason="looks good", who="ada")
    assert (t.action, t.stage, t.previous_version, t.who, t.reason) == ("promote", "staging", None, "ada", "looks good")
    r.promote("iris", 1, "production", who="ada")
    assert r.version_at("iris", "production") == 1 and r.version_at("iris", "staging") is None  # it moved
    r.promote("iris", 2, "staging", who="bob")
    assert r.promote("iris", 2, "production", reason="better AUC", who="bob").previous_version == 1
    assert (r.stage_of("iris", 1), r.stage_of("iris", 2), r.stage_of("iris", 3)) == (None, "production", None)
    back = r.rollback("iris", reason="latency", who="carol")
    assert (back.version, back.previous_version, back.action) == (1, 2, "rollback")
    assert r.version_at("iris", "production") == 1
    demoted = r.demote("iris", "production", reason="incident", who="dan")
    assert demoted.version == 1 and r.version_at("iris", "production") is None
    archived = r.archive("iris", 3, reason="never used", who="eve")
    assert archived.action == "archive" and r.stage_of("iris", 3) == "archived"
    history = [(t.action, t.version, t.stage, t.who) for t in r.history("iris") if t.action != "register"]
    assert history == [("promote", 1, "staging", "ada"), ("promote", 1, "production", "ada"),
                       ("promote", 2, "staging", "bob"), ("promote", 2, "production", "bob"),
                       ("rollback", 1, "production", "carol"), ("demote", 1, "production", "dan"),
                       ("archive", 3, None, "eve")]
    assert all(t.when.endswith("+00:00") for t in r.history("iris"))


def test_rollback_after_a_demotion_skips_archived_versions(three: ModelRegistry) -> None:
    r = three
    for version in (1, 2, 3):
        r.promote("iris", version, "production", who="ci")
    r.archive("iris", 2, reason="bad data")  # v2 may never serve again
    assert r.rollback("iris").version == 1  # v3 -> (v2 archived) -> v1
    r.demote("iris", "production")
    assert r.rollback("iris").version == 1  # a demotion undone
    with pytest.raises(ConfigError, match="nothing to roll back to"):
        r.rollback("iris")


def test_bad_input_is_a_clear_error(three: ModelRegistry) -> None:
    r = three
    with pytest.raises(NotFoundError, match="iris@v9 is not registered"):
        r.promote("iris", 9, "production")
    with pytest.raises(NotFoundError, match="no registered model named 'nope'"):
        r.promote("nope", 1, "production")
    with pytest.raises(ConfigError, match="unknown stage 'prod'"):
        r.promote("iris", 1, "prod")
    r.archive("iris", 1)
    with pytest.raises(ConfigError, match="iris@v1 is archived"):
        r.promote("iris", 1, "staging")
    with pytest.raises(ConfigError, match="no version of 'iris' is in staging"):
        r.demote("iris", "staging")
    with pytest.raises(ConfigError, match="nothing to roll back to"):
        r.rollback("iris", "staging")
    assert r.version_at("iris", "staging") is None  # nothing half-done


def test_register_saved_never_loses_the_model(home: Path, iris_model: LogisticRegression) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(tracking_uri=dead, tracking_username="ada", tracking_password="pa55-w0rd-secret")
    stored = _save(ModelStore(settings=settings), iris_model)
    note = register_saved(stored, settings=settings)
    assert note is not None and "saved locally as iris@v1" in note and dead.removeprefix("http://") in note
    assert "pa55-w0rd-secret" not in note and "models register iris" in note
    assert stored.path.is_dir()


def test_register_saved_registers_into_the_home_registry(local: Settings, iris_model: LogisticRegression) -> None:
    settings = Settings()  # register_models on (the default)
    stored = _save(ModelStore(settings=settings), iris_model)
    assert register_saved(stored, settings=settings) is None
    assert [rv.version for rv in ModelRegistry(settings=settings).versions("iris")] == [1]
    elsewhere = ModelStore(local.home / "elsewhere").save("iris", Artifact("tabular", iris_model, {}))
    assert register_saved(elsewhere, settings=settings) is None  # a store outside the home is not registered
    assert len(ModelRegistry(settings=settings).versions("iris")) == 1


@pytest.mark.integration
def test_the_registry_works_against_an_authenticated_server(
        home: Path, iris_model: LogisticRegression, mlflow_auth_server: AuthServer) -> None:
    server = mlflow_auth_server
    settings = Settings(tracking_uri=server.uri, tracking_username=server.username,
                        tracking_password=server.password, register_models=False)
    store = ModelStore(settings=settings)
    name = f"remote_{home.parent.name[-12:]}".replace(".", "_")
    run_id = Tracker(settings=settings).start_run("remote-train")
    for meta in ({"run_id": run_id}, {}):  # one tracked on the server (source runs:/), one not
        store.save(name, Artifact("tabular", iris_model, {"dataset": {"name": "iris", "version": 1, "sha256": SHA},
                                                          **meta}))
    registry = ModelRegistry(settings=settings)
    assert [(rv.version, rv.run_id) for rv in registry.sync(store, name)] == [(1, run_id), (2, None)]
    registry.promote(name, 1, "production", reason="first")
    registry.promote(name, 2, "production", reason="second")
    assert registry.rollback(name).version == 1
    history = registry.history(name)
    assert [t.action for t in history][-3:] == ["promote", "promote", "rollback"]
    assert history[-1].who == server.username  # who defaults to the tracking user on a server

    wrong = Settings(tracking_uri=server.uri, tracking_username=server.username, tracking_password="wrong-pw-123")
    with pytest.raises(TrackingError) as refused:
        ModelRegistry(settings=wrong).versions(name)
    assert "refused the credentials" in str(refused.value) and "wrong-pw-123" not in str(refused.value)


def test_a_server_that_is_down_is_one_clear_error_without_the_password(home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(tracking_uri=f"http://ada:s3cr3t-pw@127.0.0.1:{port}", tracking_username="ada",
                        tracking_password="s3cr3t-pw")
    with pytest.raises(TrackingError) as down:
        ModelRegistry(settings=settings).promote("iris", 1, "production")
    message = str(down.value)
    assert f"127.0.0.1:{port}" in message and "s3cr3t-pw" not in message
