"""``automlops.serving.run``: what ``automlops serve`` calls."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

import automlops.serving as serving
from automlops.errors import ConfigError
from tests.serving.conftest import make_settings


def test_run_starts_uvicorn_on_the_given_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    serving.run("127.0.0.1", 8123, settings=make_settings(tmp_path))
    app, options = calls[0]
    assert isinstance(app, FastAPI)
    assert options["host"] == "127.0.0.1" and options["port"] == 8123
    serving.run(settings=make_settings(tmp_path, api_port=9001))
    assert calls[1][1]["port"] == 9001 and calls[1][1]["host"] == "127.0.0.1"


def test_run_refuses_before_binding_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn must not start"))
    with pytest.raises(ConfigError, match="API_KEY"):
        serving.run(settings=make_settings(tmp_path, key=None))
