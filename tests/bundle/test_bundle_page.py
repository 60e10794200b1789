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
    at = open_page(new_app(), "models")
    at.selectbox(key="models_pick").set_value("penguins@v1").run()
    assert_clean(at)
    assert not [b for b in at.get("download_button") if "deploy bundle" in b.label]  # built only when asked
    at.toggle(key="models_bundle_toggle").set_value(True).run(timeout=180)
    assert_clean(at)
    buttons = [b for b in at.get("download_button") if b.label == ":material/deployed_code: Download the deploy "
               "bundle (zip)"]
    assert len(buttons) == 1
    assert any("checked to answer as the studio does" in t and "docker build -t penguins-v1 ." in t
               for t in texts(at.caption)), texts(at.caption)
    from automlops.bundle import bundle_zip  # the zip behind the button: one folder, the whole bundle

    name, data = bundle_zip("penguins@v1", check=False)  # the button's bundle was checked; this one need not be
    assert name == "penguins-v1-bundle.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = set(archive.namelist())
        manifest = json.loads(archive.read("penguins-v1-bundle/bundle.json"))
    assert {f"penguins-v1-bundle/{f}" for f in ("app.py", "Dockerfile", "requirements.txt", "model/model.skops")} <= files
    assert (manifest["model"], manifest["version"], manifest["kind"]) == ("penguins", 1, "tabular")


def test_a_kind_a_bundle_cannot_serve_says_so(page_home: Path) -> None:
    at = open_page(new_app(), "models")
    at.selectbox(key="models_pick").set_value("outliers@v1").run()
    assert_clean(at)
    assert any("anomaly models cannot be bundled yet" in t for t in texts(at.caption)), texts(at.caption)
    assert not [t for t in at.toggle if t.key == "models_bundle_toggle"]
