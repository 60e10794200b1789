"""Reading ``docker-compose.yml`` the way Docker Compose does, without Docker.

The compose file is the one description of the production stack: which services run, their
commands, environment, ports, volumes and healthchecks. Two things read it besides Compose:
the packaging tests (the file, the Dockerfile and :class:`~automlops.config.Settings` agree) and
the topology test, which starts the same services as plain processes on ``127.0.0.1``.

Compose does two things to the file before it runs anything, and :func:`load_stack` does both:

* **YAML merge keys** (``<<: *studio``) share settings between services (PyYAML resolves them);
* **variable interpolation** from the environment and ``.env``: ``${VAR}``, ``${VAR:-default}``
  (default when unset or empty), ``${VAR-default}`` (when unset), ``${VAR:?message}`` (refuse to
  start when unset or empty: how the file demands secrets instead of carrying default ones),
  ``${VAR:+other}``, and ``$$`` for a literal ``$`` left for the container's shell.

:meth:`Stack.localize` then rewrites one service for a run on this machine: every ``service:port`` the
containers reach each other by becomes ``127.0.0.1:<free port>``, ``0.0.0.0`` becomes
``127.0.0.1``, and each volume's mount point becomes a local folder.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from automlops.config import REPO_ROOT
from automlops.errors import ConfigError

__all__ = ["COMPOSE_FILE", "Service", "Stack", "interpolate", "load_stack", "variables"]

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"

_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
                  r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def variables(text: str) -> set[str]:
    """Every variable ``text`` interpolates (``$$`` escapes excluded)."""
    return {m.group("name") or m.group("bare") for m in _VAR.finditer(text) if not m.group("escaped")}


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` (a string, or lists/dicts of them) with Compose's ``${...}`` rules applied from ``env``."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: _substitute(m, env), value)
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    return value


def _substitute(m: re.Match[str], env: Mapping[str, str]) -> str:
    if m.group("escaped"):
        return "$"
    name = m.group("name") or m.group("bare")
    op, arg = m.group("op") or "", m.group("arg") or ""
    present = name in env
    filled = present and env[name] != ""
    usable = filled if op.startswith(":") else present
    if op.endswith("-"):
        return env[name] if usable else arg
    if op.endswith("?"):
        if not usable:
            raise ConfigError(f"docker-compose.yml needs {name}: {arg or 'it is not set'}")
        return env[name]
    if op.endswith("+"):
        return arg if usable else ""
    return env.get(name, "")


@dataclass(frozen=True)
class Service:
    """One service after interpolation: what Compose would start."""

    name: str
    image: str
    command: list[str]
    environment: dict[str, str]
    ports: list[str]
    volumes: list[str]
    healthcheck: list[str]
    depends_on: dict[str, str]
    user: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def container_port(self) -> int | None:
        """The port the service listens on inside its container (``expose`` or the container side of ``ports``)."""
        for entry in [*self.raw.get("expose", []), *self.ports]:
            return int(str(entry).rsplit(":", 1)[-1].split("/")[0])
        return None

    @property
    def mounts(self) -> dict[str, str]:
        """Mount point inside the container → the named volume or host path mounted there."""
        out = {}
        for entry in self.volumes:
            source, target, *_ = entry.split(":")
            out[target] = source
        return out


@dataclass(frozen=True)
class Stack:
    """The services of the compose file and its named volumes."""

    services: dict[str, Service]
    volumes: list[str]

    def localize(self, name: str, ports: Mapping[str, int], mounts: Mapping[str, Path]) -> Service:
        """Service ``name`` rewired for plain processes on this machine.

        ``ports`` maps service names to the local port standing in for each one's container port
        (and its published port);
        ``mounts`` maps volume names (or host paths) to local folders. ``service:port`` and
        ``localhost:<own port>`` become ``127.0.0.1:<local port>``; ``--port``, ``-p`` and
        ``--server.port=`` of its own port follow; ``0.0.0.0`` becomes ``127.0.0.1``; each mount
        point becomes its folder.
        """
        service = self.services[name]
        targets = {other: (self.services[other].container_port, local) for other, local in ports.items()}
        published = {int(p.split(":")[-2]): local for other, local in ports.items()
                     for p in self.services[other].ports if p.count(":") >= 1}

        def rewrite(text: str) -> str:
            for target, source in sorted(service.mounts.items(), key=lambda kv: -len(kv[0])):
                if source in mounts:
                    text = re.sub(rf"(?<![\w./-]){re.escape(target)}(?=/|$|[\s,;\"'])", str(mounts[source]), text)
            text = text.replace("0.0.0.0", "127.0.0.1")
            for other, (cport, local) in targets.items():
                text = re.sub(rf"\b{re.escape(other)}:{cport}\b", f"127.0.0.1:{local}", text)
            for host_port, local in published.items():  # a browser's link to a published port
                text = re.sub(rf"\blocalhost:{host_port}\b", f"127.0.0.1:{local}", text)
            if name in targets:
                own, local = targets[name]
                text = re.sub(rf"\blocalhost:{own}\b", f"127.0.0.1:{local}", text)
                text = re.sub(rf"(--port[= ]|--server\.port=|-p ){own}\b", rf"\g<1>{local}", text)
            return text

        # An argv is rewritten as one string so that "--port 5000" (two arguments) is seen together.
        command = shlex.split(rewrite(shlex.join(service.command)))
        health = service.healthcheck
        if health[:1] == ["CMD-SHELL"]:
            health = ["CMD-SHELL", *[rewrite(h) for h in health[1:]]]
        elif health:
            health = [health[0], *shlex.split(rewrite(shlex.join(health[1:])))]
        return replace(service, command=command, healthcheck=health,
                       environment={k: rewrite(v) for k, v in service.environment.items()})


def load_stack(env: Mapping[str, str], path: Path = COMPOSE_FILE) -> Stack:
    """The compose file with merge keys resolved and ``env`` interpolated (``ConfigError`` on a ``:?`` miss)."""
    raw = yaml.safe_load(path.read_text())
    services = {}
    for name, svc in raw["services"].items():
        svc = interpolate(svc, env)
        command = svc.get("command", [])
        health = svc.get("healthcheck", {}).get("test", [])
        services[name] = Service(
            name=name, image=svc.get("image", ""),
            command=shlex.split(command) if isinstance(command, str) else list(command),
            environment={k: "" if v is None else str(v) for k, v in (svc.get("environment") or {}).items()},
            ports=[str(p) for p in svc.get("ports", [])], volumes=list(svc.get("volumes", [])),
            healthcheck=[health] if isinstance(health, str) else list(health),
            depends_on={dep: spec.get("condition", "service_started") if isinstance(spec, dict)
                        else "service_started" for dep, spec in _depends(svc).items()},
            user=None if svc.get("user") is None else str(svc["user"]), raw=svc)
    return Stack(services, list(raw.get("volumes") or {}))


def _depends(svc: Mapping[str, Any]) -> dict[str, Any]:
    deps = svc.get("depends_on") or {}
    return dict.fromkeys(deps) if isinstance(deps, list) else dict(deps)
