"""The Vision page's data part: add a .zip of images to the image lake, then look inside a version.

An image dataset arrives as one archive in one of the layouts the studio reads (ImageFolder for
classification, ``images/`` + ``masks/`` for segmentation, COCO JSON or Pascal VOC XML for
detection). The :class:`~automlops.mlops.image_lake.ImageLake` extracts it safely, checks every
image and annotation, and stores it as a numbered, checksummed version; anything wrong with the
archive is a :class:`~automlops.errors.DataError` whose message says what and where, shown here as
an error box (and nothing is stored).

Looking inside a version shows what a model will learn from before any training starts: a grid of
sample images with their labels, masks or boxes drawn on them (:mod:`automlops.ui.vision_draw`),
how many images, pixels or objects each class has (an imbalance you can see is one you can fix),
and the image sizes. All of it is read with Pillow and NumPy only, and cached by the version's
SHA-256 (a version never changes), so the page stays quick and PyTorch is never loaded for it.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from automlops.ui import components, state, vision_draw

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from automlops.mlops.image_lake import ImageDatasetVersion, ImageLake
    from automlops.vision.datasets import ImageDataset, ImageItem

__all__ = ["TASK_LABELS", "look_inside", "pick_version", "sample_items", "show_version", "upload_section"]

TASK_LABELS = {"image_classification": "image classification", "segmentation": "semantic segmentation",
               "detection": "object detection"}
COUNT_UNITS = {"image_classification": "images", "segmentation": "pixels", "detection": "objects"}
LAYOUT_HELP = ("Layouts: **ImageFolder** (`<class>/<image>.png`, one folder per class) for classification; "
               "`images/` + `masks/` (a PNG per image whose pixels are class indices) + `classes.txt` for "
               "segmentation; **COCO** (`annotations.json`) or **Pascal VOC** (one XML per image) for detection.")
SAMPLES = 12
_DATASET_KEY = "vision_dataset"


def upload_section(lake: ImageLake) -> None:
    """Upload a .zip and add it to the image lake (a refused archive: an error box, nothing stored)."""
    from automlops.mlops.lake import dataset_name_from_filename

    st.caption(LAYOUT_HELP)
    uploaded = st.file_uploader("Archive (.zip)", type=["zip"], key="vision_upload",
                                help="Extracted safely: no paths outside the dataset, no links, size and count "
                                     "limits, every image opened and checked.")
    c1, c2, c3 = st.columns(3)
    name = c1.text_input("Dataset name", value=dataset_name_from_filename(uploaded.name) if uploaded else "",
                         key=f"vision_upload_name_{uploaded.file_id}" if uploaded else "vision_upload_name",
                         help="1-64 letters, digits, '_' or '-'; an existing name gets a new version")
    task = c2.selectbox("Task", [None, *TASK_LABELS], key="vision_upload_task",
                        format_func=lambda t: "detect from the layout" if t is None else TASK_LABELS[t])
    note = c3.text_input("Note (optional)", key="vision_upload_note", placeholder="where the images come from")
    if st.button("Add to the image lake", type="primary", key="vision_add", disabled=uploaded is None):
        assert uploaded is not None
        with components.guard("adding the archive to the image lake"), st.spinner("Checking the archive…"):
            _register_reader()
            version = lake.add_archive(name, uploaded.getvalue(), note=note, task=task, filename=uploaded.name)
            st.session_state[_DATASET_KEY] = version.name  # the viewer below follows the new version
            st.session_state.pop(f"vision_version_{version.name}", None)
            verb = "is already stored as" if version.reused else "was added as"
            state.show_flash("success", f"{uploaded.name} {verb} {version.name} {version.id}: "
                                        f"{version.n_images} images, {len(version.classes)} classes "
                                        f"({TASK_LABELS.get(version.task, version.task)}).")
            st.rerun()


def _register_reader() -> None:
    """The lake unpacks and reads images through the vision engine's reader, registered on import."""
    import automlops.vision.datasets  # noqa: F401


def pick_version(lake: ImageLake, prefer: tuple[str, int] | None = None) -> ImageDatasetVersion | None:
    """Dataset and version pickers; ``None`` (with a hint) while the image lake is empty.

    ``prefer``: the (dataset, version) to start from when this tab has not picked one yet (the
    dataset of the training it follows, e.g. after a reload).
    """
    names = lake.list_datasets()
    if not names:
        st.info("No image datasets yet — add a .zip above (e.g. one folder of images per class).",
                icon=":material/info:")
        return None
    c1, c2 = st.columns(2)
    if st.session_state.get(_DATASET_KEY) not in names:
        st.session_state.pop(_DATASET_KEY, None)
        if prefer is not None and prefer[0] in names:
            st.session_state[_DATASET_KEY] = prefer[0]
    name = c1.selectbox("Image dataset", names, key=_DATASET_KEY)
    versions = list(reversed(lake.versions(name)))  # newest first
    by_number = {v.version: v for v in versions}
    version_key = f"vision_version_{name}"
    if version_key not in st.session_state and prefer is not None and prefer[0] == name and prefer[1] in by_number:
        st.session_state[version_key] = prefer[1]
    number = c2.selectbox("Version", list(by_number), key=f"vision_version_{name}",
                          format_func=lambda n: f"{by_number[n].id} · {by_number[n].created}")
    return by_number[number]


def sample_items(dataset: ImageDataset, n: int = SAMPLES) -> list[int]:
    """Positions of ``n`` items to show: every class in turn for classification, evenly spread otherwise."""
    items = dataset.items
    if dataset.task == "image_classification":
        by_class: dict[int, list[int]] = {}
        for i, item in enumerate(items):
            by_class.setdefault(int(item.label or 0), []).append(i)
        queues = [by_class[c] for c in sorted(by_class)]
        picked: list[int] = []
        for rank in range(max((len(q) for q in queues), default=0)):
            picked += [q[rank] for q in queues if rank < len(q)]
            if len(picked) >= n:
                break
        return picked[:n]
    step = max(1, len(items) // n)
    return list(range(0, len(items), step))[:n]


def draw_item(dataset: ImageDataset, item: ImageItem) -> tuple[np.ndarray, str]:
    """One item as the dataset describes it: the image with its label, mask or boxes, and a caption."""
    from PIL import Image

    classes = dataset.classes
    with Image.open(dataset.root / item.path) as raw:
        image, scale = vision_draw.enlarge(raw)
    if dataset.task == "segmentation" and item.mask:
        with Image.open(dataset.root / item.mask) as mask_file:
            mask = np.asarray(mask_file)
        image = vision_draw.overlay_mask(image, mask)
        present = [classes[v] for v in np.unique(mask) if v < len(classes) and v != 0]
        caption = ", ".join(present) or "background only"
    elif dataset.task == "detection":
        names = [classes[c] for c in item.box_labels]
        image = vision_draw.draw_boxes(image, item.boxes, names, class_ids=item.box_labels, scale=scale)
        caption = f"{len(item.boxes)} object{'s' if len(item.boxes) != 1 else ''}"
    else:
        caption = classes[item.label] if item.label is not None else "?"
    return np.asarray(vision_draw.displayable(image)), caption


@st.cache_data(show_spinner="Reading the images…", max_entries=16)
def look_inside(_lake: ImageLake, name: str, version: int, sha256: str) -> dict[str, Any]:
    """Sample grid (images + captions) and the most common image sizes of a version (cached by its SHA-256).

    Only looking: the files are read without re-hashing them (a training verifies every one).
    """
    _register_reader()
    dataset = _lake.load(name, version, check=False)
    drawn = [draw_item(dataset, dataset.items[i]) for i in sample_items(dataset)]
    sizes = Counter((item.width, item.height) for item in dataset.items)
    common = [{"size": f"{w}×{h}", "images": n} for (w, h), n in sizes.most_common(5)]
    return {"images": [d[0] for d in drawn], "captions": [d[1] for d in drawn], "common_sizes": common,
            "n_sizes": len(sizes)}


def counts_chart(entry: ImageDatasetVersion) -> go.Figure:
    """One bar per class: images (classification), pixels (segmentation) or objects (detection)."""
    import plotly.express as px

    unit = COUNT_UNITS.get(entry.task, "count")
    classes = list(entry.counts)
    fig = px.bar(x=classes, y=[entry.counts[c] for c in classes], labels={"x": "class", "y": unit},
                 color=classes, color_discrete_sequence=[f"rgb{vision_draw.color(i)}" for i in range(len(classes))])
    fig.update_layout(title=f"{unit.capitalize()} per class", showlegend=False)
    return fig


def show_version(lake: ImageLake, entry: ImageDatasetVersion) -> None:
    """Facts, sample grid, class counts and image sizes of one version."""
    st.caption(f"{TASK_LABELS.get(entry.task, entry.task)} · layout {entry.layout} · {entry.n_images} images · "
               f"{len(entry.classes)} classes · created {entry.created} · SHA-256 {entry.sha256[:12]}"
               + (f" · {entry.note}" if entry.note else ""))
    inside = look_inside(lake, entry.name, entry.version, entry.sha256)
    tab_samples, tab_counts, tab_sizes = st.tabs(["Sample images", "Class counts", "Image sizes"])
    with tab_samples:
        st.image(inside["images"], caption=inside["captions"], width=150)
    with tab_counts:
        components.show_chart(counts_chart(entry), key="vision-counts")
    with tab_sizes:
        st.dataframe([{"": f"{axis} (px)", **summary} for axis, summary in entry.image_sizes.items()],
                      hide_index=True)
        st.caption(f"{inside['n_sizes']} distinct sizes; the most common:")
        st.dataframe(inside["common_sizes"], hide_index=True)
        st.caption("Images are resized to the network's input size when training, so mixed sizes are fine.")
