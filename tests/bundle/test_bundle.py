"""``automlops bundle``: a copy of the bundle folder alone serves the studio's predictions over HTTP.

The bundle's service is started the way its README says, ``python -m uvicorn app:app`` from inside
a *copy* of the folder (the original deleted), with no ``PYTHONPATH`` and no studio home, and asked
over real HTTP; the studio's own API (in-process) is asked the same rows, and the two answers must
be identical. ``PYTHONVERBOSE`` makes Python log the file behind every import, so the test also sees
that the service never imported a module of the installed studio.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from automlops.cli import main
from tests.bundle.conftest import KEY, demo_records
from tests.servers import free_port, stop_process, wait_http

STUDIO_PACKAGE = str(Path(__file__).resolve().parents[2] / "automlops")


def _http(method: str, url: str, body: Any = None, key: str | None = KEY) -> tuple[int, dict[str, Any]]:
    headers = {"content-type": "application/json"} if body is not None else {}
    if key is not None:
        headers["x-api-key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _studio_client(home: Path, name: str) -> Any:
    from fastapi.testclient import TestClient

    from automlops.config import Settings
    from automlops.serving.app import create_app

    settings = Settings(_env_file=None, AUTOMLOPS_HOME=str(home), API_KEY=KEY, MODEL_NAME=name)  # type: ignore[call-arg]
    return TestClient(create_app(settings))


def _bundle_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUTOMLOPS_HOME", "API_KEY")}
    return {**env, **extra}


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


@pytest.mark.integration
@pytest.mark.parametrize("name", ["penguins", "cars"])
def test_a_copy_of_the_bundle_serves_the_studios_predictions(home: Path, tmp_path: Path, name: str) -> None:
    from automlops.bundle import build_bundle

    built = build_bundle(name, tmp_path / "bundle", check=False)  # the HTTP comparison below is the check here
    if name == "penguins":  # LightGBM inside the studio's early-stopping wrapper: both travel with the bundle
        assert any(r.startswith("lightgbm==") for r in built.requirements)
        assert "automlops/tabular/early_stopping.py" in built.vendored
    copy = tmp_path / "elsewhere" / "service"
    shutil.copytree(built.out, copy)
    shutil.rmtree(built.out)  # the copy alone
    port = free_port()
    log = tmp_path / "service.log"
    with open(log, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port",
                                 str(port)], cwd=copy, env=_bundle_env(API_KEY=KEY, PYTHONVERBOSE="1"),
                                stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    rows = demo_records(name, 30)
    try:
        wait_http(f"{url}/ready", 120, proc)
        with _studio_client(home, name) as studio:
            expected = studio.post("/predict", json={"records": rows}, headers={"x-api-key": KEY})
            assert expected.status_code == 200, expected.text
            status, got = _http("POST", f"{url}/predict", {"records": rows})
            assert status == 200, got
            assert _without_id(got) == _without_id(expected.json())  # predictions, classes, probabilities, warnings
            assert got["model"] == {"name": name, "version": 1, "task": built.task} and got["n_rows"] == 30

            split = {"columns": list(rows[0]), "data": [list(r.values()) for r in rows[:5]]}
            assert _http("POST", f"{url}/predict", split)[1]["predictions"] == got["predictions"][:5]

            bad = [{k: v for k, v in rows[0].items() if k != next(iter(rows[0]))}]  # its first column missing
            studio_bad = studio.post("/predict", json={"records": bad}, headers={"x-api-key": KEY})
            status, refused = _http("POST", f"{url}/predict", {"records": bad})
            assert (status, refused) == (studio_bad.status_code, studio_bad.json()) and status == 422

            status, info = _http("GET", f"{url}/model")
            studio_info = studio.get("/model", headers={"x-api-key": KEY}).json()
            assert status == 200
            for field in ("name", "version", "task", "target", "classes", "input_columns", "feature_schema", "metrics"):
                assert info[field] == studio_info[field], field
            assert info["lineage"]["model_sha256"] == studio_info["lineage"]["model_sha256"]

        status, health = _http("GET", f"{url}/", key=None)
        assert status == 200 and health["status"] == "ok" and health["model"] == got["model"]
        assert _http("GET", f"{url}/ready", key=None) == (200, {"ready": True, "model": got["model"]})
        for key in (None, "wrong-key"):
            for method, path, body in (("POST", "/predict", {"records": rows[:1]}), ("GET", "/model", None)):
                status, body_out = _http(method, f"{url}{path}", body, key=key)
                assert status == 401 and body_out["error"]["code"] == "unauthorized", (key, path, body_out)
    finally:
        stop_process(proc)
    imports = log.read_text(encoding="utf-8", errors="replace")
    assert str(copy / "automlops") in imports  # the bundle's own vendored code answered ...
    assert STUDIO_PACKAGE + os.sep not in imports  # ... and nothing of the installed studio was imported


def test_the_command_writes_a_checked_self_contained_bundle(home: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A joblib (pickle) model: its studio classes are found from the pickle's references, like skops types."""
    out = tmp_path / "cars-bundle"
    assert main(["bundle", "cars_joblib@v1", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["check"]["same_as_studio"] is True and summary["check"]["rows"] >= 3
    assert {"app.py", "Dockerfile", "README.md", "requirements.txt", "bundle.json", "model/meta.json",
            "model/model.joblib", "automlops/serving/validation.py",
            "automlops/tabular/preprocessing.py"} <= set(summary["files"])
    assert not list(tmp_path.glob(".tmp-bundle-*"))

    stored = home / "models" / "cars_joblib" / "v0001"
    assert (out / "model" / "model.joblib").read_bytes() == (stored / "model.joblib").read_bytes()
    assert (out / "model" / "meta.json").read_bytes() == (stored / "meta.json").read_bytes()
    # The vendored preprocessing holds just the definitions the model file names; validation is copied unchanged.
    vendored = (out / "automlops" / "tabular" / "preprocessing.py").read_text()
    assert "class DatetimeParts" in vendored and "class TopCategories" in vendored and "def plan_features" not in vendored
    assert (out / "automlops/serving/validation.py").read_bytes() == (
        Path(STUDIO_PACKAGE) / "serving" / "validation.py").read_bytes()

    requirements = (out / "requirements.txt").read_text().split()
    assert all("==" in line for line in requirements)
    dists = {line.split("==")[0].lower(): line.split("==")[1] for line in requirements}
    assert dists["scikit-learn"] == metadata.version("scikit-learn") and dists["joblib"] == metadata.version("joblib")
    assert {"fastapi", "uvicorn", "pandas", "numpy"} <= set(dists)
    assert not {"skops", "mlflow", "optuna", "streamlit", "torch", "pydantic-settings", "automlops-studio"} & set(dists)

    dockerfile = (out / "Dockerfile").read_text()
    assert "COPY requirements.txt" in dockerfile and "\nUSER app" in dockerfile and '"uvicorn", "app:app"' in dockerfile
    readme = (out / "README.md").read_text()
    assert "docker build -t cars-joblib-v1 ." in readme and "docker run --rm -p 8000:8000 -e API_KEY=" in readme
    manifest = json.loads((out / "bundle.json").read_text())
    assert manifest["model_sha256"] == hashlib.sha256((out / "model/model.joblib").read_bytes()).hexdigest()
    assert manifest["trusted_types"] == [] and manifest["model_format"] == "joblib"

    # The service refuses to start without a key (one line, exit 2) ...
    done = subprocess.run([sys.executable, "-m", "uvicorn", "app:app"], cwd=out, env=_bundle_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "API_KEY is not set" in done.stderr
    # ... and a second bundle never overwrites the first.
    assert main(["bundle", "cars_joblib", "--out", str(out)]) == 2
    assert "already exists and is not an empty folder" in capsys.readouterr().err
    assert (out / "bundle.json").read_text() == json.dumps(manifest, indent=2) + "\n"


@pytest.mark.parametrize(("ref", "message"), [
    ("nosuch", "no model named 'nosuch'"),
    ("cars@v9", "has no version v9"),
    ("sales", "it is a model of kind forecasting"),
    ("penguins@production", "no registered model named 'penguins'"),
])
def test_bad_references_exit_2_and_write_nothing(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  ref: str, message: str) -> None:
    out = tmp_path / "out"
    assert main(["bundle", ref, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and not list(tmp_path.glob(".tmp-bundle-*"))


@pytest.mark.parametrize("tamper", ["model", "meta"])
def test_a_tampered_version_is_refused(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str], tamper: str) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home / "models", copy / "models")
    monkeypatch.setenv("AUTOMLOPS_HOME", str(copy))
    version = copy / "models" / "cars" / "v0001"
    if tamper == "model":
        data = bytearray((version / "model.skops").read_bytes())
        data[len(data) // 2] ^= 0xFF
        (version / "model.skops").write_bytes(bytes(data))
    else:
        meta = json.loads((version / "meta.json").read_text())
        meta["test_score"] = 0.0  # a better-looking score, written without the studio's key
        (version / "meta.json").write_text(json.dumps(meta))
    out = tmp_path / "out"
    assert main(["bundle", "cars@v1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert ("SHA-256" in err if tamper == "model" else "signature" in err), err
    assert not out.exists() and not list(tmp_path.glob(".tmp-bundle-*"))


def test_a_production_reference_bundles_the_version_holding_the_stage(home: Path, tmp_path: Path) -> None:
    from automlops.bundle import build_bundle

    assert main(["models", "promote", "cars@v1", "--to", "production", "--reason", "bundle test"]) == 0
    built = build_bundle("cars@production", tmp_path / "prod", check=False)
    manifest = json.loads((built.out / "bundle.json").read_text())
    assert (built.version, built.stage, manifest["stage"], manifest["version"]) == (1, "production", "production", 1)


def test_a_clustering_bundle_answers_each_rows_cluster_as_the_studio_does(home: Path, tmp_path: Path) -> None:
    """The check run by ``build_bundle``: a fresh Python inside the bundle answers the probe rows as the studio."""
    from automlops.bundle import build_bundle

    built = build_bundle("groups", tmp_path / "groups", check=True)
    assert (built.kind, built.task, built.check["same_as_studio"]) == ("clustering", "clustering", True)
    assert "automlops/mlops/_skops.py" in built.vendored and not any("tabular" in f for f in built.vendored)
