"""Eject to code: any saved model as one plain, runnable Python script.

``export_script("churn@v3", out="train_churn.py")`` writes a script that needs no AutoMLOps Studio:
only numpy, pandas, scikit-learn and the model's own library (LightGBM, XGBoost, PyOD). It reads
the same data version (checking its SHA-256), repeats the cleaning and the train/test split,
rebuilds the chosen pipeline with its hyperparameters, fits it and prints the test score as its
last line (``test_score=<value>``): the recorded one, to 1e-6, for deterministic and seeded models.

Why? A studio is a good place to *find* a model and a bad place to *own* one: the script can be
read line by line, run in CI, changed by hand and kept in a repository, long after the studio.

Supported kinds: tabular classification and regression (single models and voting / weighted /
stacking ensembles), clustering, anomaly detection, forecasting (statsforecast / mlforecast
models and their combinations) and vision models - image classification, segmentation (DeepLabV3)
and detection (Faster R-CNN) with torchvision, retrained on the CPU, exact there with the same
versions, close elsewhere; a model that started from a weights file needs ``--weights PATH``. Kinds
not in :data:`EXPORTERS` are refused with a clear message.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from automlops.core.registry import Registry
from automlops.errors import ConfigError

__all__ = ["EXPORTERS", "export_script", "script_name"]

# kind (meta["kind"]) -> "module:function" building the kind's ScriptParts from (loaded, data source)
EXPORTERS: Registry[str] = Registry("exportable model kind")
EXPORTERS.add("tabular", "automlops.export.tabular:tabular_parts")
EXPORTERS.add("clustering", "automlops.export.clustering:clustering_parts")
EXPORTERS.add("anomaly", "automlops.export.anomaly:anomaly_parts")
EXPORTERS.add("forecasting", "automlops.export.forecasting:forecasting_parts")
EXPORTERS.add("vision", "automlops.export.vision:vision_parts")


def script_name(name: str) -> str:
    """The default file name of a model's script: ``train_<name>.py``."""
    return f"train_{name}.py"


def _load(ref_or_loaded: Any, settings: Any = None) -> Any:
    if not isinstance(ref_or_loaded, str):
        return ref_or_loaded
    from automlops.tasks import load_saved_model

    return load_saved_model(ref_or_loaded, settings=settings)


def export_script(ref_or_loaded: Any, out: str | Path | None = None, *, settings: Any = None) -> str:
    """The script rebuilding a saved model (``"NAME"``, ``"NAME@vN"`` or a ``LoadedModel``).

    Returns the script's text; with ``out`` it is also written there. Raises
    :class:`~automlops.errors.ConfigError` for a kind that cannot be exported or a model without
    a dataset, :class:`~automlops.errors.DataError` when its data version is gone or changed.
    """
    from automlops.export.script import assemble, data_source
    from automlops.tasks import model_kind

    loaded = _load(ref_or_loaded, settings)
    meta = dict(loaded.meta)
    kind = model_kind(meta)
    if kind not in EXPORTERS:
        raise ConfigError(f"{kind} models cannot be exported to a script yet; export supports: "
                          f"{', '.join(EXPORTERS.names())} (tabular = classification and regression)")
    if kind == "vision":  # images live in the image lake
        from automlops.export.vision import image_source

        source = image_source(meta, settings)
    else:
        source = data_source(meta, settings)
    module, _, function = EXPORTERS.get(kind).partition(":")
    parts = getattr(importlib.import_module(module), function)(loaded, source)
    name = Path(out).name if out is not None else script_name(str(meta.get("name", "model")))
    text = assemble(meta, parts, name)
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text
