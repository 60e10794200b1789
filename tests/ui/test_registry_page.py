"""AppTest of the Models page's registry section: promote with a reason, roll back, archive, and the history.

Real parts: a model trained by the AutoML runner, the signed ModelStore and the MLflow registry
of the studio home (SQLite).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from automlops.mlops.registry import ModelRegistry
from automlops.mlops.store import ModelStore
from tests.ui.helpers import assert_clean, new_app, open_page, texts


@pytest.fixture
def flowers(ui_home: Path, empty_db: Path) -> ModelStore:
    """flowers v1 (trained and registered by save_model) and v2 (saved, not registered yet)."""
    from sklearn.datasets import load_iris

    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    shutil.copy(empty_db, ui_home / "mlflow.db")
    store = ModelStore(ui_home / "models")
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1,
                          validation="holdout").fit(load_iris(as_frame=True).frame)
    save_model(runner.result_, store, "flowers")
    save_model(runner.result_, store, "flowers", register=False)
    return store


def _history(at) -> list[dict]:  # type: ignore[no-untyped-def]
    """The transition history table (newest first)."""
    tables = [d.value for d in at.dataframe if {"who", "when", "why"} <= set(d.value.columns)]
    assert len(tables) == 1, [list(d.value.columns) for d in at.dataframe]
    return tables[0].to_dict(orient="records")


def test_promote_roll_back_and_archive_from_the_models_page(flowers: ModelStore) -> None:
    at = open_page(new_app(), "models")
    assert_clean(at)
    assert at.selectbox(key="models_pick").value == "flowers@v2"
    assert any("flowers@v2" in t and "not registered yet" in t for t in texts(at.markdown))
    at.selectbox(key="models_pick").set_value("flowers@v1").run()
    assert any("flowers@v1" in t and "registered, no stage" in t for t in texts(at.markdown))
    at.text_input(key="registry_reason").set_value("first champion").run()
    at.button(key="registry_production").click().run()
    assert_clean(at)
    assert any("flowers@v1 is now in production" in t for t in texts(at.success)), texts(at.error)
    assert any("production" in t for t in texts(at.markdown) if "flowers@v1" in t)
    assert _history(at)[0]["action"] == "promote" and _history(at)[0]["why"] == "first champion"

    at.selectbox(key="models_pick").set_value("flowers@v2").run()  # registered by the first action
    assert any("flowers@v2" in t and "registered, no stage" in t for t in texts(at.markdown))
    at.text_input(key="registry_reason").set_value("retrained").run()
    at.button(key="registry_production").click().run()
    assert_clean(at)
    assert any("flowers@v2 is now in production (was v1)" in t for t in texts(at.success)), texts(at.error)
    at.text_input(key="registry_reason").set_value("v2 misbehaves").run()
    at.button(key="registry_rollback").click().run()
    assert any("production is back on flowers@v1 (was v2)" in t for t in texts(at.success)), texts(at.error)
    latest = _history(at)[0]
    assert (latest["action"], latest["version"], latest["previous"], latest["why"]) == (
        "rollback", "v1", "v2", "v2 misbehaves")
    assert latest["who"] and latest["when"]

    at.button(key="registry_archive").click().run()
    assert_clean(at)
    assert at.button(key="registry_production").disabled  # an archived version is never promoted again
    registry = ModelRegistry()  # the home's registry
    assert registry.stage_of("flowers", 2) == "archived" and registry.version_at("flowers", "production") == 1


def test_a_registry_that_is_down_is_an_error_box_not_a_crash(flowers: ModelStore,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    at = open_page(new_app(), "models")
    assert_clean(at)
    said = texts(at.error) + texts(at.warning)  # an error box, or a warning when the sidebar probe already knew
    assert any(f"127.0.0.1:{port}" in t and "not available" in t for t in said), said
    assert at.selectbox(key="models_pick").value == "flowers@v2"  # the rest of the page still works
