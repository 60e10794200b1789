"""predict_table: one int 'prediction' column per row; clear errors; the model survives the store's format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.clustering import figures, predict_table
from automlops.core.fit import FitResult
from automlops.errors import DataError
from tests.clustering.conftest import fit


def test_predict_table_returns_one_int_column(iris: pd.DataFrame, iris_result: FitResult) -> None:
    rows = iris.iloc[[5, 60, 120]].set_index(pd.Index([10, 11, 12]))  # extra columns and any index are fine
    out = predict_table(iris_result.artifact.obj, dict(iris_result.artifact.meta), rows)
    assert list(out.columns) == ["prediction"] and list(out.index) == [0, 1, 2]
    assert out["prediction"].dtype.kind == "i"
    assert out["prediction"].tolist() == iris_result.artifact.obj.predict(rows.drop(columns="species")).tolist()


def test_predict_table_errors(iris: pd.DataFrame, iris_result: FitResult) -> None:
    model, meta = iris_result.artifact.obj, dict(iris_result.artifact.meta)
    with pytest.raises(DataError, match=r"2 column\(s\).*'petal length \(cm\)', 'petal width \(cm\)'"):
        predict_table(model, meta, iris.drop(columns=["petal length (cm)", "petal width (cm)"]))
    with pytest.raises(DataError, match="no rows"):
        predict_table(model, meta, iris.head(0))
    bad = iris.head(3).astype({"sepal width (cm)": object})
    bad.loc[1, "sepal width (cm)"] = "wide"
    with pytest.raises(DataError, match="'sepal width \\(cm\\)' should hold numbers.*'wide'"):
        predict_table(model, meta, bad)
    text = iris.head(3).astype({"sepal width (cm)": str})  # numbers sent as text (a CSV, JSON) are parsed
    assert len(predict_table(model, meta, text)) == 3


@pytest.mark.parametrize("model", ["dbscan", "kmeans"])
def test_the_pipeline_survives_skops_like_the_store_writes_it(iris: pd.DataFrame, model: str) -> None:
    import skops.io

    from automlops.mlops.formats import outside_allow_list

    X = iris.drop(columns="species")
    result = fit(X, n_trials=3, models=[model])
    data = skops.io.dumps(result.artifact.obj)
    untrusted = skops.io.get_untrusted_types(data=data)
    assert outside_allow_list(untrusted) == []
    loaded = skops.io.loads(data, trusted=untrusted)
    assert np.array_equal(loaded.predict(X), result.artifact.obj.predict(X))


def test_figures_from_meta_only(iris_result: FitResult) -> None:
    meta = dict(iris_result.artifact.meta)
    figs = figures(meta)
    assert set(figs) == {"projection", "sizes", "profile"}
    assert len(figs["projection"].data) == meta["n_clusters"] + (1 if meta["noise_count"] else 0)
    assert list(figs["sizes"].data[0].y) == meta["cluster_sizes"]
    assert np.asarray(figs["profile"].data[0].z).shape == (len(meta["profile"]), 4)


@pytest.mark.parametrize("model", ["hdbscan", "agglomerative"])
def test_a_saved_model_without_its_own_predict_is_served(iris: pd.DataFrame, model: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from automlops.mlops.store import ModelStore
    from automlops.serving.loader import load_served

    X = iris.drop(columns="species")
    result = fit(X, n_trials=3, models=[model])
    store = ModelStore(tmp_path / "models")
    saved = store.save("groups", result.artifact)
    assert saved.meta["model_format"] == "skops"
    loaded = store.load("groups", 1)
    expected = predict_table(result.artifact.obj, dict(result.artifact.meta), X)
    assert predict_table(loaded.model, loaded.meta, X).equals(expected)
    served = load_served(store, "groups", 1)  # the API's loader accepts it: it has predict
    assert served.kind == "clustering"
