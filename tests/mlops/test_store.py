"""ModelStore: write-once signed versions, signature and SHA-256 checked before loading, safe under concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from automlops.config import Settings
from automlops.core.fit import Artifact
from automlops.errors import IntegrityError, ModelError, NotFoundError
from automlops.mlops._atomic import TMP_PREFIX, sha256_file
from automlops.mlops.formats import FORMATS
from automlops.mlops.store import ModelStore, parse_model_ref


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def pipeline(data: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    X, y = data
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


@pytest.fixture
def store(settings: Settings) -> ModelStore:
    return ModelStore(settings=settings)


META = {"task": "binary", "target": "target", "metrics": {"roc_auc": 0.99}, "features": ["a", "b"]}


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def _edit_meta(store: ModelStore, folder: Path, *, drop: tuple[str, ...] = (), **changes: object) -> None:
    """Change a version's meta.json and sign it again with the store's key (a studio-made version)."""
    meta_file = folder / "meta.json"
    meta = {k: v for k, v in json.loads(meta_file.read_text()).items() if k not in drop}
    meta_file.write_text(json.dumps(store.signer.signed({**meta, **changes})))


def test_round_trip_predicts_identically(store: ModelStore, pipeline: Pipeline, data) -> None:
    X, _ = data
    saved = store.save("cancer", Artifact("tabular", pipeline, META))
    assert (saved.name, saved.version) == ("cancer", 1)
    assert saved.path == store.root / "cancer" / "v0001"
    assert sorted(os.listdir(saved.path)) == ["meta.json", "model.skops"]  # scikit-learn → skops

    loaded = store.load("cancer")
    assert type(loaded.model) is Pipeline
    assert (loaded.model.predict_proba(X) == pipeline.predict_proba(X)).all()
    meta = loaded.meta
    assert meta["task"] == "binary" and meta["metrics"] == {"roc_auc": 0.99}
    assert (meta["name"], meta["version"], meta["model_file"], meta["model_format"]) == (
        "cancer", 1, "model.skops", "skops")
    assert meta["model_bytes"] == (saved.path / "model.skops").stat().st_size
    assert len(meta["model_sha256"]) == 64 and "format_note" not in meta
    assert meta["signature"].startswith("hmac-sha256:") and store.signer.is_signed(meta)
    assert {"python", "sklearn", "numpy", "pandas", "automlops", "skops"} <= set(meta["libraries"])
    assert store.verify("cancer", 1)


def test_a_bare_object_is_saved_with_joblib_as_before(store: ModelStore, pipeline: Pipeline, data) -> None:
    saved = store.save("cancer", pipeline, META)  # the older call style: callers may expect model.joblib
    assert sorted(os.listdir(saved.path)) == ["meta.json", "model.joblib"]
    assert (saved.meta["model_format"], saved.meta["model_file"]) == ("joblib", "model.joblib")
    assert "kind" not in saved.meta and "skops" not in saved.meta["libraries"]
    assert (store.load("cancer").model.predict(data[0]) == pipeline.predict(data[0])).all()
    assert store.save("cancer", pipeline, META, format="skops").meta["model_format"] == "skops"


def test_objects_skops_is_not_meant_for_are_saved_with_joblib(store: ModelStore) -> None:
    saved = store.save("plain", Artifact("tabular", {"weights": [1, 2, 3]}, {"task": "test"}))
    assert sorted(os.listdir(saved.path)) == ["meta.json", "model.joblib"]
    assert (saved.meta["model_format"], saved.meta["model_file"]) == ("joblib", "model.joblib")
    assert "format_note" not in saved.meta and "skops" not in saved.meta["libraries"]  # skops never applied
    assert store.load("plain").model == {"weights": [1, 2, 3]}


def _outsider(X: pd.DataFrame) -> pd.DataFrame:  # a function of this test module: outside the allow-list
    return X


def test_skops_falls_back_to_joblib_and_says_why(store: ModelStore, data) -> None:
    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    pipe = make_pipeline(FunctionTransformer(_outsider), StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    saved = store.save("custom", Artifact("tabular", pipe, META))
    assert saved.meta["model_format"] == "joblib" and sorted(os.listdir(saved.path)) == ["meta.json", "model.joblib"]
    note = saved.meta["format_note"]
    assert note.startswith("skops:") and f"{__name__}._outsider" in note and note.endswith("saved with joblib instead")
    assert (store.load("custom").model.predict(X) == pipe.predict(X)).all()


def test_an_old_version_without_model_format_still_loads(store: ModelStore, pipeline: Pipeline, data) -> None:
    saved = store.save("cancer", pipeline, META, format="joblib")
    _edit_meta(store, saved.path, drop=("model_format",))  # what versions written before formats look like
    loaded = store.load("cancer")
    assert "model_format" not in loaded.meta
    assert (loaded.model.predict(data[0]) == pipeline.predict(data[0])).all()


def test_an_artifact_records_its_kind_and_format(store: ModelStore, pipeline: Pipeline) -> None:
    artifact = Artifact("tabular", pipeline, {"task": "classification", "kind": "ignored"})
    saved = store.save("art", artifact, {"run_id": "abc"})
    assert (saved.meta["kind"], saved.meta["model_format"]) == ("tabular", "skops")
    assert (saved.meta["task"], saved.meta["run_id"]) == ("classification", "abc")
    forced = store.save("art", Artifact("tabular", pipeline, {"task": "classification"}, format="joblib"))
    assert (forced.meta["model_format"], forced.meta["model_file"]) == ("joblib", "model.joblib")
    assert isinstance(store.load("art", forced.version).model, Pipeline)


def test_asking_for_a_format_that_cannot_save_the_object_is_an_error(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="'skops' format cannot save a dict"):
        store.save("bad", {"a": 1}, META, format="skops")
    with pytest.raises(ModelError, match="unknown model format 'parquet'"):
        store.save("bad", {"a": 1}, META, format="parquet")
    assert [p.name for p in (store.root / "bad").iterdir() if not p.name.startswith(".")] == []


def test_an_unknown_format_in_meta_is_refused(store: ModelStore) -> None:
    saved = store.save("plain", {"a": 1}, META)
    _edit_meta(store, saved.path, model_format="mystery")
    with pytest.raises(ModelError, match="unknown model format 'mystery'"):
        store.load("plain")


def test_versions_increment_and_are_write_once(store: ModelStore, pipeline: Pipeline) -> None:
    first = store.save("cancer", pipeline, META)
    before = _files(first.path)
    second = store.save("cancer", pipeline, {**META, "note": "retrained"})
    assert second.version == 2 and second.path.name == "v0002"
    assert _files(first.path) == before  # v0001 untouched, byte for byte
    assert (store.root / "cancer" / "LATEST").read_text().strip() == "v0002"
    assert store.load("cancer").meta["version"] == 2
    assert store.load("cancer", 1).meta["version"] == 1
    assert [m.version for m in store.versions("cancer")] == [1, 2]


@pytest.mark.parametrize("ref", [1, "1", "v1", "v0001", "cancer@v1"])
def test_version_references(store: ModelStore, pipeline: Pipeline, ref: int | str) -> None:
    store.save("cancer", pipeline, META)
    store.save("cancer", pipeline, META)
    loaded = store.load("cancer@v1") if ref == "cancer@v1" else store.load("cancer", ref)
    assert loaded.version == 1
    assert store.load("cancer", "latest").version == 2


def test_parse_model_ref() -> None:
    assert parse_model_ref("churn@v3") == ("churn", 3)
    assert parse_model_ref("churn@v0012") == ("churn", 12)
    assert parse_model_ref("churn") == ("churn", None)
    assert parse_model_ref("churn@latest") == ("churn", None)
    with pytest.raises(ModelError):
        parse_model_ref("churn@vX")


def test_unknown_names_and_versions_list_what_exists(store: ModelStore, pipeline: Pipeline) -> None:
    store.save("cancer", pipeline, META)
    with pytest.raises(NotFoundError, match="known models: cancer"):
        store.load("nope")
    with pytest.raises(NotFoundError, match="known versions: v1"):
        store.load("cancer", 7)


@pytest.mark.parametrize("name", ["../x", "a/b", "x" * 65, "", "a b", ".hidden", "é", "abc\n", "abc\r", "abc "])
def test_bad_names_are_refused(store: ModelStore, pipeline: Pipeline, name: str) -> None:
    with pytest.raises(ModelError):
        store.save(name, pipeline, META)
    assert list(store.root.iterdir()) == []


def _spy_load(monkeypatch: pytest.MonkeyPatch, fmt: str) -> list[object]:
    calls: list[object] = []
    monkeypatch.setattr(FORMATS.get(fmt), "load", lambda *a, **k: calls.append(a))
    return calls


@pytest.mark.parametrize("fmt", ["skops", "joblib"])
def test_tampered_file_is_refused_before_loading(
    store: ModelStore, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    saved = store.save("cancer", pipeline, META, format=fmt)
    model_file = saved.path / saved.meta["model_file"]
    blob = bytearray(model_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    model_file.write_bytes(bytes(blob))
    calls = _spy_load(monkeypatch, fmt)
    with pytest.raises(IntegrityError, match=re.escape(model_file.name)):
        store.load("cancer")
    assert calls == []  # nothing was loaded
    assert not store.verify("cancer", 1)


@pytest.mark.parametrize("fmt", ["skops", "joblib"])
def test_truncated_file_is_refused(store: ModelStore, pipeline: Pipeline, monkeypatch, fmt: str) -> None:
    saved = store.save("cancer", pipeline, META, format=fmt)
    model_file = saved.path / saved.meta["model_file"]
    model_file.write_bytes(model_file.read_bytes()[:100])
    calls = _spy_load(monkeypatch, fmt)
    with pytest.raises(IntegrityError, match="does not match the SHA-256"):
        store.load("cancer")
    assert calls == []


def test_a_truncated_file_with_a_matching_sha_is_a_load_error(store: ModelStore, pipeline: Pipeline) -> None:
    saved = store.save("cancer", pipeline, META, format="skops")
    model_file = saved.path / "model.skops"
    model_file.write_bytes(model_file.read_bytes()[:200])
    _edit_meta(store, saved.path, model_sha256=sha256_file(model_file), model_bytes=200)
    with pytest.raises(ModelError, match="could not load"):
        store.load("cancer")


def test_missing_model_or_meta_is_a_clear_error(store: ModelStore, pipeline: Pipeline) -> None:
    first = store.save("cancer", pipeline, META)
    second = store.save("cancer", pipeline, META)
    (first.path / "meta.json").unlink()
    with pytest.raises(IntegrityError, match=r"meta\.json is missing"):
        store.load("cancer", 1)
    (second.path / "model.joblib").unlink()
    with pytest.raises(IntegrityError, match="is missing"):
        store.load("cancer", 2)


def test_meta_must_be_json(store: ModelStore, pipeline: Pipeline) -> None:
    with pytest.raises(ModelError, match="JSON"):
        store.save("cancer", pipeline, {"bad": object()})
    assert [p.name for p in (store.root / "cancer").iterdir() if not p.name.startswith(".")] == []


def _save_many(root: str, start: multiprocessing.synchronize.Barrier, count: int) -> None:
    store = ModelStore(Path(root))
    start.wait()
    for i in range(count):
        store.save("race", {"worker": os.getpid(), "i": i}, {"task": "test"})
        ModelStore(Path(root))  # opening a store meanwhile must not clean the other's temp folder


def test_concurrent_saves_get_distinct_versions(store: ModelStore) -> None:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    workers = [ctx.Process(target=_save_many, args=(str(store.root), barrier, 5)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    versions = store.versions("race")
    assert [v.version for v in versions] == list(range(1, 11))
    assert all(store.verify("race", v.version) for v in versions)
    assert len({(v.meta["version"]) for v in versions}) == 10
    assert store.load("race").version == 10  # LATEST only moves forward


def test_latest_overall_picks_the_newest(store: ModelStore, pipeline: Pipeline) -> None:
    assert store.latest_overall() is None
    store.save("alpha", pipeline, META)
    time.sleep(0.01)
    store.save("beta", pipeline, META)
    time.sleep(0.01)
    newest = store.save("alpha", pipeline, META)
    latest = store.latest_overall()
    assert latest is not None and (latest.name, latest.version) == ("alpha", 2) == (newest.name, newest.version)
    assert [m.ref for m in store.list_models()] == ["alpha@v1", "alpha@v2", "beta@v1"]


def test_interrupted_save_is_cleaned_and_never_listed(settings: Settings, pipeline: Pipeline) -> None:
    store = ModelStore(settings=settings)
    store.save("cancer", pipeline, META)
    leftover = store.root / "cancer" / f"{TMP_PREFIX}crashed"
    leftover.mkdir()
    (leftover / "model.joblib").write_bytes(b"half a pickle")
    (leftover / "meta.json").write_text(json.dumps({"version": 2}))
    assert [m.ref for m in store.list_models()] == ["cancer@v1"]
    ModelStore(settings=settings)  # reopening cleans the leftovers
    assert not leftover.exists()
    assert store.save("cancer", pipeline, META).version == 2


def test_default_root_is_settings_models_dir(settings: Settings) -> None:
    assert ModelStore(settings=settings).root == settings.models_dir.resolve()


def test_a_classifier_that_cannot_predict_is_a_model_error_not_a_crash(store: ModelStore, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from automlops.cli import main

    store.save("odd", {"just": "a dict"}, {"task": "classification", "features": ["a"]})
    with pytest.raises(ModelError, match="odd@v1 holds a dict, which cannot predict"):
        store.load("odd")
    (tmp_path / "rows.csv").write_text("a\n1\n")
    assert main(["predict", "--model", "odd", str(tmp_path / "rows.csv")]) == 2
    assert "holds a dict, which cannot predict" in capsys.readouterr().err
