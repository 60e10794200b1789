"""Draw what a vision dataset or model says about an image: a label, a mask, boxes (Pillow only).

A picture is easier to check than a table: a mask drawn over its image shows at once whether the
annotation (or the model) follows the object's edge, and a box with its label shows what was
found where. Everything here works on :class:`PIL.Image.Image` and NumPy arrays, with no PyTorch,
so the Vision page can show a dataset without loading the deep-learning stack.

Small images (the 32-pixel digits, the 64-pixel shapes) are first enlarged with
*nearest-neighbour* resampling, which keeps every original pixel a crisp square, so boxes and
their labels stay legible on screen. Very elongated ones (a 10,000 × 10 strip) are padded before
they are shown (:func:`displayable`): at 150 pixels wide the strip would be 0 pixels high, which
Streamlit refuses with an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["PALETTE", "color", "displayable", "draw_boxes", "enlarge", "overlay_mask"]

# Distinct, colour-blind-friendly colours (Okabe–Ito, then Tableau); class i gets PALETTE[i % len].
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167),
    (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79), (237, 201, 72), (176, 122, 161))
IGNORE = 255  # mask value for "not labelled" pixels
PAD = (240, 240, 240)  # the light grey around an elongated image


def displayable(image: Image.Image, *, longest: int = 1024, max_ratio: float = 8.0) -> Image.Image:
    """``image`` as the page can show it at any width: its long side at most ``longest`` pixels, and
    padded (light grey, at the bottom or right) to at most ``max_ratio`` : 1; other images unchanged."""
    image = image.convert("RGB")
    if max(image.size) > longest:
        image = image.copy()
        image.thumbnail((longest, longest))  # keeps the aspect ratio, and at least 1 pixel per side
    width, height = image.size
    size = (max(width, math.ceil(height / max_ratio)), max(height, math.ceil(width / max_ratio)))
    if size == image.size:
        return image
    canvas = Image.new("RGB", size, PAD)
    canvas.paste(image, (0, 0))
    return canvas


def color(index: int) -> tuple[int, int, int]:
    """The colour of class ``index``."""
    return PALETTE[index % len(PALETTE)]


def enlarge(image: Image.Image, side: int = 192) -> tuple[Image.Image, float]:
    """``image`` in RGB, enlarged (nearest neighbour) so its longer side is at least ``side``; and the scale."""
    image = image.convert("RGB")
    longest = max(image.size)
    scale = max(1, side // max(longest, 1)) if longest < side else 1
    if scale == 1:
        return image, 1.0
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST), float(scale)


def overlay_mask(image: Image.Image, mask: np.ndarray, *, alpha: float = 0.45, background: int | None = 0
                 ) -> Image.Image:
    """Colour each pixel of ``image`` by its class in ``mask`` (H×W class indices).

    ``background`` (class 0 by default) and :data:`IGNORE` pixels are left as they are, so the
    objects stand out. A mask of another size is resized (nearest neighbour) to the image.
    """
    base = image.convert("RGB")
    labels = np.asarray(mask)
    if labels.shape[:2] != (base.height, base.width):
        labels = np.asarray(Image.fromarray(labels.astype(np.uint8)).resize(base.size, Image.Resampling.NEAREST))
    pixels = np.asarray(base, dtype=np.float32).copy()
    for value in np.unique(labels):
        if value == IGNORE or (background is not None and value == background):
            continue
        where = labels == value
        pixels[where] = (1 - alpha) * pixels[where] + alpha * np.asarray(color(int(value)), dtype=np.float32)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "RGB")


def draw_boxes(image: Image.Image, boxes: Sequence[Sequence[float]], labels: Sequence[str],
               *, class_ids: Sequence[int] | None = None, scores: Sequence[float] | None = None,
               scale: float = 1.0, outline: tuple[int, int, int] | None = None) -> Image.Image:
    """Draw each box (x1, y1, x2, y2 in the original image's pixels) with its label and score.

    ``scale`` maps original pixels to ``image`` (after :func:`enlarge`); ``class_ids`` pick the
    colours (by label order when absent); ``outline`` draws every box in one colour, without
    labels (the true boxes under a model's answers).
    """
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    width = max(1, round(min(out.size) / 100))
    for i, (box, label) in enumerate(zip(boxes, labels, strict=True)):
        x1, y1, x2, y2 = (float(v) * scale for v in box)
        rgb = outline or color(int(class_ids[i]) if class_ids is not None else i)
        draw.rectangle((x1, y1, x2, y2), outline=rgb, width=width)
        if outline is not None:
            continue
        text = label if scores is None else f"{label} {float(scores[i]):.2f}"
        left, top, right, bottom = draw.textbbox((x1, y1), text)
        top_y = max(0.0, y1 - (bottom - top) - 2)
        draw.rectangle((x1, top_y, x1 + (right - left) + 4, top_y + (bottom - top) + 2), fill=rgb)
        draw.text((x1 + 2, top_y), text, fill=(0, 0, 0))
    return out
