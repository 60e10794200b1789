"""What the API builds from a stored model, chosen by the model's *kind* (and then its task).

A stored model says what it is in ``meta.json``: its ``kind`` (``"tabular"``, ``"clustering"``,
``"vision"``...) and its ``task``. Each kind the API can answer for has an entry in
:data:`PREDICTORS`: the tasks it accepts and a builder that checks the loaded object and wraps
it in a :class:`ServedModel` (or a subclass that answers differently). Serving a new kind is
one ``PREDICTORS.add(...)``, not another ``if`` in the loader; a kind without an entry is
refused with a reason, before its file is even read. (The loader imports this module when it
first checks a model, not when the API starts: the registry pulls in :mod:`automlops.core`,
which imports pandas and scikit-learn, and ``import api`` must stay fast.)

* ``tabular``: classifiers (predictions are labels, plus probabilities per class) and
  regressors (predictions are numbers).
* ``clustering``: predictions are the cluster each row falls in (whole numbers), with no
  probabilities. Rows are validated against the same feature schema as tabular models. Only
  clusterers that can place *new* rows can be served (k-means: the nearest centre); the clustering
  engine gives DBSCAN, HDBSCAN and agglomerative clustering an assigner for that, and a bare
  DBSCAN, which only labels the rows it was fitted on, is refused.
* ``anomaly``: predictions are 0/1 flags, with each row's anomaly score and the threshold.
* ``forecasting``: a request names a horizon (or future rows) and gets the forecast back with
  its 80 and 95 % intervals.
* ``vision``: a torch module, asked with images instead of rows
  (:mod:`automlops.serving.vision`): labels with probabilities, masks, or boxes. It has no
  feature schema, and its entry names the engine to import before its file is read: the
  model store rebuilds the network from ``meta["architecture"]``, which that engine registers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from automlops.core.registry import Registry
from automlops.errors import ModelError
from automlops.serving.served import AnomalyModel, ClusterModel, ForecastModel, ServedModel
from automlops.serving.validation import FeatureSchema

__all__ = ["PREDICTORS", "PredictorSpec", "build_served", "feature_schema_for", "predictor_for"]


Builder = Callable[[str, int, str, dict[str, Any], FeatureSchema, Any], ServedModel]


@dataclass(frozen=True)
class PredictorSpec:
    """How to serve one kind of model: the tasks it may have and the builder of its ServedModel.

    ``rows``: whether it is asked with rows (and so needs a feature schema in ``meta.json``);
    ``engine``: a module to import before the model file is read (it registers what loading needs).
    """

    tasks: tuple[str, ...]
    build: Builder
    rows: bool = True
    engine: str | None = None


PREDICTORS: Registry[PredictorSpec] = Registry("servable kind")


def _tabular(name: str, version: int, task: str, meta: dict[str, Any], schema: FeatureSchema,
             model: Any) -> ServedModel:
    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"{name} v{version} holds a {type(model).__name__}, which cannot predict")
    return ServedModel(name, version, task, meta, schema, model, kind="tabular")


def _clustering(name: str, version: int, task: str, meta: dict[str, Any], schema: FeatureSchema,
                model: Any) -> ServedModel:
    if not callable(getattr(model, "predict", None)):
        final = model.steps[-1][1] if hasattr(model, "steps") else model
        raise ModelError(f"{name} v{version} holds a {type(final).__name__}, which cannot assign new rows to "
                         "clusters (only clusterers with predict, such as KMeans, can be served)")
    return ClusterModel(name, version, task, meta, schema, model, kind="clustering")


def _anomaly(name: str, version: int, task: str, meta: dict[str, Any], schema: FeatureSchema,
             model: Any) -> ServedModel:
    if not callable(getattr(model, "score_samples", None)):
        raise ModelError(f"{name} v{version} holds a {type(model).__name__}, which gives no anomaly scores")
    return AnomalyModel(name, version, task, meta, schema, model, kind="anomaly")


def _forecasting(name: str, version: int, task: str, meta: dict[str, Any], schema: FeatureSchema,
                 model: Any) -> ServedModel:
    if not callable(getattr(model, "forecast", None)):
        raise ModelError(f"{name} v{version} holds a {type(model).__name__}, which cannot forecast")
    return ForecastModel(name, version, task, meta, schema, model, kind="forecasting")


def _vision(name: str, version: int, task: str, meta: dict[str, Any], schema: FeatureSchema,
            model: Any) -> ServedModel:
    import torch

    from automlops.serving.vision import VisionServed

    if not isinstance(model, torch.nn.Module):
        raise ModelError(f"{name} v{version} holds a {type(model).__name__}, not a torch module: it is not a "
                         "usable vision model")
    model.eval()  # dropout off, batch-norm statistics frozen: the same answer for the same image
    return VisionServed(name, version, task, meta, schema, model, kind="vision")


PREDICTORS.add("tabular", PredictorSpec(("classification", "regression"), _tabular))
PREDICTORS.add("clustering", PredictorSpec(("clustering",), _clustering))
PREDICTORS.add("anomaly", PredictorSpec(("anomaly",), _anomaly))
PREDICTORS.add("forecasting", PredictorSpec(("timeseries",), _forecasting))
PREDICTORS.add("vision", PredictorSpec(("image_classification", "segmentation", "detection"), _vision,
                                       rows=False, engine="automlops.vision.zoo"))


def predictor_for(meta: Mapping[str, Any], name: str, version: int) -> tuple[PredictorSpec, str]:
    """The predictor entry and task for ``meta``; ModelError says why it cannot be served.

    A missing ``kind`` means tabular (every version written before kinds existed is); a
    missing ``task`` is fine for a kind that has only one. The entry's ``engine`` is imported
    here, so the model file can be read next.
    """
    kind = str(meta.get("kind") or "tabular")
    if kind not in PREDICTORS:
        raise ModelError(f"{name} v{version}: kind {kind!r} cannot be served by this API "
                         f"(it serves {', '.join(PREDICTORS.names())} models)")
    spec = PREDICTORS.get(kind)
    task = meta.get("task", spec.tasks[0] if len(spec.tasks) == 1 else None)
    if task not in spec.tasks:
        raise ModelError(f"{name} v{version}: task {task!r} cannot be served for a {kind} model "
                         f"(expected one of {', '.join(spec.tasks)})")
    if spec.engine is not None:
        try:
            importlib.import_module(spec.engine)
        except ImportError as exc:
            raise ModelError(f"{name} v{version} is a {kind} model, but its engine cannot be imported here "
                             f"({exc}); install the studio's requirements") from None
    return spec, str(task)


def feature_schema_for(meta: Mapping[str, Any], spec: PredictorSpec) -> FeatureSchema:
    """The model's feature schema: parsed from ``meta`` for kinds asked with rows, empty for the others."""
    if not spec.rows:
        from automlops.serving.vision import NO_FEATURES

        return NO_FEATURES
    return FeatureSchema.from_meta(meta)


def build_served(meta: dict[str, Any], name: str, version: int, model: Any) -> ServedModel:
    """Check ``meta`` and ``model`` and wrap them in the ServedModel their kind calls for."""
    from automlops.serving.threads import one_thread

    spec, task = predictor_for(meta, name, version)
    one_thread(model)  # a request's few rows are faster on its own thread than through a pool
    return spec.build(name, version, task, meta, feature_schema_for(meta, spec), model)
