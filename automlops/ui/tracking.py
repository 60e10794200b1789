"""The tracking target: where new runs are logged and where the Experiments page reads them.

Two choices: the embedded SQLite store under the studio home (works offline, nothing to set
up), or a remote MLflow server reached with a URI + username + token. DagsHub is one such
server: its MLflow URI is ``https://dagshub.com/<owner>/<repo>.mlflow``, so the DagsHub preset
only fills the URI from owner and repository.

The *active* target is one per dashboard process (what new runs use and the Experiments page
reads); switching builds a new ``Tracker(settings=Settings(...))`` and takes effect on the next
run, without restarting. Credentials are not process-wide: each
:class:`~automlops.mlops.tracking.Tracker` sends its own with its own requests only, so probing
another server from the Settings page while a job logs to the active one sends each server its
own identity and nothing else. The token lives only in memory: never in the environment, never
logged, never shown again, never stored as a param.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from automlops.config import Settings, get_settings
from automlops.core.redact import URL_USERINFO, redact
from automlops.errors import ConfigError
from automlops.mlops.tracking import ConnectionStatus, Tracker
from automlops.ui import imports

__all__ = ["TrackingTarget", "cached_status", "check", "connect", "current_target", "current_tracker",
           "dagshub_target", "local_target", "new_tracker", "refresh_status", "reset", "server_target"]

Kind = Literal["local", "dagshub", "server"]
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
STATUS_TTL_S = 60.0


@dataclass(frozen=True)
class TrackingTarget:
    """Local SQLite, DagsHub or any MLflow server (``token`` is kept out of ``repr``)."""

    kind: Kind
    uri: str | None = None
    username: str | None = None
    token: str | None = field(default=None, repr=False)
    name: str = ""  # "owner/repo" for DagsHub

    @property
    def is_remote(self) -> bool:
        return self.kind != "local"

    @property
    def label(self) -> str:
        return {"local": "Local SQLite store", "dagshub": f"DagsHub {self.name}",
                "server": "MLflow server"}[self.kind]

    @property
    def key(self) -> str:
        """Identifies the target without revealing the token (a digest of it)."""
        digest = hashlib.sha256((self.token or "").encode()).hexdigest()[:12]
        return f"{self.kind}|{self.uri}|{self.username}|{digest}"

    def settings(self) -> Settings:
        """Settings for this target (everything else from the environment)."""
        # Environment names as keys: they are what Settings accepts as constructor arguments.
        if not self.is_remote:
            return get_settings(MLFLOW_TRACKING_URI=None, MLFLOW_TRACKING_USERNAME=None, MLFLOW_TRACKING_PASSWORD=None)
        return get_settings(MLFLOW_TRACKING_URI=self.uri, MLFLOW_TRACKING_USERNAME=self.username or None,
                            MLFLOW_TRACKING_PASSWORD=self.token or None)

    def display_uri(self, settings: Settings | None = None) -> str:
        if not self.is_remote:
            return (settings or self.settings()).resolved_tracking_uri
        return redact(self.uri or "", self.token)


def local_target() -> TrackingTarget:
    return TrackingTarget("local")


def dagshub_target(owner: str, repo: str, username: str, token: str) -> TrackingTarget:
    """DagsHub's MLflow endpoint for ``owner/repo`` (the username defaults to the owner)."""
    owner, repo = owner.strip(), repo.strip().removesuffix(".git")
    for what, value in (("owner", owner), ("repository", repo)):
        if not _NAME.fullmatch(value):
            raise ConfigError(f"the DagsHub {what} {value!r} is not valid: use letters, digits, '-', '_' or '.'")
    if not token.strip():
        raise ConfigError("DagsHub needs a token: create one under Settings → Tokens on dagshub.com")
    return TrackingTarget("dagshub", f"https://dagshub.com/{owner}/{repo}.mlflow", username.strip() or owner,
                          token.strip(), name=f"{owner}/{repo}")


def server_target(uri: str, username: str = "", password: str = "") -> TrackingTarget:
    """Any MLflow tracking server (``http(s)://host:port``), optionally with basic-auth credentials."""
    uri = uri.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", uri):
        raise ConfigError("the tracking URI must start with http:// or https:// (e.g. http://127.0.0.1:5000)")
    if URL_USERINFO.match(uri):
        raise ConfigError("put the username and password in their own fields, not inside the URI")
    if bool(username.strip()) != bool(password):
        raise ConfigError("give both a username and a password/token, or neither")
    return TrackingTarget("server", uri, username.strip() or None, password or None)


# ----------------------------------------------------------------------- process-wide state
_lock = threading.RLock()
_target: TrackingTarget | None = None  # None: as configured in the environment
_trackers: dict[str, Tracker] = {}
_status: dict[str, tuple[ConnectionStatus, float]] = {}
_probing: set[str] = set()


def _from_environment() -> TrackingTarget:
    env = Settings()
    if env.tracking_uri and env.tracking_uri.startswith(("http://", "https://")):
        return TrackingTarget("server", env.tracking_uri, env.tracking_username, env.tracking_password)
    return local_target()


def current_target() -> TrackingTarget:
    """The active target: the last one connected from the Settings page, else the environment's."""
    with _lock:
        return _target if _target is not None else _from_environment()


def _tracker_key(target: TrackingTarget, settings: Settings) -> str:
    return f"{target.key}|{settings.home}|{settings.experiment_name}"


def current_tracker() -> Tracker:
    """A cached :class:`Tracker` for the active target (for reading runs)."""
    target = current_target()
    settings = target.settings()
    key = _tracker_key(target, settings)
    with _lock:
        if key not in _trackers:
            _trackers[key] = Tracker(settings=settings)
        return _trackers[key]


def new_tracker(target: TrackingTarget | None = None) -> Tracker:
    """A fresh :class:`Tracker` (one per training job: its client is used from the job's thread)."""
    return Tracker(settings=(target or current_target()).settings())


def check(target: TrackingTarget | None = None, timeout: float = 3.0) -> ConnectionStatus:
    """Probe ``target`` (default: the active one) with one real request; remember the answer."""
    target = target or current_target()
    if target.key == current_target().key:
        status = current_tracker().check_connection(timeout=timeout)
    else:  # a tracker of its own: the probe carries this target's credentials, and only the probe does
        status = new_tracker(target).check_connection(timeout=timeout)
    with _lock:
        _status[target.key] = (status, time.monotonic())
    return status


def connect(target: TrackingTarget, timeout: float = 3.0) -> ConnectionStatus:
    """Switch to ``target`` if it answers as connected; otherwise keep the current one."""
    status = check(target, timeout=timeout)
    if status.ok or not target.is_remote:
        global _target
        with _lock:
            _target = target
    return status


def cached_status(target: TrackingTarget | None = None) -> ConnectionStatus | None:
    """The last known status of ``target`` (``None`` if never checked or older than a minute)."""
    target = target or current_target()
    with _lock:
        entry = _status.get(target.key)
    if entry is None or time.monotonic() - entry[1] > STATUS_TTL_S:
        return None
    return entry[0]


def refresh_status(target: TrackingTarget | None = None, timeout: float = 3.0) -> None:
    """Re-check ``target`` in a background thread (pages never wait for MLflow to import)."""
    target = target or current_target()
    with _lock:
        if target.key in _probing:
            return
        _probing.add(target.key)

    def probe() -> None:
        try:
            with imports.serialized():  # it may be the first to import MLflow
                check(target, timeout=timeout)
        except Exception:  # a status probe must never take the dashboard down
            pass
        finally:
            with _lock:
                _probing.discard(target.key)

    threading.Thread(target=probe, name="tracking-status", daemon=True).start()


def reset() -> None:
    """Forget the chosen target, cached trackers and statuses (tests)."""
    global _target
    with _lock:
        _target = None
        _trackers.clear()
        _status.clear()
