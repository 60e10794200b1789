"""Heavy imports, one thread at a time, until they are all loaded.

The dashboard keeps its first paint fast by importing scikit-learn, Optuna and MLflow lazily,
and warms them up in a background thread. But Python cannot import one package from two
threads safely when the package has internal import cycles (MLflow has many): the second thread
may receive a *partially initialised* module and fail with "cannot import name ... (most likely
due to a circular import)". So until the warm-up has loaded everything, every thread that may
import a heavy library — page runs, the warm-up itself, tracking probes, training jobs — takes
one lock; afterwards :func:`serialized` costs nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
from collections.abc import Iterator

__all__ = ["HEAVY", "TRACKING_MODULES", "is_ready", "serialized", "wait_ready", "warm_up"]

log = logging.getLogger(__name__)

# What the engines and pages import lazily, in an order that loads shared dependencies first.
TRACKING_MODULES = ("mlflow", "mlflow.entities", "mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store",
                    "mlflow.utils.rest_utils", "mlflow.artifacts", "mlflow.models", "mlflow.sklearn", "skops.io")
HEAVY = ("pandas", "sklearn", "sklearn.ensemble", "sklearn.inspection", "optuna", "optuna.importance",
         "automlops.core", "automlops.tabular.runner", "automlops.tabular.diagnostics", "automlops.tabular.predict",
         "automlops.demo", "lightgbm", "xgboost", "plotly.express", "automlops.mlops.reports", *TRACKING_MODULES)

_lock = threading.RLock()
_ready = threading.Event()
_started = threading.Event()


def is_ready() -> bool:
    return _ready.is_set()


@contextlib.contextmanager
def serialized() -> Iterator[None]:
    """Hold the import lock while heavy modules may still be loading (a no-op once they are)."""
    if _ready.is_set():
        yield
        return
    with _lock:
        yield


def import_all(names: tuple[str, ...]) -> None:
    """Import ``names`` under the lock, one module at a time (missing optional libraries are skipped)."""
    for name in names:
        with _lock:
            try:
                importlib.import_module(name)
            except Exception as exc:  # an optional library that is not installed: its user imports it later
                log.debug("warm-up could not import %s: %s", name, exc)


def warm_up() -> None:
    """Start loading :data:`HEAVY` in a background thread (once per process)."""
    if _started.is_set():
        return
    _started.set()

    def work() -> None:
        try:
            import_all(HEAVY)
        finally:
            _ready.set()

    threading.Thread(target=work, name="warm-up", daemon=True).start()


def wait_ready(timeout: float | None = None) -> bool:
    """Start the warm-up if needed and wait for it (tests; a cold command-line use)."""
    warm_up()
    return _ready.wait(timeout)
