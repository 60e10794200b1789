"""MLOps building blocks: data lake, model store, MLflow tracking (no engine imports).

Public names are re-exported lazily: ``from automlops.mlops import DataLake`` imports only the
lake module, so a command that never touches MLflow never pays for importing it.
"""

from __future__ import annotations

from automlops.core.lazy import lazy_exports

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "DataLake": "lake",
    "DatasetInfo": "lake",
    "DatasetProfile": "lake",
    "DatasetVersion": "lake",
    "dataset_name_from_filename": "lake",
    "validate_name": "lake",
    "ImageDatasetVersion": "image_lake",
    "ImageLake": "image_lake",
    "save_model": "persist",
    "IngestResult": "ingest",
    "read_csv_robust": "ingest",
    "ColumnDrift": "drift",
    "DriftReport": "drift",
    "detect_drift": "drift",
    "FeedbackItem": "feedback",
    "labelled_rows": "feedback",
    "record_feedback": "feedback",
    "MonitorResult": "monitoring",
    "drift_history": "monitoring",
    "monitor_model": "monitoring",
    "parse_window": "monitoring",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
