"""Write each model object once in a skops file; later mentions of it become references.

skops saves a model by walking its attributes and writing the whole state of every object it
meets, *every time* it meets it. Fitted ensembles meet the same object more than once:

* a ``VotingClassifier`` keeps each fitted member in ``estimators_`` *and* in
  ``named_estimators_``;
* :class:`~automlops.tabular.calibration.TemperatureScaled` built on a fitted model
  (``prefit``) holds it as ``estimator`` *and* ``estimator_``.

A tempered 12-class ensemble (males_industry) thus wrote its 458-tree forest and its CatBoost and
XGBoost members four times: a 43 MB file whose 15 MB ``schema.json`` was built in memory before
being written, the training's memory peak.

skops's loader already understands references. Every node of ``schema.json`` records the
object's ``__id__``; when the loader meets an ``__id__`` it has loaded before, it reuses that
node (:class:`skops.io._audit.CachedNode` is the node type written for it). So the first
mention is written in full and every later one as ``{"__loader__": "CachedNode", "__id__": ...}``.
Loading gives back the same object graph as before, shared objects shared, and the types the
loader must trust are the same. Only scikit-learn estimators (pipelines, forests, wrappers) are
written as references: they are what ensembles share, and skops's ``__id__`` (``id(obj)``) is
unique for them during a dump because the save context holds every object it has seen.

Import this module only once ``skops.io`` is loaded (:func:`~automlops.mlops._skops.load_skops_io`,
which keeps torch out): it extends skops's ``SaveContext``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from skops.io._utils import SaveContext

__all__ = ["ReferencingSaveContext", "writing_references"]

_patch_lock = threading.Lock()


class ReferencingSaveContext(SaveContext):
    """A skops ``SaveContext`` that remembers which estimators it has written in full."""

    def __init__(self, zip_file: Any) -> None:
        super().__init__(zip_file=zip_file)
        self.written_ids: set[int] = set()


def _reference(value: Any) -> dict[str, Any]:
    from skops.io._utils import get_module

    return {"__class__": type(value).__name__, "__module__": get_module(type(value)), "__loader__": "CachedNode"}


def _writing_once(original: Callable[[Any, Any], dict[str, Any]]) -> Callable[[Any, Any], dict[str, Any]]:
    from sklearn.base import BaseEstimator

    def get_state(value: Any, save_context: Any) -> dict[str, Any]:
        if isinstance(save_context, ReferencingSaveContext) and isinstance(value, BaseEstimator):
            if id(value) in save_context.written_ids:
                return _reference(value)  # skops's get_state adds "__id__": id(value)
            save_context.written_ids.add(id(value))
        return original(value, save_context)

    return get_state


@contextmanager
def writing_references() -> Iterator[type]:
    """While open, dumps made with :class:`ReferencingSaveContext` write each estimator once.

    skops's ``get_state`` looks its per-type dispatcher (``_utils._get_state``) up at every call,
    so wrapping that one name reaches every nested object; other save contexts are untouched.
    """
    import skops.io._utils as skops_utils

    with _patch_lock:
        original = skops_utils._get_state
        skops_utils._get_state = _writing_once(original)
        try:
            yield ReferencingSaveContext
        finally:
            skops_utils._get_state = original
