"""Models page: "Download the deploy bundle (zip)" beside the script export (Streamlit AppTest)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.ui.helpers import CRED_VARS, assert_clean, new_app, open_page, texts


@pytest.fixture
def page_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import streamlit as st

    from automlops.ui import imports, tracking

    assert imports.wait_ready(180)
    for var in CRED_VARS:
        monkeypatch.delenv(var, raising=False)
    tracking.reset()
    st.cache_data.clear()
    return home


def test_the_selected_version_downloads_as_a_checked_bundle(page_home: Path) -> None:
    """An anomaly detector: its answer function travels with it, and the check compares flags and scores."""
    at = open_page(new_app(), "models")
    at.selectbox(key="models_pick").set_value("outliers@v1").run()
    assert_clean(at)
    assert not [b for b in at.get("download_button") if "deploy bundle" in b.label]  # built only when asked
    at.toggle(key="models_bundle_toggle").set_value(True).run(timeout=180)
    assert_clean(at)
    buttons = [b for b in at.get("download_button") if b.label == ":material/deployed_code: Download the deploy "
               "bundle (zip)"]
    assert len(buttons) == 1
    assert any("checked to answer as the studio does" in t and "docker build -t outliers-v1 ." in t
               for t in texts(at.caption)), texts(at.caption)
    from automlops.bundle import bundle_zip  # the zip behind the button: one folder, the whole bundle

    name, data = bundle_zip("outliers@v1", check=False)  # the button's bundle was checked; this one need not be
    assert name == "outliers-v1-bundle.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = set(archive.namelist())
        manifest = json.loads(archive.read("outliers-v1-bundle/bundle.json"))
    assert {f"outliers-v1-bundle/{f}" for f in ("app.py", "Dockerfile", "requirements.txt", "model/model.joblib",
                                                "automlops/anomaly/predict.py")} <= files
    assert (manifest["kind"], manifest["answer"]) == ("anomaly", "automlops.anomaly.predict:predict_table")
    assert any(r.startswith("pyod==") for r in manifest["requirements"])
