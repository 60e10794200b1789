"""Model formats: skops round-trips through the allow-list, anything else is refused unloaded; torch lazily."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from automlops.config import Settings
from automlops.core.fit import Artifact
from automlops.errors import IntegrityError, ModelError
from automlops.mlops._atomic import sha256_file
from automlops.mlops.formats import ARCHITECTURES, FORMATS, SkopsFormat, outside_allow_list, write_model
from automlops.mlops.store import ModelStore

BUILT: list[str] = []  # a Tally records here whenever one is constructed or restored


class Tally(collections.Counter):  # type: ignore[type-arg]
    """A type outside the allow-list (it lives in a test module), which notices being loaded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        BUILT.append("init")
        super().__init__(*args, **kwargs)

    def __setstate__(self, state: Any) -> None:
        BUILT.append("setstate")


@pytest.fixture
def store(settings: Settings) -> ModelStore:
    return ModelStore(settings=settings)


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def test_registry_order_is_the_preference_order() -> None:
    assert FORMATS.names() == ["skops", "torch-state-dict", "torchscript", "joblib"]
    assert {FORMATS.get(n).file_name for n in FORMATS} == {"model.skops", "model.pt", "model.torchscript.pt",
                                                           "model.joblib"}


def test_the_allow_list() -> None:
    ok = ["sklearn.pipeline.Pipeline", "numpy.dtype", "lightgbm.basic.Booster", "xgboost.core.Booster",
          "scipy.sparse._csr.csr_matrix", "collections.OrderedDict", "automlops.tabular.zoo.LabelEncodedClassifier",
          "builtins.slice", "builtins.frozenset"]
    bad = ["builtins.eval", "builtins.exec", "builtins.open", "os.system", "subprocess.Popen", "sklearnish.Evil",
           "tests.mlops.test_formats.Tally", "numpyx.y"]
    assert outside_allow_list(ok + bad) == bad


def test_a_studio_pipeline_round_trips_through_skops(store: ModelStore, iris) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from automlops.tabular.zoo import LabelEncodedClassifier

    X, y = iris
    labels = y.map({0: "setosa", 1: "versicolor", 2: "virginica"})
    pipe = make_pipeline(StandardScaler(), LabelEncodedClassifier(HistGradientBoostingClassifier(max_iter=10)))
    pipe.fit(X, labels)
    saved = store.save("iris", Artifact("tabular", pipe, {"task": "classification"}))
    assert saved.meta["model_format"] == "skops" and "format_note" not in saved.meta
    loaded = store.load("iris").model
    assert isinstance(loaded, Pipeline) and type(loaded[-1]) is LabelEncodedClassifier
    assert (loaded.predict(X) == pipe.predict(X)).all()
    assert np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_a_type_outside_the_allow_list_is_refused_and_never_built(
    store: ModelStore, iris, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skops.io

    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
    saved = store.save("iris", Artifact("tabular", pipe, {"task": "classification"}))
    # a skops file holding a foreign type, with a matching SHA and even a valid signature (a leaked key,
    # say): the allow-list is a second wall that does not depend on the first
    model_file = saved.path / "model.skops"
    skops.io.dump({"counts": Tally(a=1)}, model_file)
    meta_file = saved.path / "meta.json"
    meta = {**json.loads(meta_file.read_text()), "model_sha256": sha256_file(model_file),
            "model_bytes": model_file.stat().st_size}
    meta_file.write_text(json.dumps(store.signer.signed(meta)))
    BUILT.clear()
    loads: list[Any] = []
    monkeypatch.setattr(skops.io, "load", lambda *a, **k: loads.append(a))
    monkeypatch.setattr(skops.io, "loads", lambda *a, **k: loads.append(a))
    with pytest.raises(IntegrityError, match=r"outside the studio's allow-list: tests\.mlops\.test_formats\.Tally"):
        store.load("iris")
    assert loads == [] and BUILT == []  # skops never started building objects


def test_skops_save_refuses_a_foreign_type_so_the_store_can_fall_back(tmp_path: Path, iris) -> None:
    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
    pipe.tally_ = Tally(seen=3)  # type: ignore[attr-defined]
    with pytest.raises(IntegrityError, match="Tally"):
        SkopsFormat().save(pipe, tmp_path / "model.skops", {})
    fmt, path, notes = write_model(pipe, tmp_path, {})
    assert (fmt.name, path.name) == ("joblib", "model.joblib") and not (tmp_path / "model.skops").exists()
    assert len(notes) == 1 and notes[0].startswith("skops:") and "test_formats.Tally" in notes[0]


def test_torch_formats_are_registered_but_inactive_without_torch() -> None:
    import sys

    if "torch" in sys.modules:
        pytest.skip("torch is imported in this session")
    for name in ("torch-state-dict", "torchscript"):
        assert not FORMATS.get(name).can_save(object())


def test_torch_state_dict_and_torchscript_round_trip(store: ModelStore, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")

    def tiny(width: int = 4) -> Any:
        return torch.nn.Sequential(torch.nn.Linear(width, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))

    monkeypatch.setitem(ARCHITECTURES._entries, "tiny", tiny)  # test-only registration
    net = tiny(5).eval()
    x = torch.randn(7, 5)
    saved = store.save("net", Artifact("vision", net, {"architecture": "tiny", "architecture_params": {"width": 5}}))
    assert (saved.meta["model_format"], saved.meta["model_file"], saved.meta["kind"]) == (
        "torch-state-dict", "model.pt", "vision")
    assert "torch" in saved.meta["libraries"]
    assert torch.equal(store.load("net").model(x), net(x))
    scripted = store.save("net", Artifact("vision", net, {}))  # no architecture: TorchScript carries it
    assert scripted.meta["model_format"] == "torchscript" and "torch-state-dict:" in scripted.meta["format_note"]
    assert torch.equal(store.load("net").model(x), net(x))
    with pytest.raises(ModelError, match="not a registered architecture"):
        store.save("net", net, {"architecture": "nope"}, format="torch-state-dict")


@pytest.mark.parametrize("fmt", ["skops", "joblib"])
def test_formats_load_the_verified_bytes_never_a_path(store: ModelStore, iris, monkeypatch: pytest.MonkeyPatch,
                                                      fmt: str) -> None:
    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
    saved = store.save("iris", Artifact("tabular", pipe, {"task": "classification"}, format=fmt))
    seen: list[Any] = []
    real = FORMATS.get(fmt).load
    monkeypatch.setattr(FORMATS.get(fmt), "load", lambda data, meta: seen.append(data) or real(data, meta))
    assert (store.load("iris").model.predict(X) == pipe.predict(X)).all()
    assert seen == [(saved.path / saved.meta["model_file"]).read_bytes()]  # the bytes that were checked


def test_skops_files_are_compressed_and_round_trip(tmp_path: Path) -> None:
    """A forest saved as skops is zip-deflated (the raw archive is ~10× larger) and predicts the same."""
    import zipfile

    from sklearn.ensemble import RandomForestClassifier

    X, y = load_iris(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    path = tmp_path / "model.skops"
    SkopsFormat().save(forest, path, {})
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        assert all(m.compress_type == zipfile.ZIP_DEFLATED for m in members)
        assert sum(m.compress_size for m in members) < 0.5 * sum(m.file_size for m in members)
    back = SkopsFormat().load(path.read_bytes(), {"model_file": path.name})
    assert np.array_equal(back.predict_proba(X), forest.predict_proba(X))
