"""Serving a vision model: images in, labels, masks or boxes out.

A vision model is asked with *images* rather than rows, so it has no feature schema and none
of the row validation of :mod:`automlops.serving.validation`. :class:`VisionServed` wraps the
torch module the model store loaded (``meta["kind"] == "vision"``) and answers through the
engine's :func:`automlops.vision.predict.predict_images`:

* ``image_classification``: one label per image, with a probability per class;
* ``segmentation``: one mask per image, at the image's own size, sent as a PNG whose pixel
  values are class indices (``meta["classes"][value]``), with the pixel count of each class;
* ``detection``: per image, the boxes ``[x1, y1, x2, y2]`` (pixels, origin top-left) whose
  score reaches the threshold (the request's ``threshold``, else ``meta["score_threshold"]``).

**Checking an image before decoding it.** A compressed image is small on the wire and big in
memory: a 40 KB PNG of one colour can declare 100,000 × 100,000 pixels, 30 GB once decoded (a
*decompression bomb*). So every image's header is read first (:func:`image_size`: Pillow reads
the width and height without decoding a pixel) and one larger than ``API_MAX_IMAGE_PIXELS`` is
refused with 413 before any is decoded. The images are then decoded and predicted a few at a
time, no more than ``API_MAX_IMAGE_PIXELS`` pixels in memory per group, so a request of many
large images cannot hold all of them decoded at once. A part that is not an image, or a
truncated one, is a 422 ``not_an_image`` naming the part.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automlops.errors import AutoMLOpsError, ModelError
from automlops.serving.errors import ApiError
from automlops.serving.served import ServedModel
from automlops.serving.validation import FeatureSchema, PreparedRows

if TYPE_CHECKING:
    from starlette.requests import Request

    from automlops.serving.deps import ServingContext

__all__ = ["NO_FEATURES", "VISION_TASKS", "ImagePart", "ImageRequest", "VisionServed", "image_body_limit", "image_size",
           "mask_png", "read_image_request"]

VISION_TASKS = ("image_classification", "segmentation", "detection")
NO_FEATURES = FeatureSchema(())  # images have no columns: the schema of a vision model is empty


@dataclass(frozen=True)
class ImagePart:
    """One image of a request: its bytes and where it was in the request (for error messages)."""

    where: str  # "files[0] (cat.jpg)" or "images[2]"
    data: bytes


@dataclass(frozen=True)
class ImageRequest:
    """What an image request asks: the images, the detection threshold, and notes for ``warnings``."""

    parts: list[ImagePart]
    threshold: float | None = None
    warnings: tuple[str, ...] = ()


_SHAPES = ("multipart/form-data with one file part per image (curl -F files=@cat.jpg), or JSON "
           '{"images": ["<base64>", ...]}')
_ROW_KEYS = ("records", "columns", "data", "horizon")


async def read_image_request(request: Request, media: str, *, max_images: int) -> ImageRequest:
    """The images of a request to a vision model: multipart file parts, or base64 strings in JSON.

    415 for another content type, 422 for rows, no image or a bad ``threshold``, 413 above
    ``max_images``. Parts are named in messages (``files[1] (dog.png)``, ``images[1]``).
    """
    if media == "multipart/form-data":
        found = await _multipart(request)
    elif media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        found = _json_images(await request.body())
    else:
        raise ApiError(415, "unsupported_media_type", f"the body is sent as {media or 'no content-type'}; a vision "
                       f"model takes images: {_SHAPES}")
    if not found.parts:
        raise ApiError(422, "invalid_request", f"no image to predict: send {_SHAPES}",
                       [{"field": "images", "row": None, "message": "at least one image is required"}])
    if len(found.parts) > max_images:
        raise ApiError(413, "too_many_images", f"{len(found.parts):,} images in one request; the limit is "
                       f"{max_images:,} (API_MAX_IMAGES): send them in smaller batches")
    return found


async def _multipart(request: Request) -> ImageRequest:
    """Every file part is an image (whatever its field name: ``files``, ``file``, ``image``...), in order."""
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException

    try:
        form = await request.form(max_fields=100)
    except HTTPException as exc:  # starlette: a malformed body, too many parts...
        status, code = (413, "too_many_images") if "too many files" in str(exc.detail).lower() else (
            422, "invalid_request")
        raise ApiError(status, code, f"the multipart body could not be read: {exc.detail}") from None
    parts: list[ImagePart] = []
    threshold: float | None = None
    notes: list[str] = []
    counts: dict[str, int] = {}
    try:
        for field_name, value in form.multi_items():
            if isinstance(value, UploadFile):
                index = counts[field_name] = counts.get(field_name, -1) + 1
                label = f"{field_name}[{index}]" + (f" ({value.filename})" if value.filename else "")
                parts.append(ImagePart(label, await value.read()))
            elif field_name == "threshold":
                threshold = _threshold(value)
            else:
                notes.append(f"form field {field_name!r} ignored (send images as file parts, and 'threshold')")
    finally:
        await form.close()
    return ImageRequest(parts, threshold, tuple(notes))


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise ApiError(422, "invalid_request", f"threshold must be a number from 0 to 1, not {text[:40]!r}",
                       [{"field": "threshold", "row": None, "message": "a number from 0 to 1"}])
    return value


def _json_images(body: bytes) -> ImageRequest:
    """``{"images": [...], "threshold": ...}``; rows sent to a vision model get a message saying what to send."""
    from pydantic import ValidationError

    from automlops.serving.errors import validation_fields
    from automlops.serving.schemas import ImagesRequest

    try:
        payload = ImagesRequest.model_validate_json(body)
    except ValidationError as exc:
        try:
            sent = json.loads(body)
        except ValueError:
            sent = None
        if isinstance(sent, dict) and any(key in sent for key in _ROW_KEYS):
            raise ApiError(422, "images_required", f"this is a vision model: it predicts images, not rows; send "
                           f"{_SHAPES}", [{"field": "records", "row": None, "message": "rows are not accepted"}]
                           ) from None
        raise ApiError(422, "invalid_request", 'the body must be JSON: {"images": ["<base64>", ...], '
                       '"threshold": 0.5}', validation_fields(exc.errors())) from None
    return ImageRequest([ImagePart(f"images[{i}]", _base64(text, f"images[{i}]"))
                         for i, text in enumerate(payload.images)], payload.threshold)


def _base64(text: str, where: str) -> bytes:
    """Standard base64 (line breaks allowed), optionally behind a ``data:image/...;base64,`` prefix."""
    if text.startswith("data:") and "," in text[:200]:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "not_an_image", f"{where} is not valid base64", [{"field": where, "row": None,
                                                                            "message": "not base64"}]) from None


def image_size(part: ImagePart, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` from the image's header, without decoding it.

    413 ``image_too_large`` above ``max_pixels`` (Pillow's own decompression-bomb refusal
    included), 422 ``not_an_image`` when the bytes are no image format Pillow knows.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(part.data)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        width = height = -1  # beyond Pillow's hard limit: certainly beyond ours
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bytes that are not an image
        why = ("its content is no image format Pillow knows" if isinstance(exc, UnidentifiedImageError)
               else _reason(exc))  # not Pillow's "cannot identify image file <_io.BytesIO object at 0x7f...>"
        what = ("is empty" if not part.data else
                f"is not an image Pillow can read (JPEG, PNG, BMP, GIF, TIFF, WebP...): {why}")
        raise ApiError(422, "not_an_image", f"{part.where} {what}", [{"field": part.where, "row": None,
                                                                    "message": "not an image"}]) from None
    if width == 0 or height == 0:
        raise ApiError(422, "not_an_image", f"{part.where} declares an empty image ({width} × {height} pixels)",
                       [{"field": part.where, "row": None, "message": "empty image"}])
    if width < 0 or width * height > max_pixels:
        size = f"{width:,} × {height:,} pixels" if width > 0 else "larger than Pillow's decompression-bomb limit"
        raise ApiError(413, "image_too_large", f"{part.where} is {size}; the limit is {max_pixels:,} pixels per "
                       "image (API_MAX_IMAGE_PIXELS): resize it first", [{"field": part.where, "row": None,
                                                                         "message": "too many pixels"}])
    return width, height


def image_body_limit(ctx: ServingContext) -> Callable[[MutableMapping[str, Any]], tuple[int, str] | None]:
    """For the body-size middleware: ``API_MAX_IMAGE_BODY_BYTES`` for ``/predict`` while a vision model
    is served (images are bigger than rows); None (the default ``API_MAX_BODY_BYTES``) otherwise."""
    limit = (ctx.settings.api_max_image_body_bytes, "API_MAX_IMAGE_BODY_BYTES")

    def limit_for(scope: MutableMapping[str, Any]) -> tuple[int, str] | None:
        if not str(scope.get("path", "")).endswith("/predict") or ctx.manager is None:
            return None
        served = ctx.manager.current
        return limit if served is not None and served.kind == "vision" else None

    return limit_for


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."


def mask_png(mask: Any) -> str:
    """A class-index mask (``uint8`` H × W) as a base64 PNG (mode ``L``: one byte per pixel, lossless)."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8), mode="L").save(buffer, format="PNG", optimize=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _groups(parts: Sequence[ImagePart], sizes: Sequence[tuple[int, int]], budget: int
            ) -> Iterator[list[ImagePart]]:
    """Consecutive parts whose pixels add up to at most ``budget`` (always at least one part)."""
    group: list[ImagePart] = []
    pixels = 0
    for part, (width, height) in zip(parts, sizes, strict=True):
        if group and pixels + width * height > budget:
            yield group
            group, pixels = [], 0
        group.append(part)
        pixels += width * height
    if group:
        yield group


class VisionServed(ServedModel):
    """A torch vision model as the API serves it: it answers images (:meth:`answer_images`), not rows."""

    def __post_init__(self) -> None:  # no scikit-learn pipeline to split, no feature columns
        self.kind = "vision"
        self.classes = [str(c) for c in self.meta.get("classes") or []]
        self._proba, self._prep, self._final, self._columns = False, None, self.pipeline, []
        self.ref = {"name": self.name, "version": self.version, "task": self.task}
        threshold = self.meta.get("score_threshold")
        self.score_threshold = float(threshold) if isinstance(threshold, int | float) else 0.5

    # ------------------------------------------------------------------ rows: not for this model
    def _no_rows(self) -> ModelError:
        return ModelError(f"{self.name} v{self.version} is a {self.task} model: it predicts images, not rows")

    def predict(self, prepared: PreparedRows) -> tuple[list[Any], list[list[float]] | None]:
        raise self._no_rows()

    def answer(self, prepared: PreparedRows) -> dict[str, Any]:
        raise self._no_rows()

    def predict_records(self, records: list[dict[str, Any]]) -> tuple[list[Any], list[list[float]] | None]:
        raise self._no_rows()

    def compile(self) -> bool:
        return False  # the fast path compiles tabular preprocessing; images have none

    # ------------------------------------------------------------------ images
    def predict_images(self, images: Sequence[Any], *, threshold: float | None = None) -> list[dict[str, Any]]:
        """The engine's raw answers for decoded PIL images (see :func:`automlops.vision.predict.predict_images`)."""
        from automlops.vision.predict import predict_images

        return predict_images(self.pipeline, self.meta, list(images), threshold=threshold)

    def smoke_test(self) -> None:
        """Predict one grey image of the training size; ModelError if that fails or looks wrong."""
        from PIL import Image

        height, width = (int(v) for v in (self.meta.get("input_size") or (64, 64)))
        image = Image.new("RGB", (max(width, 8), max(height, 8)), (128, 128, 128))
        try:
            answers = self.predict_images([image])
            body = self._format(answers, self.score_threshold)
        except Exception as exc:
            raise ModelError(f"{self.name} v{self.version} failed its smoke test on a grey image: {exc}") from exc
        if len(answers) != 1 or body["n_images"] != 1:
            raise ModelError(f"{self.name} v{self.version} answered the smoke test with the wrong shape")

    def answer_images(self, parts: Sequence[ImagePart], *, threshold: float | None, max_pixels: int
                      ) -> tuple[dict[str, Any], list[tuple[int, int]]]:
        """The response fields for these images, and each image's (width, height).

        Every header is checked before any image is decoded (see the module docstring).
        """
        from automlops.vision.predict import open_image

        sizes = [image_size(part, max_pixels) for part in parts]
        warnings_: list[str] = []
        if threshold is not None and self.task != "detection":
            warnings_.append(f"'threshold' is for detection models; ignored by this {self.task} model")
            threshold = None
        used = self.score_threshold if threshold is None else float(threshold)
        answers: list[dict[str, Any]] = []
        for group in _groups(parts, sizes, max_pixels):
            images = []
            for part in group:
                try:
                    images.append(open_image(part.data, max_pixels=max_pixels, name=part.where))
                except (AutoMLOpsError, OSError, ValueError) as exc:  # the message names the part
                    raise ApiError(422, "not_an_image", _reason(exc),
                                   [{"field": part.where, "row": None, "message": "not a readable image"}]) from None
            answers += self.predict_images(images, threshold=used if self.task == "detection" else None)
            del images
        return {**self._format(answers, used), "warnings": warnings_}, sizes

    def _format(self, answers: Sequence[Mapping[str, Any]], threshold: float) -> dict[str, Any]:
        """The engine's answers as JSON-ready response fields for this model's task."""
        body: dict[str, Any] = {"n_images": len(answers), "classes": self.classes}
        if self.task == "image_classification":
            body["predictions"] = [str(a["prediction"]) for a in answers]
            body["probabilities"] = [{str(k): float(v) for k, v in a["probabilities"].items()} for a in answers]
        elif self.task == "segmentation":
            body["masks"] = [{"png_base64": mask_png(a["mask"]), "width": int(a["mask"].shape[1]),
                              "height": int(a["mask"].shape[0]),
                              "pixel_counts": {str(k): int(v) for k, v in a["pixel_counts"].items()}}
                             for a in answers]
        else:
            body["threshold"] = threshold
            body["detections"] = [[{"box": [float(x) for x in b["box"]], "label": str(b["label"]),
                                    "score": float(b["score"])} for b in a["boxes"]] for a in answers]
        return body
