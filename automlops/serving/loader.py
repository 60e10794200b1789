"""Loading the model to serve, and swapping in new versions without a restart (hot reload).

**What gets served.** The API follows the user's intent, never just "the newest file":

1. ``models/SERVING.json`` (written by the dashboard's *Serve this version*, see
   :mod:`automlops.mlops.serving_pointer`) names one exact version: it beats everything below,
   and is read again on every reload tick, so the choice takes effect without a restart;
2. ``MODEL_NAME`` (+ ``MODEL_VERSION``) pins a name (and a version); with ``MODEL_STAGE`` the
   version is the one holding that stage in the model registry, followed as it is promoted
   (:mod:`automlops.serving.stage`);
3. otherwise the newest model in the store *at start-up*, whose name is then pinned.

With a pinned name, only newer versions **of that name** are hot-reloaded: training another
dataset saves a model under another name and leaves the served one alone, so clients built for
its columns keep working.

**How a new version comes in.** A background thread looks at ``models/`` every
``API_RELOAD_INTERVAL`` seconds (a directory listing: cheap). When something changed it
*loads the candidate beside the served model*: ``meta.json`` first (a kind and task the API
can serve, see :mod:`automlops.serving.predictors`, and a feature schema), then the signature
and SHA-256 checks and the file itself (:meth:`ModelStore.load`), then the predictor its kind calls for is
built and smoke-tested (predict one example row), then the fast preprocessing path is compiled
and checked (:mod:`automlops.serving.fastpath`).
Only a model that passes all of that replaces the served one, in a single reference
assignment: a request that already holds the old model finishes with it, the next one gets
the new one, and no request sees half of each. A truncated, tampered or schema-broken
version is refused, counted on ``/metrics``, logged, and remembered so it is not retried;
the old model keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from automlops.errors import AutoMLOpsError, ModelError, NotFoundError
from automlops.mlops.serving_pointer import SERVING_FILE, ServingPointer, read_serving_pointer
from automlops.mlops.store import ModelStore, StoredModel
from automlops.serving.metrics import Metrics
from automlops.serving.served import ServedModel
from automlops.serving.stage import StageWatch

__all__ = ["ModelManager", "Reloader", "ServedModel", "load_served"]

log = logging.getLogger("automlops.serving")
MAX_TRIES_PER_REFRESH = 5


def _check_meta(meta: dict[str, Any], name: str, version: int) -> None:
    """Refuse metadata that does not describe a servable model (before the model file is read)."""
    from automlops.serving.predictors import feature_schema_for, predictor_for  # first use: see its docstring

    if meta.get("name") != name or meta.get("version") != version:
        raise ModelError(f"meta.json names {meta.get('name')!r} v{meta.get('version')!r}, "
                         f"but the folder is {name} v{version}")
    spec, _ = predictor_for(meta, name, version)  # a kind and task this API can serve
    feature_schema_for(meta, spec)  # a usable feature schema, for kinds asked with rows


def load_served(store: ModelStore, name: str, version: int, stored: StoredModel | None = None) -> ServedModel:
    """Verify and load one version; raise an AutoMLOpsError saying why it cannot be served."""
    from automlops.serving.predictors import build_served

    if stored is not None and stored.meta:  # unreadable meta: store.load below says exactly why
        _check_meta(stored.meta, name, version)
    loaded = store.load(name, version)  # signature and SHA-256 checked before the file is read
    _check_meta(loaded.meta, name, version)
    served = build_served(loaded.meta, name, version, loaded.model)  # the predictor its kind calls for
    served.smoke_test()  # a model that cannot answer one plausible request is broken
    served.compile()
    return served


class ModelManager:
    """Holds the served model and replaces it when a newer valid version appears.

    ``name`` / ``version`` are the pin (``MODEL_NAME`` / ``MODEL_VERSION``); without a name, the
    first model served pins its name. ``pointer`` is the ``SERVING.json`` choice in force, if any.
    """

    def __init__(self, store: ModelStore, *, name: str | None = None, version: int | None = None,
                 metrics: Metrics | None = None, stage: StageWatch | None = None) -> None:
        self.store = store
        self.name, self.version = name, version
        self.stage = stage  # MODEL_STAGE: the registry says which version of ``name`` to serve
        self.pointer: ServingPointer | None = None
        self.metrics = metrics or Metrics()
        self.current: ServedModel | None = None  # replaced by one assignment: atomic for readers
        self.problem: str | None = "no model loaded yet"
        self.refused: dict[tuple[Any, ...], str] = {}
        self._fingerprint: Any = None
        self._lock = threading.Lock()  # one refresh at a time

    # ------------------------------------------------------------------ change detection
    def _snapshot(self) -> Any:
        """Names, version folders, LATEST times and the pointer: changes when anything is published or chosen."""
        entries: list[Any] = []
        try:
            with os.scandir(self.store.root) as it:
                names = sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))
        except OSError:
            return None
        try:
            st = os.stat(self.store.root / SERVING_FILE)  # the user's "serve this version"
            entries.append((SERVING_FILE, st.st_size, st.st_mtime_ns))
        except OSError:
            pass
        for name in names:
            folder = self.store.root / name
            try:
                versions = tuple(sorted(p for p in os.listdir(folder) if not p.startswith(".")))
                latest = os.stat(folder / "LATEST").st_mtime_ns if "LATEST" in versions else 0
            except OSError:
                continue
            entries.append((name, versions, latest))
        if self.stage is not None:
            entries.append(self._stage_fingerprint())
        return tuple(entries)

    def _stage_fingerprint(self) -> tuple[Any, ...]:
        """Poll the registry (rate-limited) and keep the served model's stage label up to date."""
        stage = self.stage
        assert stage is not None
        stage.poll()
        current = self.current
        if current is not None and stage.problem is None:
            current.stage = stage.stage if current.version == stage.version else None
        return stage.fingerprint()

    def _read_pointer(self) -> ServingPointer | None:
        """``SERVING.json``, or None; an unreadable one is logged and ignored (the pin decides)."""
        try:
            return read_serving_pointer(self.store.root)
        except AutoMLOpsError as exc:
            log.warning("ignoring the serving pointer: %s", exc)
            return None

    def _candidates(self) -> list[StoredModel]:
        """Versions worth serving, best first: the pointer's version, else the pin's."""
        self.pointer = self._read_pointer()
        if self.pointer is not None:
            return self._versions_of(self.pointer.name, self.pointer.version)
        if self.name is None:
            models = self.store.list_models()
            return sorted(models, key=lambda m: (m.created, m.name, m.version), reverse=True)
        if self.stage is not None:
            held = self.stage.version
            return self._versions_of(self.name, held) if held is not None else []
        return self._versions_of(self.name, self.version)

    def _versions_of(self, name: str, version: int | None) -> list[StoredModel]:
        """Versions of ``name`` (only ``version`` when given), LATEST first then newest first."""
        try:
            versions = self.store.versions(name)
        except NotFoundError:
            return []
        if version is not None:
            return [v for v in versions if v.version == version]
        _, latest = self.store.resolve(name)
        return sorted(versions, key=lambda v: (v.version == latest, v.version), reverse=True)

    @staticmethod
    def _key(stored: StoredModel) -> tuple[Any, ...]:
        """Identifies a version *and its files*: a refusal is forgotten if the files change."""
        stamps: list[tuple[str, int, int]] = []
        try:
            with os.scandir(stored.path) as it:  # meta.json and the model file, whatever its format
                for entry in it:
                    st = entry.stat()
                    stamps.append((entry.name, st.st_size, st.st_mtime_ns))
        except OSError:
            pass
        return (stored.name, stored.version, *sorted(stamps))

    # ------------------------------------------------------------------ refresh
    def refresh(self, *, force: bool = False) -> bool:
        """Look for a better model; swap it in if it loads and verifies. True if the model changed."""
        with self._lock:
            snapshot = self._snapshot()
            if not force and snapshot == self._fingerprint:
                return False
            self._fingerprint = snapshot
            try:
                candidates = self._candidates()
            except AutoMLOpsError as exc:
                self.problem = str(exc)
                return False
            return self._try(candidates)

    def _try(self, candidates: list[StoredModel]) -> bool:
        tries = 0
        for stored in candidates:
            current = self.current
            if current is not None and (stored.name, stored.version) == (current.name, current.version):
                return False  # the served model is the best valid one
            key = self._key(stored)
            if key in self.refused:
                continue
            try:
                served = load_served(self.store, stored.name, stored.version, stored)
            except Exception as exc:  # noqa: BLE001 - anything wrong with a candidate is a refusal
                self._refuse(key, stored, exc)
                tries += 1
                if tries >= MAX_TRIES_PER_REFRESH:
                    self._fingerprint = None  # come back next time for the rest
                    return False
                continue
            self._serve(served)
            return True
        if self.current is None and not self.refused:
            self.problem = self._nothing_to_serve()
        return False

    def _serve(self, served: ServedModel) -> None:
        """Swap ``served`` in (one assignment) and pin its name if nothing was pinned yet."""
        holder = self.stage.holder if self.stage is not None and self.pointer is None else None
        if holder is not None and holder.version == served.version:
            served.stage, served.registry_version = self.stage.stage, holder.registry_version  # type: ignore[union-attr]
        self.current = served
        self.problem = None
        if self.name is None:
            self.name = served.name  # from now on only newer versions of this name are served
        self.metrics.model_reload("success")
        why = (f"asked by {SERVING_FILE}" if self.pointer is not None
               else f"{served.stage} in the model registry" if served.stage else f"following {self.name!r}")
        log.info("serving model %s v%d (%s; %s)", served.name, served.version, served.task, why)

    def _nothing_to_serve(self) -> str:
        if self.pointer is not None:
            return (f"{SERVING_FILE} asks for {self.pointer.ref}, which is not in the model store: "
                    "pick another version on the Models page, or delete the file")
        if self.stage is not None:
            why = self.stage.problem or f"no version of {self.name!r} holds {self.stage.stage} in the model registry"
            return f"nothing to serve for {self.name}@{self.stage.stage}: {why}"
        pinned = f" named {self.name!r}" + (f" at v{self.version}" if self.version else "") if self.name else ""
        return f"no model{pinned} in the model store yet: train one (automlops train ...)"

    def _refuse(self, key: tuple[Any, ...], stored: StoredModel, exc: BaseException) -> None:
        reason = str(exc) if isinstance(exc, AutoMLOpsError) else f"{type(exc).__name__}: {exc}"
        self.refused[key] = reason
        self.metrics.model_reload("refused")
        log.warning("refused model %s v%d: %s", stored.name, stored.version, reason)
        if self.current is None:
            self.problem = f"{stored.ref} was refused: {reason}"


class Reloader:
    """The background thread that calls :meth:`ModelManager.refresh` every ``interval`` seconds."""

    def __init__(self, manager: ModelManager, interval: float) -> None:
        self.manager, self.interval = manager, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Reloader:
        self._thread = threading.Thread(target=self._run, name="model-reloader", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.manager.refresh()
            except Exception:  # never let the thread die: the next look may work
                log.exception("model reload check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

