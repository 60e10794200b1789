"""Serving a registry stage: which version holds ``MODEL_STAGE``, looked up at most once a second.

With ``MODEL_NAME=iris MODEL_STAGE=production`` the API serves the version of ``iris`` that
holds the ``production`` alias in the MLflow Model Registry (:mod:`automlops.mlops.registry`),
and follows it: promote another version (from the dashboard, the CLI, or a retraining loop) and
the API swaps it in at its next reload tick, through the same verified load and atomic swap as a
new file. The registry is asked at most every ``max(API_RELOAD_INTERVAL, 1 s)``: a promotion
takes effect within about a second, and a busy API does not hammer the tracking server.

If the registry cannot be reached, the API keeps serving what it serves, logs one warning per
outage, and looks again at the next poll: a registry outage must never take predictions down.
MLflow is imported here only when a stage is asked for, so an API without ``MODEL_STAGE`` never
pays for it (and ``GET /model`` reads the stage cached on the served model, never the registry).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from automlops.errors import AutoMLOpsError

if TYPE_CHECKING:
    from automlops.config import Settings

__all__ = ["StageWatch"]

log = logging.getLogger("automlops.serving")
MIN_POLL_SECONDS = 1.0


class StageWatch:
    """The registry version holding ``stage`` for ``name``, polled at most every ``every`` seconds."""

    def __init__(self, settings: Settings, name: str, stage: str, *, every: float | None = None) -> None:
        self.settings, self.name, self.stage = settings, name, stage
        self.every = max(settings.api_reload_interval if every is None else every, MIN_POLL_SECONDS)
        self.holder: Any = None  # the RegisteredVersion holding the stage, as last seen
        self.problem: str | None = None  # why the last poll failed (None: it worked)
        self._registry: Any = None
        self._last = float("-inf")

    def _get_registry(self) -> Any:
        if self._registry is None:
            from automlops.mlops._probe import bound_http_requests
            from automlops.mlops.registry import ModelRegistry

            bound_http_requests(self.settings)  # a dead server answers within seconds, not minutes
            self._registry = ModelRegistry(settings=self.settings)
        return self._registry

    def poll(self, *, force: bool = False) -> Any:
        """The holder now (asking the registry if the last look is ``every`` seconds old)."""
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return self.holder
        self._last = now
        try:
            registry = self._get_registry()
            self.holder = next((rv for rv in registry.versions(self.name) if self.stage in rv.aliases), None)
        except AutoMLOpsError as exc:
            self._failed(str(exc))
            return self.holder
        except Exception as exc:  # noqa: BLE001 - the reload thread must survive any registry surprise
            self._failed(f"{type(exc).__name__}: {exc}")
            return self.holder
        if self.problem is not None:
            log.info("the model registry answers again; %s is %s", self.stage, self._describe())
        self.problem = None
        return self.holder

    def _failed(self, message: str) -> None:
        if self.problem is None:  # once per outage, not once per poll
            log.warning("cannot read the %s version of %r from the model registry (still serving the current "
                        "model): %s", self.stage, self.name, " ".join(message.split()))
        self.problem = message
        if self._registry is not None:
            self._registry.recheck_connection()  # probe (briefly) before the next try

    def _describe(self) -> str:
        return f"v{self.holder.version}" if self.holder is not None else "held by no version"

    @property
    def version(self) -> int | None:
        """The store version holding the stage, as last seen (None: nobody, or not known yet)."""
        return self.holder.version if self.holder is not None else None

    def fingerprint(self) -> tuple[Any, ...]:
        """Changes when the holder changes: part of the manager's change detection."""
        return ("stage", self.stage, self.version)
