"""One skops serialisation per model, shared by the MLflow model folder and the model store."""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
import pytest
import skops.io
from lightgbm import LGBMClassifier
from sklearn.datasets import load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from automlops.config import Settings
from automlops.core.fit import Artifact
from automlops.mlops import skops_snapshot as snapshots
from automlops.mlops._model_logging import write_sklearn_model_folder
from automlops.mlops.store import ModelStore


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.Series]:
    return load_wine(return_X_y=True, as_frame=True)


@pytest.fixture()
def model(wine: tuple[pd.DataFrame, pd.Series]) -> object:
    X, y = wine
    return make_pipeline(StandardScaler(), LGBMClassifier(n_estimators=20, verbose=-1)).fit(X, y)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_mlflow_folder_and_store_share_one_serialisation(model: object, wine, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    X, _ = wine
    dumps: list[object] = []
    real_dump = snapshots._dump_to_file
    monkeypatch.setattr(snapshots, "_dump_to_file", lambda obj, *a: (dumps.append(obj), real_dump(obj, *a))[1])

    folder = tmp_path / "mlflow-model"
    assert write_sklearn_model_folder(model, folder, input_example=X.head(5)) == "skops"
    store = ModelStore(root=tmp_path / "models", settings=Settings(home=tmp_path))
    stored = store.save("wine", Artifact(kind="sklearn", obj=model))  # the format the trainer uses

    assert stored.meta["model_format"] == "skops"
    assert len(dumps) == 1  # serialised once, copied twice
    assert _sha(folder / "model.skops") == _sha(stored.path / stored.meta["model_file"])
    # both copies load with their own readers and predict like the original
    expected = model.predict(X)
    assert (mlflow.sklearn.load_model(str(folder)).predict(X) == expected).all()
    assert (mlflow.pyfunc.load_model(str(folder)).predict(X) == expected).all()
    assert (store.load("wine", stored.version).model.predict(X) == expected).all()
    requirements = (folder / "requirements.txt").read_text().split()
    assert any(r.startswith("mlflow==") for r in requirements) and any(r.startswith("lightgbm==") for r in requirements)


def test_snapshot_file_goes_with_its_model(wine) -> None:
    X, y = wine
    model = make_pipeline(StandardScaler(), LGBMClassifier(n_estimators=5, verbose=-1)).fit(X, y)
    snapshot = snapshots.skops_snapshot(model)
    assert snapshots.skops_snapshot(model) is snapshot and snapshot.path.is_file()
    assert any(t.startswith("lightgbm.") for t in snapshot.untrusted_types)
    del model
    gc.collect()
    assert not snapshot.path.exists()  # the temporary file is removed with the model


def test_the_streamed_file_is_what_skops_itself_reads(model: object, wine, tmp_path: Path) -> None:
    """The zip is written straight to disk (not through skops's in-memory buffer), in skops's format."""
    X, _ = wine
    path = tmp_path / "model.skops"
    snapshots._dump_to_file(model, path)
    untrusted = skops.io.get_untrusted_types(file=path)
    assert (skops.io.load(path, trusted=untrusted).predict(X) == model.predict(X)).all()


def test_an_array_shared_by_two_parts_of_a_model_is_written_once(wine, tmp_path: Path) -> None:
    """skops asks the zip for the names written so far before writing each array (our zip answers from
    its index, not a fresh list of every name: a model of thousands of trees saves in linear time);
    an array that two attributes share is still written once and comes back shared."""
    import zipfile

    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = wine
    model = HistGradientBoostingClassifier(max_iter=30, early_stopping=False).fit(X, y)
    shared = np.arange(1000.0)
    model.shared_a_, model.shared_b_ = shared, shared
    path = tmp_path / "model.skops"
    snapshots._dump_to_file(model, path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert len(names) == len(set(names))  # no name written twice
    trees = model.n_iter_ * model.n_trees_per_iteration_
    assert len([n for n in names if n.endswith(".npy")]) >= 3 * trees  # every tree's arrays are there
    loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert loaded.shared_a_ is loaded.shared_b_
    assert (loaded.predict_proba(X) == model.predict_proba(X)).all()


def test_an_estimator_an_ensemble_holds_twice_is_written_once_and_comes_back_shared(wine, tmp_path: Path) -> None:
    """A fitted VotingClassifier keeps each member in estimators_ and named_estimators_, and a prefit
    TemperatureScaled keeps its model as estimator and estimator_: skops would write each forest and
    each booster three or four times. Later mentions are written as references (skops's CachedNode)."""
    import json
    import zipfile

    from sklearn.ensemble import ExtraTreesClassifier, VotingClassifier

    from automlops.tabular.calibration import TemperatureScaled

    X, y = wine
    forest = ExtraTreesClassifier(n_estimators=60, random_state=0)
    booster = make_pipeline(StandardScaler(), LGBMClassifier(n_estimators=20, verbose=-1))
    vote = VotingClassifier([("forest", forest), ("booster", booster)], voting="soft").fit(X, y)
    model = TemperatureScaled.prefit(vote, 0.8)
    assert model.estimator_ is model.estimator  # the layout this test is about

    path = tmp_path / "model.skops"
    snapshots._dump_to_file(model, path)
    with zipfile.ZipFile(path) as archive:
        schema = archive.read("schema.json").decode()
    assert schema.count('"TreeNode"') == 60  # each fitted tree's nodes once
    assert json.loads(schema)["content"]["content"]["estimator_"]["__loader__"] == "CachedNode"

    plain = tmp_path / "plain.skops"
    skops.io.dump(model, plain)
    with zipfile.ZipFile(plain) as archive:
        assert archive.read("schema.json").decode().count('"TreeNode"') == 4 * 60  # what skops itself writes
    untrusted = skops.io.get_untrusted_types(file=path)
    assert sorted(untrusted) == sorted(skops.io.get_untrusted_types(file=plain))
    loaded = skops.io.load(path, trusted=untrusted)
    assert loaded.estimator_ is loaded.estimator
    assert loaded.estimator_.named_estimators_["forest"] is loaded.estimator_.estimators_[0]
    assert (loaded.predict_proba(X) == model.predict_proba(X)).all()


def test_forget_makes_the_next_save_serialise_again(model: object) -> None:
    first = snapshots.skops_snapshot(model)
    snapshots.forget(model)
    assert not first.path.exists()
    second = snapshots.skops_snapshot(model)
    assert second is not first and second.path.is_file()


def test_a_model_collected_during_another_snapshot_does_not_deadlock(wine) -> None:
    """The snapshot collects garbage while it holds its lock: a dead model's clean-up runs then."""
    import threading

    X, y = wine
    old = make_pipeline(StandardScaler(), LGBMClassifier(n_estimators=5, verbose=-1)).fit(X, y)
    old_file = snapshots.skops_snapshot(old).path
    cycle: list[object] = [old]
    cycle.append(cycle)  # only the garbage collector can free it now
    del old, cycle
    new = make_pipeline(StandardScaler(), LGBMClassifier(n_estimators=5, verbose=-1)).fit(X, y)
    worker = threading.Thread(target=snapshots.skops_snapshot, args=(new,), daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive() and not old_file.exists()


def test_release_all_deletes_the_files_of_models_still_alive(model: object) -> None:
    """What a process ending with ``os._exit`` (no finalizers) calls first."""
    path = snapshots.skops_snapshot(model).path
    assert path.is_file() and path.parent.name.startswith(f"automlops-skops-{os.getpid()}-")
    snapshots.release_all()
    assert not path.parent.exists()
    assert snapshots.skops_snapshot(model).path.is_file()  # a later save serialises again


def test_files_of_processes_that_no_longer_run_are_swept_by_the_next_snapshot(
        model: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed training (a cancelled dashboard job past its grace) cannot clean up after itself."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(snapshots, "_orphans_swept", False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folders = {name: tmp_path / f"automlops-skops-{name}" for name in
               (f"{dead.pid}-abc", f"{os.getppid()}-def", "old_legacy", "new_legacy")}
    for folder in folders.values():
        folder.mkdir()
        (folder / "model.skops").write_bytes(b"zip")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(folders["old_legacy"], (two_days_ago, two_days_ago))
    unrelated = tmp_path / "automlops-upload-1"
    unrelated.mkdir()

    snapshot = snapshots.skops_snapshot(model)

    assert snapshot.path.parent.parent == tmp_path
    assert not folders[f"{dead.pid}-abc"].exists() and not folders["old_legacy"].exists()
    assert folders[f"{os.getppid()}-def"].exists() and folders["new_legacy"].exists() and unrelated.exists()
    snapshots.forget(model)
