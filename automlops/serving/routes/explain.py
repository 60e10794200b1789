"""``POST /explain``: why the served model answers what it answers, row by row (SHAP).

Same body, same key, same checks as ``/predict`` (JSON only, row cap, the model's feature
schema), plus an optional ``top_k``. For each row the answer holds the model's prediction, the
**base value** (the model's average output) and the ``top_k`` original features that moved the
output most, each as ``{"feature", "value", "contribution"}``: ``base_value`` plus *all*
contributions (not only the top ones) equals the model's output in the space named by ``output``
(``log-odds`` or ``margin`` for boosted classifiers, ``probability`` for forests and
model-agnostic explanations, ``value`` for regressors). See :mod:`automlops.tabular.explain`.

The explainer is built once per served model, on its first ``/explain`` (importing SHAP takes a
second or two; a model-agnostic explainer also reads a background sample of the model's training
data from the lake), and cached on that model object: a hot reload serves a new object, so a new
version gets a new explainer. Tree models answer a row in a few milliseconds, on the event loop;
model-agnostic explanations call the model hundreds of times a row, on a worker thread, and are
capped at fewer rows.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pydantic_core
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from automlops.errors import AutoMLOpsError
from automlops.serving.deps import CurrentModel, context
from automlops.serving.errors import ApiError, parse_json_body, require_json
from automlops.serving.schemas import ErrorBody, ModelRef, PredictRequest
from automlops.serving.served import ServedModel
from automlops.serving.validation import RowsError, prepare_rows

__all__ = ["ExplainRequest", "ExplainResponse", "router"]

router = APIRouter(tags=["explain"])
MAX_ROWS_TREE = 100  # rows per request for tree models (a few ms each)
MAX_ROWS_AGNOSTIC = 10  # rows per request for model-agnostic explanations (tens of ms to seconds each)
INLINE_ROWS = 10  # tree explanations of up to this many rows run on the event loop
API_BACKGROUND_ROWS = 30  # background sample of a model-agnostic explainer in the API (speed over precision)
_ATTR = "_automlops_explainer"
_build_lock = threading.Lock()


class ExplainRequest(PredictRequest):
    """The ``/predict`` body, plus how many features to list per row."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"records": [{"island": "Biscoe", "bill_length_mm": 45.1, "bill_depth_mm": 14.5,
                      "flipper_length_mm": 215.0, "body_mass_g": 5000.0, "sex": "female", "year": 2008}],
         "top_k": 3}]})

    top_k: int = Field(default=5, ge=1, le=100, description="How many features to list per row, largest "
                                                             "|contribution| first (1-100, default 5).")


class ContributionOut(BaseModel):
    feature: str = Field(description="An original input column (one-hot and other encodings folded back).")
    value: Any = Field(description="The row's value of that column.")
    contribution: float = Field(description="How much it moved the output from the base value (signed).")


class RowExplanationOut(BaseModel):
    prediction: Any = Field(description="What /predict answers for this row.")
    class_name: Any = Field(default=None, description="Classifiers: the class explained (the predicted one).")
    base_value: float = Field(description="The model's average output over its training data, in `output` units.")
    contributions: list[ContributionOut] = Field(description="The top_k features by |contribution|; base_value "
                                                             "+ the contributions of all features = the output.")


class ExplainResponse(BaseModel):
    """Per row: the prediction, the base value and the top contributions (see `output` for their units)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
        "model": {"name": "penguins", "version": 3, "task": "classification"}, "n_rows": 1,
        "method": "tree", "output": "margin", "explanations": [{
            "prediction": "Gentoo", "class_name": "Gentoo", "base_value": -1.02, "contributions": [
                {"feature": "flipper_length_mm", "value": 215.0, "contribution": 2.31},
                {"feature": "bill_depth_mm", "value": 14.5, "contribution": 1.12},
                {"feature": "island", "value": "Biscoe", "contribution": 0.41}]}],
        "warnings": []}]})

    request_id: str
    model: ModelRef
    n_rows: int
    method: str = Field(description="'tree' (exact TreeSHAP) or 'permutation' (sampled, model-agnostic).")
    output: str = Field(description="Units of base_value and contributions: 'log-odds' (boosted binary "
                                    "classifiers), 'margin' (boosted multi-class: the score before the softmax), "
                                    "'probability' (of class_name), or 'value' (regression).")
    explanations: list[RowExplanationOut]
    warnings: list[str] = Field(default_factory=list)


_REQUEST_BODY = {"required": True, "content": {"application/json": {"schema": ExplainRequest.model_json_schema()}}}


def _refuse_kind(served: ServedModel) -> None:
    if served.kind != "tabular" or served.task not in ("classification", "regression"):
        raise ApiError(409, "not_explainable", "explanations exist for classification and regression models; "
                       f"{served.name} v{served.version} is a {served.task} model")


def _background(served: ServedModel, settings: Any) -> Any:
    """A sample of the model's training data from the lake, or None when it is not there."""
    dataset = served.meta.get("dataset") or {}
    if not dataset.get("name"):
        return None
    from automlops.mlops.lake import DataLake

    try:
        return DataLake(settings=settings).load(str(dataset["name"]), dataset.get("version"))
    except AutoMLOpsError:
        return None


def explainer_for(served: ServedModel, settings: Any) -> Any:
    """The served model's explainer, built on first use and cached on the model object (thread-safe)."""
    found = getattr(served, _ATTR, None)
    if found is not None:
        return found
    with _build_lock:
        found = getattr(served, _ATTR, None)
        if found is None:
            from automlops.tabular.explain import make_explainer, tree_inside

            background = None if tree_inside(served.pipeline) is not None else _background(served, settings)
            try:
                found = make_explainer(served.pipeline, served.meta, background, background_rows=API_BACKGROUND_ROWS)
            except AutoMLOpsError as exc:
                dataset = served.meta.get("dataset") or {}
                raise ApiError(409, "not_explainable", f"{served.name} v{served.version} cannot be explained here: "
                               f"{exc} (lake dataset {dataset.get('name')} v{dataset.get('version')})") from None
            setattr(served, _ATTR, found)
    return found


def _parse(body: bytes, max_rows: int) -> ExplainRequest:
    payload = parse_json_body(ExplainRequest, body,
                              '{"records": [...], "top_k": 5} or {"columns": [...], "data": [[...]]}')
    if payload.horizon is not None:
        raise ApiError(422, "invalid_request", "'horizon' is for forecasting models; send rows to explain",
                       [{"field": "horizon", "row": None, "message": "not accepted by /explain"}])
    if payload.n_rows == 0:
        raise ApiError(422, "invalid_request", "no rows to explain",
                       [{"field": "records" if payload.records is not None else "data", "row": None,
                         "message": "at least one row is required"}])
    if payload.n_rows > max_rows:
        raise ApiError(413, "too_many_rows", f"{payload.n_rows:,} rows in one request; /explain takes at most "
                       f"{max_rows:,} for this model: send them in smaller batches")
    return payload


def _explain(explainer: Any, served: ServedModel, payload: ExplainRequest, unknown: str) -> dict[str, Any]:
    from automlops.tabular.explain import explain_rows

    try:
        prepared = prepare_rows({"records": payload.records, "columns": payload.columns, "data": payload.data},
                                served.schema, unknown=unknown)
    except RowsError as exc:
        raise ApiError(422, "invalid_rows", str(exc), [f.to_dict() for f in exc.fields]) from None
    try:
        rows = explain_rows(explainer, served.frame(prepared), top_k=payload.top_k)
    except (ValueError, TypeError, AutoMLOpsError) as exc:
        raise ApiError(422, "unscorable_rows", f"the model could not explain these rows: {exc}") from None
    return {"n_rows": prepared.n_rows, "method": explainer.method, "output": explainer.output,
            "explanations": [{"prediction": r.prediction, "class_name": r.class_name, "base_value": r.base_value,
                              "contributions": [{"feature": c.feature, "value": c.value,
                                                 "contribution": c.contribution} for c in r.contributions]}
                             for r in rows],
            "warnings": prepared.warnings}


@router.post(
    "/explain", response_model=None, summary="Explain the served model's predictions (SHAP)",
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        200: {"model": ExplainResponse, "description": "One explanation per row, in request order."},
        409: {"model": ErrorBody, "description": "The served model cannot be explained (not a classification or "
                                                 "regression model, or its training data is not in the lake)."},
        413: {"model": ErrorBody, "description": "Body larger than API_MAX_BODY_BYTES or too many rows."},
        415: {"model": ErrorBody, "description": "The body is not declared as JSON (content-type: application/json)."},
        422: {"model": ErrorBody, "description": "Malformed body, or rows that do not fit the model's schema."},
        503: {"model": ErrorBody, "description": "No model loaded yet."},
    },
)
async def explain(request: Request, served: CurrentModel) -> Response:
    """Explain each row's prediction: base value + top `top_k` feature contributions (SHAP).

    Same body as `/predict` (`records`, or `columns` + `data`), plus `top_k` (default 5). Works for
    classification and regression models: tree models exactly (TreeSHAP), others by sampling.
    """
    ctx = context(request)
    require_json(request.headers.get("content-type"))
    payload = _parse(await request.body(), min(ctx.settings.api_max_rows, MAX_ROWS_TREE))
    _refuse_kind(served)
    explainer: Any = getattr(served, _ATTR, None) or await run_in_threadpool(explainer_for, served, ctx.settings)
    tree = explainer.method == "tree"
    if not tree and payload.n_rows > MAX_ROWS_AGNOSTIC:
        raise ApiError(413, "too_many_rows", f"{payload.n_rows:,} rows in one request; model-agnostic explanations "
                       f"take at most {MAX_ROWS_AGNOSTIC} rows a request: send them in smaller batches")
    unknown = ctx.settings.api_unknown_columns
    if tree and payload.n_rows <= INLINE_ROWS:
        answer = _explain(explainer, served, payload, unknown)
    else:
        answer = await run_in_threadpool(_explain, explainer, served, payload, unknown)
    request_id = uuid.uuid4().hex
    body = pydantic_core.to_json({"request_id": request_id, "model": served.ref, **answer}, inf_nan_mode="null")
    return Response(body, media_type="application/json", headers={"x-request-id": request_id})
