"""Uploading a model: skops through the allow-list, pickles only when trusted, validated before saving.

Real models (a scikit-learn pipeline fitted on the lake's iris), real files (skops, joblib,
pickle), a real store and a real MLflow SQLite store. Every refusal also checks that
``models/`` did not change.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import log_loss

from automlops.config import Settings
from automlops.errors import AutoMLOpsError, ConfigError, DataError, ModelError
from automlops.mlops.store import ModelStore
from automlops.mlops.tracking import Tracker
from automlops.tabular.upload import SCORE_NOTE, import_model
from tests.sources_kit import TARGET, OpensAFile, Shifter, fit_logistic, iris_lake, tree, write_model


@pytest.fixture
def lab(settings: Settings, empty_db: Path, tmp_path: Path) -> tuple[Settings, object, Path]:
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    lake, _ = iris_lake(settings)
    files = tmp_path / "files"
    files.mkdir()
    return settings, lake, files


def _import(settings: Settings, path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    options = {"name": "mine", "dataset": "iris", "dataset_version": None, "target": TARGET, "settings": settings,
               "tracking": False, **kwargs}
    return import_model(path, **options)  # type: ignore[arg-type]


def test_a_skops_model_is_validated_scored_tracked_and_saved(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, files = lab
    frame = lake.load("iris", 1)
    model = fit_logistic(frame)
    stored = _import(settings, write_model(model, files, "flowers.skops"), tracking=True,
                     tracker=Tracker(settings=settings))
    meta = stored.meta
    assert (stored.ref, meta["source"], meta["origin_filename"], meta["kind"]) == ("mine@v1", "upload",
                                                                                   "flowers.skops", "tabular")
    assert meta["model_format"] == "skops" and meta["task"] == "classification" and meta["metric"] == "log_loss"
    expected = log_loss(frame[TARGET], model.predict_proba(frame.drop(columns=TARGET)), labels=model.classes_)
    assert meta["test_score"] == pytest.approx(expected)
    assert meta["score_note"] == SCORE_NOTE and SCORE_NOTE in meta["decisions"][-1]
    assert meta["input_columns"] == list(frame.columns.drop(TARGET))
    assert [f["name"] for f in meta["feature_schema"]["features"]] == meta["input_columns"]
    assert meta["dataset"]["name"] == "iris" and meta["dataset"]["version"] == 1 and meta["classes"] == list(
        model.classes_)
    run = Tracker(settings=settings).client.get_run(meta["run_id"])
    assert run.data.tags["source"] == "upload" and run.data.params["origin_filename"] == "flowers.skops"
    loaded = ModelStore(settings=settings).load("mine")
    assert np.array_equal(loaded.model.predict(frame.drop(columns=TARGET)), model.predict(frame.drop(columns=TARGET)))
    from automlops.serving.validation import FeatureSchema

    assert FeatureSchema.from_meta(meta).columns == tuple(meta["input_columns"])  # the API can serve it


def test_a_type_outside_the_allow_list_is_refused_by_name(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, files = lab
    model = fit_logistic(lake.load("iris", 1), extra=Shifter())
    with pytest.raises(ModelError, match=r"outside the studio's allow-list: tests\.sources_kit\.Shifter"):
        _import(settings, write_model(model, files, "custom.skops"))
    assert tree(settings.models_dir) == []


def test_a_pickle_needs_trust(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, files = lab
    marker = files / "code-ran"
    for filename in ("model.joblib", "model.pkl"):
        path = write_model(OpensAFile(marker), files, filename)
        with pytest.raises(ConfigError, match="a pickle is code.*--trust-pickle"):
            _import(settings, path)
    assert not marker.exists()  # the file was never unpickled
    assert tree(settings.models_dir) == []


@pytest.mark.parametrize("filename", ["model.joblib", "model.pkl"])
def test_a_trusted_pickle_is_validated_and_stored_as_skops(lab, filename: str) -> None:  # type: ignore[no-untyped-def]
    settings, lake, files = lab
    model = fit_logistic(lake.load("iris", 1))
    stored = _import(settings, write_model(model, files, filename), trust_pickle=True)
    assert stored.meta["model_format"] == "skops" and stored.meta["origin_filename"] == filename
    assert ModelStore(settings=settings).load("mine").model.predict(lake.load("iris", 1).drop(columns=TARGET)).size


def test_a_trusted_pickle_with_an_unknown_type_is_still_not_stored(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, files = lab
    model = fit_logistic(lake.load("iris", 1), extra=Shifter())
    with pytest.raises(ModelError, match=r"allow-list: tests\.sources_kit\.Shifter"):
        _import(settings, write_model(model, files, "custom.joblib"), trust_pickle=True)
    assert tree(settings.models_dir) == []


def test_columns_the_dataset_lacks_are_named(lab) -> None:  # type: ignore[no-untyped-def]
    settings, lake, files = lab
    frame = lake.load("iris", 1).rename(columns={"petal width (cm)": "petal_w", "sepal width (cm)": "sepal_w"})
    path = write_model(fit_logistic(frame), files, "renamed.skops")
    with pytest.raises(DataError, match="lacks column.*petal_w") as caught:
        _import(settings, path)
    assert "sepal_w" in str(caught.value)
    with pytest.raises(DataError, match="target column 'species' is not in the dataset"):
        _import(settings, path, target="species")
    assert tree(settings.models_dir) == []


def _zip_without_schema() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model.bin", b"\x00" * 10)
    return buffer.getvalue()


def _skops_of_a_dict() -> bytes:
    import skops.io

    return skops.io.dumps({"weights": [1.0, 2.0]})


NOT_MODELS = {
    "random.skops": (lambda: np.random.default_rng(0).bytes(2048), "not a skops file"),
    "random.pkl": (lambda: np.random.default_rng(1).bytes(2048), "not a readable pickle"),
    "table.pkl": (lambda: b"a,b,target\n1,2,x\n3,4,y\n", "not a readable pickle"),
    "archive.skops": (_zip_without_schema, "not a skops model"),
    "model.onnx": (lambda: b"\x08\x07\x12\x04onnx", "not a model format the studio reads"),
    "weights.skops": (_skops_of_a_dict, "cannot predict: it is not a model"),
}


@pytest.mark.parametrize("filename", list(NOT_MODELS))
def test_what_is_not_a_model_is_refused(lab, filename: str) -> None:  # type: ignore[no-untyped-def]
    settings, _, files = lab
    make, message = NOT_MODELS[filename]
    path = files / filename
    path.write_bytes(make())
    with pytest.raises(AutoMLOpsError, match=message):
        _import(settings, path, trust_pickle=True)
    assert tree(settings.models_dir) == []


def test_a_file_over_the_upload_limit_is_refused(lab, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    settings, lake, files = lab
    path = write_model(fit_logistic(lake.load("iris", 1)), files, "big.skops")
    small = Settings(max_upload_mb=path.stat().st_size / 2 / 2**20)
    with pytest.raises(ModelError, match="upload limit"):
        _import(small, path)
    assert tree(settings.models_dir) == []


@pytest.mark.slow  # ~6 s: the serving stack's imports
def test_an_uploaded_model_is_served_by_the_api(lab) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from automlops.serving.app import create_app

    settings, lake, files = lab
    frame = lake.load("iris", 1)
    _import(settings, write_model(fit_logistic(frame), files, "flowers.skops"))
    key = "upload-test-key-0123456789"
    served = Settings(_env_file=None, AUTOMLOPS_HOME=str(settings.home), API_KEY=key,  # type: ignore[call-arg]
                      MODEL_NAME="mine")
    rows = frame.drop(columns=TARGET).head(3).to_dict(orient="records")
    with TestClient(create_app(served)) as client:
        answer = client.post("/predict", json={"records": rows}, headers={"x-api-key": key})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == list(frame[TARGET].head(3))
        assert client.get("/model", headers={"x-api-key": key}).json()["name"] == "mine"
