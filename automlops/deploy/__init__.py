"""The production stack as data: reading docker-compose.yml (:mod:`.compose`) and the worker's
healthcheck (:mod:`.probe`, ``python -m automlops.deploy.probe``)."""

from __future__ import annotations

from automlops.deploy.compose import COMPOSE_FILE, Service, Stack, interpolate, load_stack, variables

__all__ = ["COMPOSE_FILE", "Service", "Stack", "interpolate", "load_stack", "variables"]
