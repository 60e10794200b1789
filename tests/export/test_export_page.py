"""Models page: "Download as a Python script" for the selected version (Streamlit AppTest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.datasets import load_iris

from automlops.mlops.lake import DataLake
from automlops.mlops.persist import save_model
from automlops.mlops.store import ModelStore
from tests.ui.helpers import CRED_VARS, assert_clean, new_app, open_page, texts


@pytest.fixture
def page_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A studio home with iris in the lake, a model trained on it and a copy saved without its dataset."""
    import streamlit as st

    from automlops.tabular import AutoMLRunner
    from automlops.ui import imports, tracking

    assert imports.wait_ready(180)
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("AUTOMLOPS_HOME", str(root))
    for var in (*CRED_VARS, "MODEL_NAME", "MODEL_VERSION"):
        monkeypatch.delenv(var, raising=False)
    tracking.reset()
    st.cache_data.clear()
    lake = DataLake()
    entry = lake.add("iris", load_iris(as_frame=True).frame)
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], n_trials=1, validation="holdout")
    result = runner.fit(lake.load("iris")).result_
    save_model(result, ModelStore(), "flowers", dataset=entry.lineage(), register=False)
    save_model(result, ModelStore(), "uploaded", register=False)  # no dataset: nothing to rebuild from
    yield root
    tracking.reset()


def test_the_selected_version_downloads_as_a_script(page_home: Path) -> None:
    at = open_page(new_app(), "models")
    at.selectbox(key="models_pick").set_value("flowers@v1").run()
    assert_clean(at)
    assert not [b for b in at.get("download_button") if "Python script" in b.label]  # written only when asked
    at.toggle(key="models_script_toggle").set_value(True).run()
    assert_clean(at)
    buttons = [b for b in at.get("download_button") if b.label == ":material/code: Download as a Python script"]
    assert len(buttons) == 1
    assert any("test_score=" in t and "train_flowers.py" in t for t in texts(at.caption)), texts(at.caption)


def test_a_model_without_its_data_says_why_there_is_no_script(page_home: Path) -> None:
    at = open_page(new_app(), "models")
    at.selectbox(key="models_pick").set_value("uploaded@v1").run()
    assert_clean(at)
    assert any("not trained on a data-lake dataset" in t for t in texts(at.caption))
    assert not [t for t in at.toggle if t.key == "models_script_toggle"]
