"""``GET /model``: what the served model is, expects and was measured at, and where it came from."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter

from automlops.serving.deps import CurrentModel
from automlops.serving.schemas import ErrorBody, ModelInfo

router = APIRouter(tags=["model"])
_LINEAGE = ("dataset", "run_id", "model_sha256", "model_bytes", "libraries", "automlops_version", "preset",
            "search", "n_trials")
_IMAGE_INPUT = ("model_name", "architecture", "input_size", "normalization", "score_threshold")


def _finite(value: Any) -> Any:
    """JSON has no NaN: replace non-finite numbers (anywhere in the metadata) with null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


@router.get("/model", response_model=ModelInfo, summary="The served model's schema, metrics and lineage",
            responses={503: {"model": ErrorBody, "description": "No model loaded yet."}})
async def model_info(served: CurrentModel) -> ModelInfo:
    meta = _finite(served.meta)
    return ModelInfo(
        name=served.name, version=served.version, task=served.task, target=meta.get("target"),
        classes=served.classes if served.classes is not None else meta.get("classes"),
        input_columns=list(served.schema.columns), feature_schema=meta.get("feature_schema") or {},
        metric=meta.get("metric"),
        metrics={"validation": meta.get("val_score"), "validation_std": meta.get("val_std"),
                 "validation_kind": meta.get("validation"), "test": meta.get("test_metrics"),
                 "n_test_rows": meta.get("n_test_rows")},
        best_model=meta.get("best_model"), created=meta.get("created"), loaded_at=served.loaded_at.isoformat(),
        lineage={**{k: meta.get(k) for k in _LINEAGE}, "parent": meta.get("parent"),
                 "registry_version": served.registry_version},
        stage=served.stage,
        image_input={k: meta.get(k) for k in _IMAGE_INPUT} if served.kind == "vision" else None,
    )
