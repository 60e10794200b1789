"""The Dockerfile and docker-compose stack stay in step with the code (no Docker engine needed).

The compose file is read the way Compose reads it (merge keys, ``${VAR}`` interpolation from a
.env-like mapping: automlops.deploy.compose); tests/test_compose_topology.py then runs it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from automlops.config import REPO_ROOT, Settings
from automlops.deploy.compose import load_stack, variables
from automlops.errors import ConfigError

COMPOSE_TEXT = (REPO_ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (REPO_ROOT / ".env.example").read_text()
SETTINGS_ENV = {
    alias
    for field in Settings.model_fields.values()
    for alias in getattr(field.validation_alias, "choices", [])
}
COMPOSE_ONLY = {"POSTGRES_USER", "POSTGRES_PASSWORD", "HPO_STUDY"}  # the stack's wiring, not the studio's
POSTGRES_IMAGE_ENV = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_INITDB_ARGS", "PGDATA"}
DOTENV = {"POSTGRES_PASSWORD": "pw0123456789abcdef", "API_KEY": "k" * 40}
STACK = load_stack(DOTENV)
STUDIO_IMAGE = "automlops-studio:latest"
DEFAULTS = Settings.model_construct()


def _service(name: str) -> dict:
    return STACK.services[name].raw


def _studio_services() -> list[str]:
    return [name for name, svc in STACK.services.items() if svc.image == STUDIO_IMAGE]


def test_stack_has_every_service_on_the_documented_ports() -> None:
    assert set(STACK.services) == {"postgres", "mlflow", "dashboard", "api", "worker"}
    ports = {name: svc.ports for name, svc in STACK.services.items()}
    assert ports["dashboard"] == [f"{DEFAULTS.dashboard_port}:{DEFAULTS.dashboard_port}"]
    assert ports["api"] == [f"{DEFAULTS.api_port}:{DEFAULTS.api_port}"]
    assert ports["mlflow"] == [f"{DEFAULTS.mlflow_ui_port}:{DEFAULTS.mlflow_ui_port}"]
    assert ports["postgres"] == [] and ports["worker"] == []  # reached inside the stack only
    assert f"--server.port={DEFAULTS.dashboard_port}" in _service("dashboard")["command"]
    assert f"--port {DEFAULTS.api_port}" in _service("api")["command"]
    assert f"--port {DEFAULTS.mlflow_ui_port}" in _service("mlflow")["command"]


def test_every_studio_variable_is_a_setting_the_code_reads() -> None:
    extra_ok = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION"}  # read by the MLflow server itself
    for name in _studio_services():
        for var in STACK.services[name].environment:
            assert var in SETTINGS_ENV | extra_ok, f"{name}: {var} is not read by automlops.config.Settings"
    assert set(STACK.services["postgres"].environment) <= POSTGRES_IMAGE_ENV


def test_api_requires_a_key_and_the_studio_services_share_the_data_volume() -> None:
    assert ":?" in COMPOSE["services"]["api"]["environment"]["API_KEY"]  # compose refuses to start without one
    for name in ("dashboard", "api", "worker"):
        assert "studio-data:/data" in STACK.services[name].volumes, name
        assert STACK.services[name].environment["AUTOMLOPS_HOME"] == "/data"
        assert STACK.services[name].environment["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"


def test_commands_point_at_files_that_exist() -> None:
    assert "uvicorn api:app" in _service("api")["command"]
    assert "streamlit run app.py" in _service("dashboard")["command"]
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, flags=re.M):
        *sources, _dest = line.split()
        for src in sources:
            assert (REPO_ROOT / src).exists(), f"Dockerfile copies missing {src}"
    for port in (DEFAULTS.dashboard_port, DEFAULTS.api_port, DEFAULTS.mlflow_ui_port):
        assert str(port) in re.search(r"^EXPOSE (.+)$", DOCKERFILE, flags=re.M).group(1)
    for name, svc in STACK.services.items():  # bind mounts (./deploy/...) exist; named volumes are declared
        for source in svc.mounts.values():
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in STACK.volumes, f"{name} uses undeclared volume {source}"


def test_no_default_password_anywhere() -> None:
    for match in re.finditer(r"\$\{([A-Z_]*(?:PASSWORD|KEY|SECRET|TOKEN)[A-Z_]*)([^}]*)\}", COMPOSE_TEXT):
        name, rest = match.groups()
        assert rest.startswith(":?") or rest == ":-", f"{name} must be required (:?) or empty by default, not {rest!r}"
    for userinfo in re.findall(r"://([^/@\s]+)@", COMPOSE_TEXT):  # credentials in URLs come from .env
        assert re.fullmatch(r"[^:]*:\$\{POSTGRES_PASSWORD:\?[^}]*\}", userinfo), userinfo
    for secret in ("POSTGRES_PASSWORD", "API_KEY"):
        with pytest.raises(ConfigError, match=secret):
            load_stack({k: v for k, v in DOTENV.items() if k != secret})
        with pytest.raises(ConfigError, match=secret):  # an empty value is refused too
            load_stack(DOTENV | {secret: ""})
    assert re.search(r"^POSTGRES_PASSWORD=$", ENV_EXAMPLE, flags=re.M)  # the template holds none either


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies() -> None:
    for name, svc in STACK.services.items():
        assert svc.healthcheck and svc.healthcheck[0] in {"CMD", "CMD-SHELL"}, f"{name} has no healthcheck"
        for dep, condition in svc.depends_on.items():
            assert condition == "service_healthy", f"{name} starts before {dep} is healthy"
    assert "pg_isready" in " ".join(STACK.services["postgres"].healthcheck)
    assert "/health" in " ".join(STACK.services["mlflow"].healthcheck)
    assert STACK.services["api"].healthcheck[-1].rstrip("/").endswith(f":{DEFAULTS.api_port}")  # GET /
    assert STACK.services["worker"].healthcheck[1:] == ["python", "-m", "automlops.deploy.probe"]
    assert set(STACK.services["worker"].depends_on) >= {"postgres"}


def test_the_api_does_not_run_as_root() -> None:
    user = STACK.services["api"].user
    assert user is not None and user.split(":")[0] not in {"root", "0"}
    final_user = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.M)[-1]
    assert final_user.split(":")[0] not in {"root", "0"}
    uid = re.search(r"useradd --uid (\d+)", DOCKERFILE).group(1)
    assert user.split(":")[0] == final_user.split(":")[0] == uid
    # the folders the studio image's volumes cover belong to that user (a new volume copies the owner)
    for name in _studio_services():
        for target in STACK.services[name].mounts:
            assert re.search(rf"mkdir -p [^\n]*{re.escape(target)}\b", DOCKERFILE), f"{target} is not created"
            assert re.search(rf"chown studio:studio [^\n]*{re.escape(target)}\b", DOCKERFILE), target


def test_the_worker_scales_and_its_command_is_the_cli() -> None:
    worker = STACK.services["worker"]
    assert "container_name" not in worker.raw and "ports" not in worker.raw  # --scale worker=4
    assert worker.command[:2] == ["automlops", "worker"]
    assert worker.command[worker.command.index("--study") + 1] == "studio"  # HPO_STUDY's default
    assert "--wait" in worker.command
    from automlops.cli import build_parser

    try:
        args = build_parser().parse_args(worker.command[1:])  # the CLI accepts exactly these arguments
    except SystemExit as exc:  # argparse: an unknown command or option
        raise AssertionError(f"'automlops worker' refuses {shlex.join(worker.command[1:])}") from exc
    assert args.study == "studio"


def test_the_documented_coordinator_command_is_the_cli() -> None:
    """The file's header shows how to run the coordinator; the train command must accept it."""
    from automlops.cli import build_parser

    lines = [line.lstrip("# ").rstrip("\\ ") for line in COMPOSE_TEXT.splitlines() if line.startswith("#")]
    start = next(i for i, line in enumerate(lines) if line.startswith("docker compose run"))
    command = shlex.split(" ".join(lines[start:start + 2]))
    assert command[command.index("worker") + 1:][:2] == ["automlops", "train"]  # runs in the worker's settings
    args = build_parser().parse_args(command[command.index("worker") + 2:])
    assert args.study == "studio" and args.time_budget is not None


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("${A:-d}", {"A": ""}, "d"), ("${A-d}", {"A": ""}, ""), ("${A-d}", {}, "d"), ("${A}", {}, ""),
    ("$$A ${A:+set}", {"A": "x"}, "$A set"), ("u:${A:?need A}@h", {"A": "p"}, "u:p@h"), ("$A/b", {"A": "a"}, "a/b"),
])
def test_interpolation_follows_compose(text: str, env: dict[str, str], expected: str) -> None:
    from automlops.deploy.compose import interpolate

    assert interpolate(text, env) == expected


def test_postgres_holds_the_databases_mlflow_and_the_workers_use() -> None:
    pg = STACK.services["postgres"]
    assert re.fullmatch(r"postgres:\d+(-\w+)?", pg.image)  # a pinned major version, the official image
    init = {target: source for target, source in pg.mounts.items() if target.startswith("/docker-entrypoint-initdb.d/")}
    assert len(init) == 1 and next(iter(init)).endswith(".sql")
    created = set(re.findall(r"CREATE DATABASE (\w+)", (REPO_ROOT / next(iter(init.values()))).read_text()))
    backend = re.search(r"--backend-store-uri (\S+)", _service("mlflow")["command"]).group(1)
    storage = STACK.services["worker"].environment["HPO_STORAGE_URL"]
    for url in (backend, storage):
        assert url.startswith(f"postgresql+psycopg2://studio:{DOTENV['POSTGRES_PASSWORD']}@postgres:5432/"), url
        assert url.rsplit("/", 1)[1] in created
    assert backend != storage
    assert "/var/lib/postgresql/data" in pg.mounts


def test_mlflow_serves_artifacts_from_a_volume_and_accepts_the_stack_host_name() -> None:
    from mlflow.server.security_utils import is_allowed_host_header

    command = STACK.services["mlflow"].command
    assert "--serve-artifacts" in command
    destination = command[command.index("--artifacts-destination") + 1]
    assert STACK.services["mlflow"].mounts[destination] in STACK.volumes  # a named volume, not the container
    allowed = command[command.index("--allowed-hosts") + 1].split(",")
    for name, svc in STACK.services.items():  # MLflow refuses other Host headers (DNS-rebinding guard)
        for value in svc.environment.values():
            for host in re.findall(r"https?://([^/\s]+)", value):
                if host.startswith("mlflow"):
                    assert is_allowed_host_header(allowed, host), f"{name}: MLflow would refuse Host {host}"
    assert is_allowed_host_header(allowed, f"localhost:{DEFAULTS.mlflow_ui_port}")  # the browser's


def test_env_example_lists_every_setting_and_every_compose_variable() -> None:
    listed = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE, flags=re.M))
    missing = SETTINGS_ENV - listed
    assert not missing, f".env.example lacks {sorted(missing)}"
    assert listed <= SETTINGS_ENV | COMPOSE_ONLY, f".env.example has unknown {sorted(listed - SETTINGS_ENV)}"
    used = set().union(*(variables(value) for value in _strings(COMPOSE)))
    assert used - listed == set(), f"docker-compose.yml uses {sorted(used - listed)}, missing from .env.example"
    assert COMPOSE_ONLY <= used


def _strings(node: object) -> list[str]:
    """Every string value of the parsed compose file (comments are not interpolated)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_requirements_pin_the_stack() -> None:
    pins = dict(re.findall(r"^([A-Za-z0-9_.\[\]-]+)==([0-9.]+)", (REPO_ROOT / "requirements.txt").read_text(), re.M))
    assert pins["mlflow[auth]"] == "3.17.2"
    assert pins["pandas"].startswith("2.")  # evidently breaks on pandas 3
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")  # other pairs fail to import torchvision ops
    assert "psycopg2-binary" in pins  # MLflow's and Optuna's PostgreSQL driver in the image
    for facade in ("automl_engine.py", "mlops_utils.py", "cv_engine.py"):  # the image ships every facade
        assert facade in DOCKERFILE
    ignored = Path(REPO_ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".env", ".git", "data_lake", "models"} <= set(ignored)  # no secrets, no runtime data
