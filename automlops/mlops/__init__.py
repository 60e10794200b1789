"""MLOps building blocks: data lake, model store, MLflow tracking (no engine imports).

Public names are re-exported lazily: ``from automlops.mlops import DataLake`` imports only the
lake module, so a command that never touches MLflow never pays for importing it.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "DataLake": "lake",
    "DatasetInfo": "lake",
    "DatasetProfile": "lake",
    "DatasetVersion": "lake",
    "dataset_name_from_filename": "lake",
    "validate_name": "lake",
    "IngestResult": "ingest",
    "read_csv_robust": "ingest",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
