"""Models the studio did not search for itself: an uploaded model, a warm-started retrain.

An uploaded model was trained elsewhere: ``export`` refuses it before writing anything (there is
no training to rebuild), ``bundle`` checks it on probe rows it can answer (a plain
``OneHotEncoder`` refuses unknown categories), and its card says what its score is: measured on
the dataset it was validated on. A warm-started retrain's card says its held-out rows were seen
by the parent, as its decisions do; exporting it is refused up front (no script repeats a warm start).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from automlops.cli import main
from automlops.mlops.lake import DataLake
from automlops.mlops.model_card import build_model_card
from automlops.mlops.store import ModelStore


@pytest.fixture(scope="module")
def uploaded(studio: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``cancer_upload``: a plain OneHotEncoder + LogisticRegression pipeline trained outside, then uploaded."""
    from automlops.tabular.upload import import_model

    frame = load_breast_cancer(as_frame=True).frame
    frame["size"] = pd.cut(frame["mean radius"], 3, labels=["small", "medium", "large"]).astype(str)
    DataLake().add("cancer_sized", frame)
    X, y = frame.drop(columns="target"), frame["target"]
    numeric = [c for c in X.columns if c != "size"]
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["size"]), (StandardScaler(), numeric)),
                         LogisticRegression(max_iter=2000)).fit(X, y)
    path = tmp_path_factory.mktemp("upload") / "cancer.skops"
    sio.dump(pipe, path)
    import_model(path, name="cancer_upload", dataset="cancer_sized", dataset_version=None, target="target",
                 tracking=False)
    return "cancer_upload"


def test_exporting_an_uploaded_model_is_refused_before_anything_is_written(
        uploaded: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "upload.py"
    code = main(["export", uploaded, "--out", str(out), "--check"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(err) == 1 and err[0].startswith("automlops: error: ") and "uploaded" in err[0], err


def test_an_uploaded_model_whose_encoder_refuses_unknown_categories_is_bundled(uploaded: str, tmp_path: Path) -> None:
    from automlops.bundle.build import build_bundle

    result = build_bundle(uploaded, tmp_path / "bundle")
    assert (tmp_path / "bundle" / "app.py").is_file()
    assert result.summary()["check"]["same_as_studio"] is True


def test_the_card_of_an_uploaded_model_does_not_call_its_rows_untouched(uploaded: str) -> None:
    stored = ModelStore().versions(uploaded)[-1]
    text = build_model_card(stored).to_markdown()
    assert "untouched rows" not in text and "test roc_auc" not in text
    assert "- roc_auc: 0.9" in text and "rows: scored on the dataset it was validated on; not an untouched test set" in text


def test_the_card_of_a_warm_started_retrain_says_the_parent_saw_its_held_out_rows(studio: Path) -> None:
    from automlops.tabular.retrain import retrain_saved

    stored, result = retrain_saved("cancer_logistic@v1", dataset="breast_cancer", name="cancer_retrained",
                                   tracking=False)
    assert any("also in the data the parent learned from" in str(d) for d in result.decisions)
    text = build_model_card(stored).to_markdown()
    assert "untouched rows" not in text
    assert "held-out rows (" in text and "also in the data the parent learned from" in text
    assert "this test score is optimistic" in text


def test_exporting_a_warm_started_retrain_is_refused_before_anything_is_written(
        studio: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A warm-started forest keeps its parent's trees and grows as many on the new rows: a script fitting the
    recipe from scratch grows other trees, so ``--check`` wrote the script and ran it, only to exit 2. A cold
    retrain is rebuilt exactly, so it is still exported."""
    from automlops.tabular.retrain import retrain_saved
    from tests.export.conftest import train_tabular

    train_tabular(DataLake(), "breast_cancer", "cancer_forest", models=["random_forest"], n_trials=1, ensemble="none")
    retrain_saved("cancer_forest@v1", dataset="breast_cancer", name="cancer_forest_warm", tracking=False)
    out = tmp_path / "warm.py"
    code = main(["export", "cancer_forest_warm", "--out", str(out), "--check"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert len(err) == 1 and err[0].startswith("automlops: error: ") and "warm-started retrain" in err[0], err
    assert "--cold" in err[0]
    retrain_saved("cancer_logistic@v1", dataset="breast_cancer", name="cancer_cold", tracking=False, warm_start=False)
    assert main(["export", "cancer_cold", "--out", str(tmp_path / "cold.py"), "--check"]) == 0
