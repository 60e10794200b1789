"""Which adapter turns a saved model of each kind into a :class:`~automlops.stability.types.StabilitySubject`.

Each engine family registers one *builder* here, by model kind (``meta["kind"]``): a function
``build(loaded: LoadedModel) -> StabilitySubject`` that reads the model's configuration and its
dataset version (named in ``loaded.meta["dataset"]``) and returns a subject the analysis can refit.
Builders are named by dotted path and imported on first use, so importing the stability package
stays cheap and loads no engine it does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from automlops.core.registry import Registry

if TYPE_CHECKING:
    from automlops.stability.types import StabilitySubject

__all__ = ["SUBJECTS", "subject_for"]


def _builtin(registry: Registry[str]) -> None:
    registry.add("tabular", "automlops.stability.tabular:saved_subject")
    registry.add("clustering", "automlops.stability.clustering:saved_subject")
    registry.add("anomaly", "automlops.stability.anomaly:saved_subject")
    registry.add("forecasting", "automlops.stability.forecasting:saved_subject")
    registry.add("vision", "automlops.stability.vision:saved_subject")


SUBJECTS: Registry[str] = Registry("stability subject", loader=_builtin)


def subject_for(loaded: Any) -> StabilitySubject:
    """The stability subject of a loaded model (:class:`~automlops.mlops.store.LoadedModel`), by its kind."""
    from automlops.tasks import model_kind

    module, _, name = SUBJECTS.get(model_kind(loaded.meta)).partition(":")
    return getattr(importlib.import_module(module), name)(loaded)  # type: ignore[no-any-return]
