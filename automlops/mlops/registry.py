"""The model registry: every saved version in MLflow's Model Registry, with stages and their history.

The :class:`~automlops.mlops.store.ModelStore` keeps the files (signed, write-once); MLflow's
*Model Registry* is where a team sees which version is which and decides which one serves.
Each saved ``NAME@vN`` becomes a version of the registered model ``NAME``, tagged with its
store version (``automlops.store_version``: users always speak of the store's ``v3``; MLflow's
own numbering may differ), its dataset name, version and SHA-256, the run that trained it and its
parent when it was retrained. Its ``source`` is the run's model (``runs:/<run id>/model``) when
the training was tracked, else the version folder on disk.

**Stages.** MLflow's old stages (Staging, Production, Archived) are deprecated since MLflow 2.9
in favour of *aliases*: a named pointer to one version (``models:/NAME@production``). The
studio models the seed's stages as two aliases, ``staging`` and ``production``, and a version
tag ``archived``. An archived version holds no alias and cannot be promoted again. A version
holds one stage at a time: promoting the staging version to production moves it.

**History.** Aliases have no memory, so every transition (who, when, why, which version held
the stage before) is written as a tag of the registered model itself (see
:mod:`automlops.mlops._stage_history`): the history lives in the registry and works against a
remote server too. *Rollback* gives a stage back to the version that held it before.

Everything goes through the :class:`~automlops.mlops.tracking.Tracker`'s client: the same
credentials (bound to this client only), the same redaction of secrets in messages and the same
:class:`~automlops.errors.TrackingError` for a registry that is down.
"""

from __future__ import annotations

import contextlib
import getpass
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from automlops.config import Settings, get_settings
from automlops.core.redact import redact
from automlops.errors import AutoMLOpsError, ConfigError, NotFoundError, TrackingError
from automlops.mlops._stage_history import Transition, decode_history, history_tag, now_iso, rollback_target
from automlops.mlops.tracking import Tracker

if TYPE_CHECKING:
    from automlops.mlops.store import ModelStore, StoredModel

__all__ = ["ARCHIVED", "STAGES", "ModelRegistry", "RegisteredVersion", "Transition", "register_saved"]

STAGES = ("staging", "production")
ARCHIVED = "archived"
STORE_VERSION_TAG = "automlops.store_version"
_TAGS = {"run_id": "automlops.run_id", "dataset": "automlops.dataset", "dataset_version": "automlops.dataset_version",
         "dataset_sha256": "automlops.dataset_sha256", "parent": "automlops.parent"}
_MAX_PAGE = 1000


@dataclass(frozen=True)
class RegisteredVersion:
    """One registered version, named by its ModelStore version, with its lineage and aliases."""

    name: str
    version: int
    registry_version: int
    run_id: str | None
    dataset: str | None
    dataset_version: int | None
    dataset_sha256: str | None
    aliases: tuple[str, ...]
    archived: bool
    parent: str | None
    created: datetime | None

    @property
    def stage(self) -> str | None:
        """``"production"`` > ``"staging"`` > ``"archived"`` > None."""
        for stage in reversed(STAGES):
            if stage in self.aliases:
                return stage
        return ARCHIVED if self.archived else None

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"


def _check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise ConfigError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)} (archive with 'archive')")
    return stage


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class ModelRegistry:
    """Register ModelStore versions in MLflow and move them between stages (see the module docstring).

    ``tracker`` (default: one built from ``settings``) gives the client, its credentials and its
    error handling; the registry lives at the tracker's URI.
    """

    def __init__(self, tracker: Tracker | None = None, *, settings: Settings | None = None) -> None:
        self.tracker = tracker if tracker is not None else Tracker(settings=settings or get_settings())
        self.settings = self.tracker.settings
        self._reachable = not self.tracker.is_remote
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ModelRegistry({self.tracker!r})"

    # ------------------------------------------------------------------ plumbing
    @property
    def client(self) -> Any:
        """The tracker's client; a remote server is probed once first (a clear error, no long retries)."""
        if not self._reachable:
            status = self.tracker.check_connection(self.settings.tracking_probe_timeout)
            if not status.ok:
                raise TrackingError(f"the MLflow model registry is not available: {status.message}")
            self._reachable = True
        return self.tracker.client

    def recheck_connection(self) -> None:
        """Probe a remote server again before the next call (after a failure: a short probe, not long retries)."""
        self._reachable = not self.tracker.is_remote

    @contextlib.contextmanager
    def _calls(self, action: str, missing: str | None = None) -> Iterator[None]:
        """MLflow failures as TrackingError; a missing model as NotFoundError(``missing``) when given."""
        try:
            with self.tracker._errors(action):
                yield
        except TrackingError as exc:
            cause = getattr(exc.__cause__, "error_code", None)
            if missing is not None and cause == "RESOURCE_DOES_NOT_EXIST":
                raise NotFoundError(missing) from None
            raise

    def _who(self, who: str | None) -> str:
        if who:
            return who
        if self.tracker.is_remote and self.settings.tracking_username:
            return self.settings.tracking_username
        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no user name in this container
            return "unknown"

    def _record(self, transition: Transition) -> Transition:
        with self._calls(f"record the history of {transition.name!r}"):
            self.client.set_registered_model_tag(transition.name, history_tag(), transition.to_json())
        return transition

    def _transition(self, name: str, version: int | None, action: str, stage: str | None,
                    previous: int | None, reason: str, who: str | None) -> Transition:
        return Transition(name=name, version=version, action=action, stage=stage, previous_version=previous,
                          who=self._who(who), when=now_iso(), reason=" ".join(str(reason or "").split()))

    # ------------------------------------------------------------------ reading
    def _model(self, name: str) -> Any:
        with self._calls(f"read registered model {name!r}",
                         missing=f"no registered model named {name!r}: save a version first, or run "
                                 f"'automlops models promote {name}@vN' to register the saved ones"):
            return self.client.get_registered_model(name)

    def _mlflow_versions(self, name: str) -> list[Any]:
        found: list[Any] = []
        token = None
        with self._calls(f"list the versions of {name!r}"):
            while True:
                page = self.client.search_model_versions(f"name='{name}'", max_results=_MAX_PAGE, page_token=token)
                found.extend(page)
                token = getattr(page, "token", None)
                if not token:
                    return found

    def versions(self, name: str) -> list[RegisteredVersion]:
        """Every registered version of ``name`` by store version (oldest first); NotFoundError if none."""
        return self._build(name, self._model(name), self._mlflow_versions(name))

    @staticmethod
    def _build(name: str, model: Any, mlflow_versions: list[Any]) -> list[RegisteredVersion]:
        aliases: dict[int, list[str]] = {}
        for alias, registry_version in (getattr(model, "aliases", None) or {}).items():
            aliases.setdefault(int(registry_version), []).append(alias)
        by_store: dict[int, RegisteredVersion] = {}
        for mv in sorted(mlflow_versions, key=lambda m: int(m.version)):
            tags = dict(mv.tags or {})
            number = _int_or_none(tags.get(STORE_VERSION_TAG))
            if number is None or number in by_store:  # not ours, or a duplicate of a race: the first wins
                continue
            created = (datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC)
                       if mv.creation_timestamp else None)
            by_store[number] = RegisteredVersion(
                name=name, version=number, registry_version=int(mv.version),
                run_id=tags.get(_TAGS["run_id"]) or mv.run_id or None, dataset=tags.get(_TAGS["dataset"]),
                dataset_version=_int_or_none(tags.get(_TAGS["dataset_version"])),
                dataset_sha256=tags.get(_TAGS["dataset_sha256"]),
                aliases=tuple(sorted(aliases.get(int(mv.version), []))),
                archived=tags.get(ARCHIVED, "").lower() == "true", parent=tags.get(_TAGS["parent"]), created=created)
        return [by_store[n] for n in sorted(by_store)]

    def _version(self, name: str, version: int) -> RegisteredVersion:
        for rv in self.versions(name):
            if rv.version == version:
                return rv
        raise NotFoundError(f"{name}@v{version} is not registered: no such saved version, or not registered yet "
                            f"('automlops models promote' registers saved versions first)")

    def version_at(self, name: str, stage: str) -> int | None:
        """The store version holding ``stage`` (an alias), or None."""
        _check_stage(stage)
        held = (getattr(self._model(name), "aliases", None) or {}).get(stage)
        if held is None:
            return None
        for rv in self.versions(name):
            if rv.registry_version == int(held):
                return rv.version
        return None

    def stage_of(self, name: str, version: int) -> str | None:
        """``"production"``, ``"staging"``, ``"archived"`` or None for one store version."""
        return self._version(name, version).stage

    def history(self, name: str) -> list[Transition]:
        """Every recorded transition of ``name``, oldest first."""
        return decode_history(name, dict(self._model(name).tags or {}))

    # ------------------------------------------------------------------ registering
    def register(self, stored: StoredModel) -> RegisteredVersion:
        """Register one saved version (idempotent: an already registered version is returned as is)."""
        with self._lock:
            model = self._ensure_model(stored.name)
            for rv in self._build(stored.name, model, self._mlflow_versions(stored.name)):
                if rv.version == stored.version:
                    return rv
            meta = stored.meta or {}
            raw = meta.get("dataset")
            dataset: dict[str, Any] = raw if isinstance(raw, dict) else {}
            run_id = meta.get("run_id") or None
            values = {"run_id": run_id, "dataset": dataset.get("name"), "dataset_version": dataset.get("version"),
                      "dataset_sha256": dataset.get("sha256"), "parent": meta.get("parent")}
            tags = {STORE_VERSION_TAG: str(stored.version),
                    **{_TAGS[k]: str(v) for k, v in values.items() if v not in (None, "")}}
            source = f"runs:/{run_id}/model" if run_id else self._local_source(stored)
            with self._calls(f"register {stored.ref}"):
                mv = self.client.create_model_version(stored.name, source, run_id=run_id, tags=tags,
                                                      description=f"ModelStore version {stored.ref}")
            self._record(self._transition(stored.name, stored.version, "register", None, None,
                                          f"saved as {stored.ref}" + (f" by run {run_id}" if run_id else ""), None))
            return self._build(stored.name, None, [mv])[0]

    def _local_source(self, stored: StoredModel) -> str:
        """Where the files are when no run holds them: the version folder (a placeholder on a server,
        which refuses local paths outside a run's artifacts)."""
        if self.tracker.is_remote:
            return f"automlops-store:/{stored.name}/v{stored.version:04d}"
        return stored.path.resolve().as_uri()

    def _ensure_model(self, name: str) -> Any:
        """The registered model ``name``, created if missing (a concurrent creation is fine)."""
        with self._calls(f"create registered model {name!r}"):
            try:
                return self.client.get_registered_model(name)
            except Exception as exc:
                if getattr(exc, "error_code", None) != "RESOURCE_DOES_NOT_EXIST":
                    raise
            try:
                return self.client.create_registered_model(name, description="Saved by AutoMLOps Studio")
            except Exception as exc:  # another process created it first
                if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                    raise
                return self.client.get_registered_model(name)

    def sync(self, store: ModelStore, name: str | None = None) -> list[RegisteredVersion]:
        """Register every saved version the registry misses (of ``name``, or of every model); returns them."""
        names = [name] if name else store.names()
        added: list[RegisteredVersion] = []
        for model_name in names:
            try:
                known = {rv.version for rv in self.versions(model_name)}
            except NotFoundError:
                known = set()
            for stored in store.versions(model_name):
                if stored.version not in known and stored.meta:
                    added.append(self.register(stored))
        return added

    # ------------------------------------------------------------------ stages
    def promote(self, name: str, version: int, to: str, *, reason: str = "", who: str | None = None) -> Transition:
        """Give ``to`` (staging or production) to ``name@v<version>``; refuses a missing or archived version."""
        _check_stage(to)
        target = self._version(name, version)
        if target.archived:
            raise ConfigError(f"{target.ref} is archived and cannot be promoted; promote another version "
                              "(archiving is final so that a retired model never serves again by accident)")
        previous = self.version_at(name, to)
        if previous == version:
            return self._transition(name, version, "promote", to, previous, f"already in {to}", who)
        with self._calls(f"promote {target.ref} to {to}"):
            self.client.set_registered_model_alias(name, to, str(target.registry_version))
            for other in target.aliases:  # one stage per version: staging -> production moves it
                if other != to and other in STAGES:
                    self.client.delete_registered_model_alias(name, other)
        return self._record(self._transition(name, version, "promote", to, previous, reason, who))

    def demote(self, name: str, stage: str, *, reason: str = "", who: str | None = None) -> Transition:
        """Take ``stage`` away from the version holding it (no version then holds it)."""
        _check_stage(stage)
        holder = self.version_at(name, stage)
        if holder is None:
            raise ConfigError(f"no version of {name!r} is in {stage}: nothing to demote")
        with self._calls(f"demote {name}@v{holder} from {stage}"):
            self.client.delete_registered_model_alias(name, stage)
        return self._record(self._transition(name, holder, "demote", stage, holder, reason, who))

    def note(self, name: str, version: int, reason: str, *, action: str = "note", who: str | None = None) -> Transition:
        """Record an event that moves no stage (a challenger that lost, say) in ``name``'s history."""
        self._version(name, version)  # NotFoundError for a version the registry does not know
        return self._record(self._transition(name, version, action, None, None, reason, who))

    def archive(self, name: str, version: int, *, reason: str = "", who: str | None = None) -> Transition:
        """Retire ``name@v<version>``: tag it archived and take its stages away."""
        target = self._version(name, version)
        if target.archived:
            return self._transition(name, version, "archive", None, None, "already archived", who)
        held = next((s for s in reversed(STAGES) if s in target.aliases), None)
        with self._calls(f"archive {target.ref}"):
            self.client.set_model_version_tag(name, str(target.registry_version), ARCHIVED, "true")
            for alias in target.aliases:
                self.client.delete_registered_model_alias(name, alias)
        return self._record(self._transition(name, version, "archive", held, version if held else None, reason, who))

    def rollback(self, name: str, stage: str = "production", *, reason: str = "",
                 who: str | None = None) -> Transition:
        """Give ``stage`` back to the version that held it before the current one (from the history)."""
        _check_stage(stage)
        usable = {rv.version: rv for rv in self.versions(name)  # staging never takes production's version
                  if not rv.archived and (stage == "production" or "production" not in rv.aliases)}
        current = self.version_at(name, stage)
        target = rollback_target(self.history(name), stage, current, lambda v: v in usable)
        if target is None:
            raise ConfigError(f"no earlier version of {name!r} held {stage} (and is not archived): "
                              "nothing to roll back to")
        with self._calls(f"roll {name} {stage} back to v{target}"):
            self.client.set_registered_model_alias(name, stage, str(usable[target].registry_version))
            for other in usable[target].aliases:
                if other != stage and other in STAGES:
                    self.client.delete_registered_model_alias(name, other)
        return self._record(self._transition(name, target, "rollback", stage, current, reason, who))


# ---------------------------------------------------------------------- the hook after every save
_registries: dict[tuple[str, str | None, str | None, str], ModelRegistry] = {}
_registries_lock = threading.Lock()


def _registry_for(settings: Settings, tracker: Tracker | None) -> ModelRegistry:
    """One registry (one client) per tracking target per process: saving many models stays cheap."""
    if tracker is not None:
        return ModelRegistry(tracker)
    key = (settings.resolved_tracking_uri, settings.tracking_username, settings.tracking_password,
           settings.experiment_name)
    with _registries_lock:
        if key not in _registries:
            _registries[key] = ModelRegistry(settings=settings)
        return _registries[key]


def register_saved(stored: StoredModel, *, settings: Settings | None = None,
                   tracker: Tracker | None = None) -> str | None:
    """Register a freshly saved version, best effort: None on success, else a one-line note.

    The version is already safe on disk; a registry that is down or refuses only costs a note
    (``automlops models promote`` registers the missed versions later). ``tracker`` is the one
    the training used (its client is open already); without it, the settings' registry is tried,
    a remote one after one short probe.
    """
    try:
        settings = settings or (tracker.settings if tracker is not None else get_settings())
        if not settings.register_models or stored.path.parent.parent != settings.models_dir.resolve():
            return None  # switched off, or a store outside the studio home (its registry is not ours)
        _registry_for(settings, tracker).register(stored)
        return None
    except AutoMLOpsError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - a registry failure must never lose the saved model
        reason = redact(f"{type(exc).__name__}: {exc}", getattr(settings, "tracking_password", None))
    note = (f"the model is saved locally as {stored.ref}; registering it in MLflow failed: "
            f"{' '.join(reason.split())[:300]}; 'automlops models register {stored.name}' registers it later")
    return note
