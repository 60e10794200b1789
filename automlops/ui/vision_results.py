"""The Vision page's results: how good the saved network is, what it sees, and a try on your image.

The numbers come from the images the search never trained on (the test split), by task:

* **classification** — *accuracy* (share of images given the right class), *macro-F1* (the F1
  score of each class, averaged without weighting, so a rare class counts as much as a common
  one), and the *confusion matrix* (row: the true class, column: the predicted one);
* **segmentation** — *mIoU* (for each class, the overlap of predicted and true pixels divided by
  their union, averaged over classes) and *pixel accuracy* (share of pixels labelled right,
  flattering when the background dominates, which is why mIoU comes first);
* **detection** — *mAP@0.5* (average precision over classes, a box counting as found when it
  overlaps a true one by at least half) and *mAP@0.5:0.95* (the COCO score: the same averaged
  over stricter overlaps, 0.5 to 0.95).

Then the network's own answers are drawn on a few of those test images, and you can upload a
PNG or JPEG to see what it predicts. Only these two need PyTorch: it is loaded (once per dashboard
process) when they are first drawn, never to show the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from automlops.ui import components, vision_draw

if TYPE_CHECKING:
    from PIL import Image

    from automlops.config import Settings
    from automlops.mlops.store import LoadedModel
    from automlops.ui.jobs import JobSnapshot

__all__ = ["confusion_of", "render", "show_prediction", "test_predictions", "try_an_image"]

N_SHOWN = 6  # test images drawn with the model's predictions
TRUE_BOX = (255, 255, 255)
METRIC_NAMES = {"loss": "Test loss", "accuracy": "Accuracy", "macro_f1": "Macro-F1", "f1_macro": "Macro-F1", "miou": "mIoU",
                "mean_iou": "mIoU", "pixel_accuracy": "Pixel accuracy", "map_50": "mAP@0.5", "map50": "mAP@0.5",
                "map": "mAP@0.5:0.95", "map_50_95": "mAP@0.5:0.95", "map_75": "mAP@0.75"}


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _load(models_dir: str, name: str, version: int, sha256: str) -> LoadedModel:
    """A saved vision model, verified and loaded once per dashboard process (keyed by its SHA-256)."""
    from pathlib import Path

    import automlops.vision.zoo  # noqa: F401 - registers the architectures the model store rebuilds
    from automlops.mlops.store import ModelStore

    return ModelStore(Path(models_dir)).load(name, version)


def load_model(settings: Settings, name: str, version: int, meta: dict[str, Any]) -> LoadedModel:
    return _load(str(settings.models_dir), name, int(version), str(meta.get("model_sha256", "")))


def _caption(meta: dict[str, Any], truth: Any, pred: dict[str, Any]) -> str:
    task = meta.get("task")
    if task == "image_classification":
        label = str(pred.get("prediction"))
        proba = (pred.get("probabilities") or {}).get(label)
        mark = "✓" if label == truth else "✗"
        return f"{mark} predicted {label}" + (f" ({proba:.2f})" if proba is not None else "") + f" · true {truth}"
    if task == "detection":
        return f"{len(pred.get('boxes') or [])} found · {truth} true (white)"
    return "predicted mask"


def _draw_prediction(image: Image.Image, meta: dict[str, Any], pred: dict[str, Any],
                     truth: Sequence[Sequence[float]] = ()) -> Image.Image:
    """The image with the model's mask or boxes drawn on it (classification: the image itself), as
    the page can show it (:func:`~automlops.ui.vision_draw.displayable`).

    ``truth``: the true boxes of a test image, drawn thin and white under the model's.
    """
    shown, scale = vision_draw.enlarge(image)
    if meta.get("task") == "segmentation" and "mask" in pred:
        shown = vision_draw.overlay_mask(shown, np.asarray(pred["mask"]))
    elif meta.get("task") == "detection":
        if truth:
            shown = vision_draw.draw_boxes(shown, truth, [""] * len(truth), scale=scale, outline=TRUE_BOX)
        boxes = pred.get("boxes") or []
        classes = list(meta.get("classes") or [])
        shown = vision_draw.draw_boxes(shown, [b["box"] for b in boxes], [str(b["label"]) for b in boxes],
                                       class_ids=[classes.index(b["label"]) if b["label"] in classes else 0
                                                  for b in boxes],
                                       scores=[float(b["score"]) for b in boxes], scale=scale)
    return vision_draw.displayable(shown)


@st.cache_data(show_spinner="Predicting on test images…", max_entries=8)
def test_predictions(_settings: Settings, name: str, version: int, model_sha: str,
                     items: tuple[int, ...]) -> dict[str, list[Any]]:
    """The model's answers on test images, drawn (segmentation: the true mask beside each prediction)."""
    from PIL import Image

    import automlops.vision.datasets  # noqa: F401 - registers the image lake's reader
    from automlops.mlops.image_lake import ImageLake
    from automlops.ui.vision_view import draw_item
    from automlops.vision.predict import predict_images

    loaded = _load(str(_settings.models_dir), name, version, model_sha)
    meta, lineage = loaded.meta, loaded.meta.get("dataset") or {}
    dataset = ImageLake(settings=_settings).load(str(lineage["name"]), int(lineage["version"]), check=False)
    picked = [dataset.items[i] for i in (items or range(len(dataset.items))) if 0 <= i < len(dataset.items)][:N_SHOWN]
    images = []
    for item in picked:
        with Image.open(dataset.root / item.path) as raw:
            images.append(raw.convert("RGB"))
    preds = predict_images(loaded.model, meta, images)
    shown: list[Any] = []
    captions: list[str] = []
    for item, image, pred in zip(picked, images, preds, strict=True):
        truth: Any = dataset.classes[item.label] if item.label is not None else len(item.boxes)
        if meta.get("task") == "segmentation":
            drawn, _ = draw_item(dataset, item)
            shown.append(drawn)
            captions.append("true mask")
        shown.append(np.asarray(_draw_prediction(image, meta, pred, item.boxes)))
        captions.append(_caption(meta, truth, pred))
    return {"images": shown, "captions": captions}


def confusion_of(report: dict[str, Any]) -> dict[str, Any] | None:
    """The confusion matrix in a vision model's meta, as ``{"labels", "matrix"}`` (None if absent)."""
    found = report.get("confusion") or report.get("confusion_matrix")
    if isinstance(found, dict) and "matrix" in found:
        return {"labels": list(found.get("labels") or report.get("classes") or []), "matrix": found["matrix"]}
    if isinstance(found, list) and found:
        return {"labels": list(report.get("classes") or range(len(found))), "matrix": found}
    return None


def metric_label(name: str) -> str:
    """``"miou"`` → ``"mIoU"``, ``"map_50"`` → ``"mAP@0.5"`` (unknown names as they are)."""
    return METRIC_NAMES.get(name, name)


def _metric_cards(metrics: dict[str, Any]) -> None:
    """The test metrics, the task's headline ones first and the loss last."""
    order = list(METRIC_NAMES)
    names = sorted((k for k, v in metrics.items() if isinstance(v, int | float)),
                   key=lambda k: (k == "loss", order.index(k) if k in order else len(order)))
    components.metric_cards({metric_label(k): float(metrics[k]) for k in names})


def render(snap: JobSnapshot, settings: Settings) -> None:
    """An ended vision job: its saved model and scores, curves, predictions, and a try on an image."""
    res = snap.result
    if res is None:
        error = snap.error or "no result"
        text = f"Training {error}" if error.startswith("cancelled") else f"Training {snap.status}: {error}"
        (st.warning if snap.status == "cancelled" else st.error)(text)
        return
    st.success(f"Saved model **{res.model_name} v{res.model_version:04d}** — best: {res.best_model}; "
               f"test {metric_label(res.metric)} = {res.test_score:.4f}")
    for note in res.notes:
        st.warning(note)
    _metric_cards(res.test_metrics)
    report = dict(res.report or {})
    confusion = confusion_of(report)
    names = ["Predictions", "Learning curves", *(["Confusion matrix"] if confusion else []), "Leaderboard",
             "Decisions"]
    tabs = dict(zip(names, st.tabs(names), strict=True))
    with tabs["Predictions"], components.guard("drawing the predictions on test images"):
        drawn = test_predictions(settings, res.model_name, res.model_version, str(report.get("model_sha256", "")),
                                 tuple(report.get("test_items") or ()))
        st.caption("Images of the test split, which no trial trained on; the model's answer is drawn on each.")
        st.image(drawn["images"], caption=drawn["captions"], width=150)
    with tabs["Learning curves"]:
        if snap.epochs:
            from automlops.ui.vision_train import show_curves

            show_curves(snap.epochs, key="vision-res")
        else:
            st.info("No epochs were recorded for this training.")
    if confusion:
        with tabs["Confusion matrix"]:
            figure = components.confusion_chart(confusion)
            figure.update_layout(title="Confusion matrix (test images)", xaxis={"type": "category"},
                                 yaxis={"type": "category"})
            components.show_chart(figure, key="vision-cm")
    with tabs["Leaderboard"]:
        components.leaderboard_table(res.leaderboard)
    with tabs["Decisions"]:
        components.decision_list(res.decisions)
    where = f"MLflow run `{res.run_id}` in {res.tracking_uri}" if res.run_id else "not tracked"
    st.caption(f"{where}.")
    try_an_image(settings, res.model_name, res.model_version, report)


def show_prediction(image: Image.Image, meta: dict[str, Any], pred: dict[str, Any]) -> None:
    """One prediction: the drawn image beside its numbers (probabilities, pixel counts or boxes)."""
    left, right = st.columns([1, 2])
    left.image(np.asarray(_draw_prediction(image, meta, pred)), width=256)
    task = meta.get("task")
    with right:
        if task == "image_classification":
            st.markdown(f"Prediction: **{pred['prediction']}**")
            probs = sorted((pred.get("probabilities") or {}).items(), key=lambda kv: -kv[1])[:10]
            st.dataframe([{"class": c, "probability": p} for c, p in probs], hide_index=True, column_config={
                "probability": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.3f")})
        elif task == "segmentation":
            counts = pred.get("pixel_counts") or {}
            st.markdown(f"Pixels per class ({image.width}×{image.height} image):")
            st.dataframe([{"class": c, "pixels": n} for c, n in counts.items()], hide_index=True)
        else:
            boxes = pred.get("boxes") or []
            st.markdown(f"**{len(boxes)}** object{'s' if len(boxes) != 1 else ''} above the score threshold "
                        f"({meta.get('score_threshold', 0.5)}){':' if boxes else '.'}")
            if boxes:
                    st.dataframe([{"label": b["label"], "score": b["score"], "box (x1, y1, x2, y2)": str(b["box"])}
                              for b in boxes], hide_index=True)


def try_an_image(settings: Settings, name: str, version: int, meta: dict[str, Any]) -> None:
    """Upload a PNG or JPEG and see the model's answer (not an image: an error box)."""
    st.subheader("Try an image")
    uploaded = st.file_uploader("PNG or JPEG", type=["png", "jpg", "jpeg"], key="vision_try",
                                help=f"Predicted by {name} v{version:04d}, on this machine's CPU or GPU.")
    if uploaded is None:
        return
    with components.guard("predicting on the image"), st.spinner("Predicting…"):
        from automlops.vision.predict import open_image, predict_images

        image = open_image(uploaded.getvalue(), max_pixels=settings.api_max_image_pixels)
        loaded = load_model(settings, name, version, meta)
        [pred] = predict_images(loaded.model, loaded.meta, [image])
        show_prediction(image, loaded.meta, pred)
