"""The Train page's model sources: retrain from the registry, and upload a model (AppTest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from tests.sources_kit import fit_logistic, newer_iris, studio_model, tree, write_model
from tests.ui.helpers import assert_clean, new_app, open_page, texts


@pytest.fixture
def tracked(ui_home: Path, empty_db: Path) -> Path:
    shutil.copyfile(empty_db, ui_home / "mlflow.db")
    return ui_home


def test_the_sources_are_offered(tracked: Path, iris_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    assert at.radio(key="train_source").options == ["AutoML search", "From the registry", "Upload a model"]
    at.radio(key="train_source").set_value("registry").run()
    assert_clean(at)
    assert any("No saved classification or regression model yet" in t for t in texts(at.info))
    assert not any("issue" in t.lower() for t in texts(at.caption) + texts(at.markdown))


def test_retrain_from_the_registry(tracked: Path, settings: Settings, iris_lake: DataLake) -> None:
    from automlops.mlops.registry import ModelRegistry
    from automlops.mlops.tracking import Tracker

    studio_model(settings, iris_lake, iris_lake.get_version("iris", 1))
    registry = ModelRegistry(Tracker(settings=settings))
    registry.sync(ModelStore(settings=settings), "iris")
    registry.promote("iris", 1, "staging", reason="the first one")
    second = newer_iris(iris_lake)
    at = open_page(new_app(), "train")
    at.radio(key="train_source").set_value("registry").run()
    assert at.selectbox(key="retrain_ref").value == "iris@v1"
    assert at.selectbox(key="retrain_ref").options[0].startswith("iris@v1 (staging) · logistic")
    at.selectbox(key="retrain_version_iris").set_value(iris_lake.get_version("iris", second.version)).run()
    at.button(key="retrain_start").click().run()
    assert_clean(at)
    assert any("Saved **iris@v2** (parent iris@v1)" in t for t in texts(at.success)), texts(at.error)
    meta = ModelStore(settings=settings).load("iris@v2").meta
    assert meta["parent"] == "iris@v1" and meta["dataset"]["version"] == second.version


def test_upload_a_skops_model(tracked: Path, settings: Settings, iris_lake: DataLake, tmp_path: Path) -> None:
    path = write_model(fit_logistic(iris_lake.load("iris", 1)), tmp_path, "flowers.skops")
    at = open_page(new_app(), "train")
    at.radio(key="train_source").set_value("upload").run()
    at.file_uploader(key="upload_file").upload("flowers.skops", path.read_bytes(), "application/zip").run()
    assert "upload_trust" not in [c.key for c in at.checkbox]  # a skops file needs no trust
    assert at.text_input(key="upload_name_flowers").value == "flowers"
    at.button(key="upload_start").click().run()
    assert_clean(at)
    assert any("Saved **flowers@v1**" in t and "not an untouched test set" in t for t in texts(at.success)), \
        texts(at.error)
    assert ModelStore(settings=settings).load("flowers").meta["source"] == "upload"


def test_a_pickle_waits_for_trust(tracked: Path, settings: Settings, iris_lake: DataLake, tmp_path: Path) -> None:
    path = write_model(fit_logistic(iris_lake.load("iris", 1)), tmp_path, "flowers.joblib")
    at = open_page(new_app(), "train")
    at.radio(key="train_source").set_value("upload").run()
    at.file_uploader(key="upload_file").upload("flowers.joblib", path.read_bytes(), "application/octet-stream").run()
    assert any("A pickle is code" in t for t in texts(at.warning))
    at.button(key="upload_start").click().run()
    assert any("a pickle is code" in t for t in texts(at.error))
    assert tree(settings.models_dir) == []
    at.checkbox(key="upload_trust").check().run()
    at.button(key="upload_start").click().run()
    assert_clean(at)
    assert any("Saved **flowers@v1**" in t for t in texts(at.success)), texts(at.error)
