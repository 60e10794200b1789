"""The Dockerfile and docker-compose stack stay in step with the code (no Docker engine needed)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from automlops.config import REPO_ROOT, Settings

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
SETTINGS_ENV = {
    alias
    for field in Settings.model_fields.values()
    for alias in getattr(field.validation_alias, "choices", [])
}
DEFAULTS = Settings.model_construct()


def _service(name: str) -> dict:
    return COMPOSE["services"][name]


def test_stack_has_dashboard_api_and_mlflow_on_the_documented_ports() -> None:
    assert set(COMPOSE["services"]) >= {"dashboard", "api", "mlflow"}
    ports = {name: svc["ports"][0] for name, svc in COMPOSE["services"].items()}
    assert ports["dashboard"] == f"{DEFAULTS.dashboard_port}:{DEFAULTS.dashboard_port}"
    assert ports["api"] == f"{DEFAULTS.api_port}:{DEFAULTS.api_port}"
    assert ports["mlflow"] == f"{DEFAULTS.mlflow_ui_port}:{DEFAULTS.mlflow_ui_port}"
    assert f"--server.port={DEFAULTS.dashboard_port}" in _service("dashboard")["command"]
    assert f"--port {DEFAULTS.api_port}" in _service("api")["command"]
    assert f"--port {DEFAULTS.mlflow_ui_port}" in _service("mlflow")["command"]


def test_every_environment_variable_is_a_setting_the_code_reads() -> None:
    extra_ok = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION"}  # read by the MLflow server itself
    for name, svc in COMPOSE["services"].items():
        for var in svc.get("environment", {}):
            assert var in SETTINGS_ENV | extra_ok, f"{name}: {var} is not read by automlops.config.Settings"


def test_api_requires_a_key_and_services_share_the_data_volume() -> None:
    assert ":?" in str(_service("api")["environment"]["API_KEY"])  # compose refuses to start without one
    for svc in COMPOSE["services"].values():
        assert "studio-data:/data" in svc["volumes"]
    assert _service("dashboard")["environment"]["AUTOMLOPS_HOME"] == "/data"
    assert _service("dashboard")["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_commands_point_at_files_that_exist() -> None:
    assert "uvicorn api:app" in _service("api")["command"]
    assert "streamlit run app.py" in _service("dashboard")["command"]
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, flags=re.M):
        *sources, _dest = line.split()
        for src in sources:
            assert (REPO_ROOT / src).exists(), f"Dockerfile copies missing {src}"
    for port in (DEFAULTS.dashboard_port, DEFAULTS.api_port, DEFAULTS.mlflow_ui_port):
        assert str(port) in re.search(r"^EXPOSE (.+)$", DOCKERFILE, flags=re.M).group(1)


def test_env_example_lists_every_setting() -> None:
    listed = set(re.findall(r"^([A-Z_]+)=", (REPO_ROOT / ".env.example").read_text(), flags=re.M))
    missing = SETTINGS_ENV - listed
    assert not missing, f".env.example lacks {sorted(missing)}"
    assert listed <= SETTINGS_ENV, f".env.example has unknown {sorted(listed - SETTINGS_ENV)}"


def test_requirements_pin_the_stack() -> None:
    pins = dict(re.findall(r"^([A-Za-z0-9_.\[\]-]+)==([0-9.]+)", (REPO_ROOT / "requirements.txt").read_text(), re.M))
    assert pins["mlflow[auth]"] == "3.17.2"
    assert pins["pandas"].startswith("2.")  # evidently breaks on pandas 3
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")  # other pairs fail to import torchvision ops
    for facade in ("automl_engine.py", "mlops_utils.py", "cv_engine.py"):  # the image ships every facade
        assert facade in DOCKERFILE
    assert Path(REPO_ROOT / ".dockerignore").read_text().count(".venv") >= 1
