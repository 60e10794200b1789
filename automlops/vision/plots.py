"""Pictures of what a vision model sees: predictions drawn on images, in a grid.

A score says *how often* a model is right; a grid of its predictions shows *how* it is wrong
(every circle called a square, masks that bleed over edges, boxes around nothing). Each tile is
an image with, for classification, the true and predicted class (red when wrong); for
segmentation, the predicted mask blended in colour; for detection, predicted boxes in colour and
true boxes in white. :func:`grid_html` wraps the PNG in a self-contained HTML page, so the grid is
logged to MLflow as a text artifact and opens in any browser.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["PALETTE", "draw_prediction", "grid_html", "image_grid", "png_bytes"]

PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


def _colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def draw_prediction(image: Any, answer: Mapping[str, Any], classes: Sequence[str], *, truth: str | None = None,
                    truth_boxes: Sequence[Sequence[float]] = (), tile: int = 160) -> Any:
    """``image`` (Pillow, RGB) with ``answer`` (from :func:`~automlops.vision.predict.predict_images`) drawn on it;
    ``truth`` is the true class (classification), ``truth_boxes`` the true boxes (detection)."""
    from PIL import Image, ImageDraw

    canvas = image.convert("RGB").copy()
    if "mask" in answer:
        colours = np.array([(0, 0, 0)] + [_colour(i) for i in range(1, max(2, len(classes)))], dtype=np.uint8)
        mask = np.asarray(answer["mask"])
        overlay = colours[np.clip(mask, 0, len(colours) - 1)]
        blend = np.where(mask[..., None] > 0, 0.5 * np.asarray(canvas) + 0.5 * overlay, np.asarray(canvas))
        canvas = Image.fromarray(blend.astype(np.uint8))
    scale = tile / max(canvas.width, canvas.height)
    canvas = canvas.resize((max(1, int(canvas.width * scale)), max(1, int(canvas.height * scale))))
    draw = ImageDraw.Draw(canvas)
    for box in truth_boxes:  # true boxes in white, under the predictions
        draw.rectangle([v * scale for v in box], outline=(255, 255, 255), width=1)
    for found in answer.get("boxes", []):
        colour = _colour(list(classes).index(found["label"]) if found["label"] in classes else 0)
        x1, y1, x2, y2 = (v * scale for v in found["box"])
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        draw.text((x1 + 2, y1 + 1), f"{found['label']} {found['score']:.2f}", fill=colour)
    if "prediction" in answer:
        wrong = truth is not None and str(truth) != str(answer["prediction"])
        label = f"{answer['prediction']}" + (f" (true {truth})" if truth is not None else "")
        draw.rectangle([0, 0, canvas.width, 12], fill=(200, 30, 30) if wrong else (20, 110, 40))
        draw.text((2, 0), label, fill=(255, 255, 255))
    return canvas


def image_grid(tiles: Sequence[Any], *, columns: int = 4, tile: int = 160) -> Any:
    """Tiles (Pillow images) laid out left to right, top to bottom, on a dark background."""
    from PIL import Image

    rows = max(1, -(-len(tiles) // columns))
    grid = Image.new("RGB", (columns * tile, rows * tile), (24, 24, 24))
    for i, t in enumerate(tiles):
        grid.paste(t, ((i % columns) * tile + (tile - t.width) // 2, (i // columns) * tile + (tile - t.height) // 2))
    return grid


def png_bytes(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_html(grid: Any, title: str) -> str:
    """A self-contained HTML page showing ``grid`` (the PNG is embedded as base64)."""
    data = base64.b64encode(png_bytes(grid)).decode("ascii")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body "
            f"style='background:#111;color:#eee;font-family:sans-serif'><h3>{title}</h3>"
            f"<img alt='{title}' src='data:image/png;base64,{data}'></body></html>")


def figures(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The plots of a saved vision model, from its ``meta.json`` alone (plotly figures).

    ``learning_curves``: training loss, validation loss and the validation metric per epoch of the
    chosen trial (the epoch kept is marked); ``confusion_matrix`` for classifiers (true class down,
    predicted across).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    out: dict[str, Any] = {}
    history = list(meta.get("history") or [])
    if history:
        epochs = [row["epoch"] for row in history]
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        for key, name in (("train_loss", "training loss"), ("val_loss", "validation loss")):
            values = [row.get(key) for row in history]
            if any(v is not None for v in values):
                fig.add_trace(go.Scatter(x=epochs, y=values, name=name, mode="lines+markers"), secondary_y=False)
        metric = str(meta.get("metric") or "metric")
        fig.add_trace(go.Scatter(x=epochs, y=[row.get("value") for row in history], name=f"validation {metric}",
                                 mode="lines+markers"), secondary_y=True)
        if meta.get("best_epoch"):
            fig.add_vline(x=meta["best_epoch"], line_dash="dot", annotation_text="kept")
        fig.update_layout(title="Learning curves", xaxis_title="epoch", height=360)
        out["learning_curves"] = fig
    matrix = meta.get("confusion_matrix")
    if matrix:
        classes = [str(c) for c in meta.get("classes") or range(len(matrix))]
        out["confusion_matrix"] = go.Figure(go.Heatmap(z=matrix, x=classes, y=classes, colorscale="Blues",
                                                       text=matrix, texttemplate="%{text}"),
                                            layout={"title": "Confusion matrix (test images)", "height": 360,
                                                    "xaxis_title": "predicted", "yaxis_title": "true",
                                                    "yaxis": {"autorange": "reversed"}})
    return out
