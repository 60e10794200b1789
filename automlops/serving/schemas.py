"""Request and response bodies of the prediction API (they also write the OpenAPI docs).

Each model carries an example, so ``/docs`` shows a request a student can send as it is.
``/predict`` accepts two equivalent shapes: *records* (one object per row, the most readable)
and *split* (``columns`` once, then ``data`` as rows of values: smaller for big batches, and
the shape ``pandas.DataFrame.to_dict(orient="split")`` produces). A served *vision* model takes
images instead: file parts of a ``multipart/form-data`` body, or :class:`ImagesRequest` (base64
in JSON), and answers an :class:`ImagePredictResponse`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

__all__ = ["Detection", "ErrorBody", "ErrorDetail", "FieldProblem", "HealthResponse", "ImagePredictResponse",
           "ImagesRequest", "MaskAnswer", "ModelInfo", "ModelRef", "PredictRequest", "PredictResponse",
           "ReadyResponse"]

_ROW = {"mean radius": 14.1, "mean texture": 19.3, "mean perimeter": 91.9}


class PredictRequest(BaseModel):
    """Rows to score: either ``records`` or ``columns`` + ``data``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"records": [{"island": "Biscoe", "bill_length_mm": 45.1, "bill_depth_mm": 14.5,
                      "flipper_length_mm": 215.0, "body_mass_g": 5000.0, "sex": "female", "year": 2008}]},
        {"columns": ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"],
         "data": [["Dream", 39.5, 17.4, 186.0, 3800.0, "female", 2007]]},
    ]})

    records: list[dict[str, Any]] | None = Field(
        default=None, description="One object per row, {column: value}; null for a missing value. Dates: ISO 8601 "
        "(2024-05-31, 2024-05-31T10:00:00Z) or as the training data wrote them (31/05/2024 for day-first dates).")
    columns: list[str] | None = Field(default=None, description="Column names, with `data`.")
    data: list[list[Any]] | None = Field(default=None, description="Rows of values in `columns` order.")
    horizon: StrictInt | None = Field(default=None, ge=1, le=100_000, description=(
        "Forecasting models only: how many steps ahead to forecast every series (rows are then optional: "
        "give them to name future timestamps and exogenous values)."))

    @model_validator(mode="after")
    def _one_shape(self) -> PredictRequest:
        if self.records is not None and (self.columns is not None or self.data is not None):
            raise ValueError("send either 'records' or 'columns' + 'data', not both")
        rows = self.records is not None or (self.columns is not None and self.data is not None)
        if not rows and (self.columns is not None or self.data is not None):
            raise ValueError("send both 'columns' and 'data'")
        if not rows and self.horizon is None:
            raise ValueError("send 'records' (a list of row objects) or both 'columns' and 'data'")
        return self

    @property
    def n_rows(self) -> int:
        return len(self.records if self.records is not None else self.data or [])


class ModelRef(BaseModel):
    """Which model answered."""

    name: str
    version: int
    task: str


class PredictResponse(BaseModel):
    """Predictions in request order, with class probabilities for classifiers."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0", "model": {"name": "penguins", "version": 3,
                                                                  "task": "classification"},
        "n_rows": 1, "predictions": ["Gentoo"], "classes": ["Adelie", "Chinstrap", "Gentoo"],
        "probabilities": [[0.01, 0.02, 0.97]], "warnings": []}]})

    request_id: str = Field(description="Also in the x-request-id header and the prediction log.")
    model: ModelRef
    n_rows: int
    predictions: list[Any] = Field(description="Per row: a class label (classification), a number (regression), "
                                   "a cluster number (clustering), a 0/1 anomaly flag, "
                                   "or a forecast value (forecasting: `yhat` per row of `forecast`).")
    classes: list[Any] | None = Field(default=None, description="Column order of `probabilities`.")
    probabilities: list[list[float | None]] | None = Field(
        default=None, description="Per row, one probability per class (classifiers only).")
    warnings: list[str] = Field(default_factory=list,
                                description="Accepted but notable: ignored columns, unseen categories, "
                                            "missing values filled in, dates read against the training order.")
    scores: list[float | None] | None = Field(
        default=None, description="Anomaly detectors only: each row's anomaly score (higher = more anomalous).")
    threshold: float | None = Field(default=None, description="Anomaly detectors only: the score above which a "
                                                              "row is flagged (prediction 1).")
    forecast: list[dict[str, Any]] | None = Field(
        default=None, description="Forecasting models only: one object per series and step: unique_id, ds, "
                                  "yhat and the 80/95 % bounds yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95.")


_PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="


class ImagesRequest(BaseModel):
    """Images for a vision model, base64-encoded in JSON (a ``data:image/...;base64,`` prefix is allowed)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"images": [_PNG_1PX]},
                                                                              {"images": [_PNG_1PX], "threshold": 0.3}]})

    images: list[str] = Field(description="One base64 string per image (JPEG, PNG, BMP, GIF, TIFF, WebP...), at "
                                          "most API_MAX_IMAGES of them.")
    threshold: float | None = Field(default=None, ge=0.0, le=1.0, description=(
        "Detection models only: keep boxes scoring at least this (default: the model's score_threshold)."))


class MaskAnswer(BaseModel):
    """A segmentation mask at the image's own size."""

    png_base64: str = Field(description="A one-channel PNG whose pixel values are class indices into `classes`.")
    width: int
    height: int
    pixel_counts: dict[str, int] = Field(description="Pixels per class (they add up to width × height).")


class Detection(BaseModel):
    """One detected object."""

    box: list[float] = Field(description="[x1, y1, x2, y2] in pixels of the image sent, origin top-left.")
    label: str
    score: float


class ImagePredictResponse(BaseModel):
    """A vision model's answer, one entry per image in request order (the field depends on the task)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
        "model": {"name": "digits", "version": 1, "task": "image_classification"}, "n_images": 1,
        "classes": ["0", "1"], "predictions": ["1"], "probabilities": [{"0": 0.08, "1": 0.92}], "warnings": []}]})

    request_id: str = Field(description="Also in the x-request-id header.")
    model: ModelRef
    n_images: int
    classes: list[str] = Field(description="The model's classes (segmentation: index = mask pixel value).")
    predictions: list[str] | None = Field(default=None, description="Image classification: a label per image.")
    probabilities: list[dict[str, float]] | None = Field(
        default=None, description="Image classification: per image, {class: probability}, adding up to 1.")
    masks: list[MaskAnswer] | None = Field(default=None, description="Segmentation: a mask per image.")
    detections: list[list[Detection]] | None = Field(
        default=None, description="Detection: per image, the boxes scoring at least `threshold`.")
    threshold: float | None = Field(default=None, description="Detection: the score threshold applied.")
    warnings: list[str] = Field(default_factory=list)


class FieldProblem(BaseModel):
    field: str
    row: int | None = None
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, for programs: unauthorized, invalid_rows, too_many_rows, ...")
    message: str = Field(description="For people.")
    fields: list[FieldProblem] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The shape of every 4xx/5xx answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error": {
        "code": "invalid_rows", "message": "1 value(s) do not fit the model's schema",
        "fields": [{"field": "bill_length_mm", "row": 0, "message": "expected a number, got text"}]}}]})

    error: ErrorDetail


class HealthResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": "ok", "model": {"name": "breast_cancer", "version": 2, "task": "classification"},
        "loaded_at": "2026-01-01T12:00:00+00:00", "uptime_seconds": 42.0, "studio_version": "0.1.0"}]})

    status: str = Field(description="'ok' when a model is served, 'no_model' otherwise.")
    model: ModelRef | None
    loaded_at: str | None
    uptime_seconds: float
    studio_version: str


class ReadyResponse(BaseModel):
    ready: bool
    model: ModelRef


class ModelInfo(BaseModel):
    """The served model's ``meta.json``, minus internals: schema, metrics and lineage."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "breast_cancer", "version": 2, "task": "classification", "target": "target",
        "classes": ["benign", "malignant"], "input_columns": list(_ROW),
        "feature_schema": {"features": [{"name": "mean radius", "kind": "numeric", "dtype": "float64",
                                         "nullable": False}], "dropped": {}},
        "metric": "roc_auc", "metrics": {"validation": 0.99, "validation_std": 0.004, "test": {"roc_auc": 0.99}},
        "best_model": "logistic", "created": "2026-01-01T11:59:00+00:00", "loaded_at": "2026-01-01T12:00:00+00:00",
        "lineage": {"dataset": {"name": "breast_cancer", "version": 1, "sha256": "..."}, "run_id": "abc123",
                    "model_sha256": "...", "libraries": {"sklearn": "1.9.1"}}}]})

    name: str
    version: int
    task: str
    target: str | None = None
    classes: list[Any] | None = None
    input_columns: list[str]
    feature_schema: dict[str, Any]
    metric: str | None = None
    metrics: dict[str, Any]
    best_model: str | None = None
    created: str | None = None
    loaded_at: str
    lineage: dict[str, Any] = Field(description="Where it came from: dataset (name, version, sha256), run_id, "
                                    "parent (NAME@vN it was retrained from), registry_version, file SHA-256...")
    stage: str | None = Field(default=None, description="The model-registry stage it is served for "
                                                        "(MODEL_STAGE: staging or production), else null.")
    image_input: dict[str, Any] | None = Field(default=None, description=(
        "Vision models only (they take images, not columns): architecture, input_size [H, W] the images are "
        "resized to, normalization, and the default detection score_threshold."))
