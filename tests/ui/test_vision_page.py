"""The Vision page with the real image lake, job system, vision runner and model store (AppTest).

Images are scikit-learn's digits written as an ImageFolder (automlops.vision.samples), zipped as a
user would, and added through the page or the lake. The training test runs a real background job:
a worker process trains MobileNetV2 for one epoch on 32-pixel digits, saves it, and the page shows
its test accuracy, its predictions and an uploaded image's class.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from automlops.config import Settings
from automlops.core.results import ProgressEvent
from automlops.mlops.image_lake import ImageLake
from automlops.mlops.store import ModelStore
from automlops.ui import jobs
from automlops.ui.job_process import JobReporter
from automlops.ui.job_store import JobStore
from automlops.ui.job_types import TrainRequest
from automlops.vision.samples import write_digits_imagefolder, write_shapes_detection, zip_folder
from tests.ui.helpers import assert_clean, new_app, run_until, texts

PAGE = "automlops/ui/pages/vision.py"


def open_vision(at: AppTest | None = None) -> AppTest:
    at = at or new_app()
    try:
        at.main  # noqa: B018 - raises before the first run
    except KeyError:
        at.run()
    at.switch_page(PAGE)
    return at.run()


def digits_zip(tmp_path: Path, *, per_class: int = 6, classes: int = 3) -> bytes:
    folder = write_digits_imagefolder(tmp_path / "digits", per_class=per_class, size=32, classes=classes)
    return zip_folder(folder, tmp_path / "digits.zip").read_bytes()


def png_bytes(size: int = 32) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), 200, dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_page_paints_empty_with_a_hint(ui_home: Path) -> None:
    at = open_vision()
    assert_clean(at)
    assert texts(at.title) == ["Vision"]
    assert any("No image datasets yet" in t for t in texts(at.info)), texts(at.info)
    assert at.button(key="vision_add").disabled  # nothing uploaded yet


def test_a_bad_archive_shows_an_error_and_stores_nothing(ui_home: Path, settings: Settings, tmp_path: Path) -> None:
    at = open_vision()
    at.file_uploader(key="vision_upload").upload("holiday.zip", b"these bytes are not a zip archive", "application/zip")
    at.run()
    at.button(key="vision_add").click().run()
    assert_clean(at)  # an expected error box, never a traceback
    assert at.error, "a refused archive must say why"
    assert ImageLake(settings=settings).list_datasets() == []

    import zipfile  # a real zip whose member escapes the dataset folder

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../escape/0/a.png", png_bytes())
    at.file_uploader(key="vision_upload").upload("evil.zip", evil.read_bytes(), "application/zip")
    at.run()
    at.button(key="vision_add").click().run()
    assert_clean(at)
    assert at.error
    assert ImageLake(settings=settings).list_datasets() == []
    assert not (tmp_path.parent / "escape").exists()


def test_an_uploaded_archive_shows_samples_counts_and_sizes(ui_home: Path, settings: Settings,
                                                             tmp_path: Path) -> None:
    at = open_vision()
    at.file_uploader(key="vision_upload").upload("my digits.zip", digits_zip(tmp_path), "application/zip")
    at.run()
    at.button(key="vision_add").click().run()
    assert_clean(at)
    assert any("was added as my_digits v0001" in t and "18 images" in t for t in texts(at.success)), texts(at.success)
    assert ImageLake(settings=settings).list_datasets() == ["my_digits"]
    assert at.selectbox(key="vision_dataset").value == "my_digits"
    [grid] = at.get("image")
    captions = grid.captions
    assert len(captions) == 12 and set(captions) == {"0", "1", "2"}  # every class in turn
    assert at.get("plotly_chart"), "the class counts chart"
    assert "Image classification" in " ".join(texts(at.markdown)) or "image classification" in " ".join(
        texts(at.markdown))
    assert at.multiselect(key="vision_models_image_classification").value == ["mobilenet_v2"]  # lightest first


PAINT_WITHOUT_TORCH = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("automlops/ui/pages/vision.py", default_timeout=60).run()  # the page alone: no warm-up
assert not at.exception, [e.value for e in at.exception]
assert at.get("image"), "the sample grid"
print("torch" in sys.modules)
"""


def test_the_page_shows_a_dataset_without_loading_torch(ui_home: Path, settings: Settings, tmp_path: Path) -> None:
    """PyTorch costs seconds to import: showing images and the form must not need it (only training does)."""
    import subprocess
    import sys

    from tests.ui.helpers import REPO

    ImageLake(settings=settings).add_archive("digits", digits_zip(tmp_path, per_class=2))
    done = subprocess.run([sys.executable, "-c", PAINT_WITHOUT_TORCH], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_detection_samples_are_drawn_with_their_boxes(ui_home: Path, settings: Settings, tmp_path: Path) -> None:
    folder = write_shapes_detection(tmp_path / "shapes", n=8, size=64)
    ImageLake(settings=settings).add_archive("shapes", zip_folder(folder, tmp_path / "shapes.zip"))
    at = open_vision()
    assert_clean(at)
    [grid] = at.get("image")
    assert all(c.endswith(("object", "objects")) for c in grid.captions)
    assert at.multiselect(key="vision_models_detection").value == ["fasterrcnn_mobilenet_v3_large_320_fpn"]


def test_epoch_events_become_live_curves(ui_home: Path, settings: Settings) -> None:
    """The runner's "epoch" events reach the job table and a snapshot, which the page draws as curves."""
    from automlops.ui.vision_train import curves_chart

    store = JobStore(settings.home / "jobs.db")
    request = TrainRequest("digits", 1, None, task="image_classification", models=("resnet18",), epochs=2)
    store.add("abc123", request.to_json(), created=0.0, tracking_uri="", owner_pid=0, owner_started=None)
    report = JobReporter(store, "abc123")
    for epoch, (loss, acc) in enumerate([(2.0, 0.3), (1.2, 0.6)], start=1):
        report(ProgressEvent("epoch", f"trial 0 resnet18 epoch {epoch}", value=acc,
                             extra={"trial": 0, "epoch": epoch, "model": "resnet18", "train_loss": loss,
                                    "val_loss": loss + 0.1, "metric": "accuracy"}))
    points = store.epochs("abc123")
    assert [(p.epoch, p.train_loss, p.value, p.model) for p in points] == [(1, 2.0, 0.3, "resnet18"),
                                                                            (2, 1.2, 0.6, "resnet18")]
    assert store.get("abc123").stage == "trial 0 resnet18 epoch 2"  # type: ignore[union-attr]
    loss, metric = curves_chart(points, loss=True), curves_chart(points, loss=False)
    assert [t.name for t in loss.data] == ["trial 0 train", "trial 0 validation"]
    assert list(metric.data[0].y) == [0.3, 0.6] and "accuracy" in metric.layout.title.text


def tiny_training(at: AppTest) -> AppTest:
    """MobileNetV2, 1 epoch, 1 trial, 32-pixel inputs, batch 8, 60 s at most; then press Train."""
    at.multiselect(key="vision_models_image_classification").set_value(["mobilenet_v2"])
    at.number_input(key="vision_epochs").set_value(1)
    at.number_input(key="vision_trials").set_value(1)
    at.number_input(key="vision_budget").set_value(60)
    at.number_input(key="vision_size").set_value(32)
    at.number_input(key="vision_batch").set_value(8)
    at.selectbox(key="vision_device").set_value("cpu")
    at.selectbox(key="vision_start_from").set_value("none")  # this machine cannot download weights
    at.text_input(key="vision_name_digits").set_value("digits_net")
    at.run()
    return at.button(key="vision_start").click().run()


def vision_done(at: AppTest) -> bool:
    return not any(b.label == "Cancel" for b in at.button) and bool(at.success or at.error or at.warning)


def test_a_background_training_shows_its_metrics_predictions_and_tries_an_image(
        ui_home: Path, settings: Settings, tmp_path: Path) -> None:
    ImageLake(settings=settings).add_archive("digits", digits_zip(tmp_path, per_class=8))
    at = open_vision()
    tiny_training(at)
    assert_clean(at)
    assert at.button(key="vision_cancel").label == "Cancel"  # the live panel, while the worker trains
    run_until(at, vision_done, timeout=180)
    assert_clean(at)
    assert any("Saved model **digits_net v0001**" in t for t in texts(at.success)), (texts(at.success), texts(at.error))
    assert "Accuracy" in [m.label for m in at.metric]
    assert at.get("image"), "the predictions drawn on test images"
    loaded = ModelStore(settings=settings).versions("digits_net")[0].meta
    assert loaded["kind"] == "vision" and loaded["classes"] == ["0", "1", "2"]

    at.file_uploader(key="vision_try").upload("digit.png", png_bytes(), "image/png")
    at.run()
    assert_clean(at)
    assert any(t.startswith("Prediction: **") for t in texts(at.markdown)), texts(at.markdown)
    at.file_uploader(key="vision_try").upload("fake.png", b"not an image at all", "image/png")
    at.run()
    assert_clean(at)
    assert any("is not an image" in t for t in texts(at.error)), texts(at.error)

    job = jobs.get(at.session_state["automlops.vision_job_id"])
    assert job is not None and job.snapshot().epochs, "the epochs the live curves were drawn from"
    fresh = open_vision()  # another tab, or the dashboard after a restart: the training is listed
    [label] = fresh.selectbox(key="vision_job_pick").options
    assert label.startswith("digits_net · digits v0001 · finished")


@pytest.mark.slow
def test_cancel_stops_a_vision_training_and_saves_nothing(ui_home: Path, settings: Settings, tmp_path: Path) -> None:
    ImageLake(settings=settings).add_archive("digits", digits_zip(tmp_path, per_class=10))
    job = jobs.submit(TrainRequest("digits", 1, None, task="image_classification", models=("mobilenet_v2",),
                                   epochs=50, n_trials=1, time_budget=300, image_size=32, weights="none",
                                   model_name="stopped"),
                      settings=settings)
    at = open_vision()
    at.session_state["automlops.vision_job_id"] = job.id
    at.run()
    run_until(at, lambda a: bool(job.snapshot().epochs), timeout=120)
    at.run()
    assert at.get("plotly_chart"), "live curves after the first epoch"
    at.button(key="vision_cancel").click().run()
    assert job.join(60)
    run_until(at, vision_done, timeout=30)
    assert any("cancelled: nothing was saved" in t for t in texts(at.warning)), texts(at.warning)
    assert ModelStore(settings=settings).names() == []


@pytest.mark.slow  # the same path as the background test above, without the worker process (24 s)
def test_the_worker_function_trains_and_saves_in_process(ui_home: Path, settings: Settings, tmp_path: Path) -> None:
    """The job path without a process: run_training on a vision request records epochs and saves."""
    from automlops.ui.job_worker import run_training

    ImageLake(settings=settings).add_archive("digits", digits_zip(tmp_path))
    events: list[ProgressEvent] = []
    request = TrainRequest("digits", 1, None, task="image_classification", models=("mobilenet_v2",), epochs=1,
                           n_trials=1, time_budget=60, image_size=32, batch_size=8, device="cpu", weights="none",
                           model_name="inproc")
    result = run_training(request, settings=settings, tracker=None, tracking_uri="", emit=events.append,
                          stop_event=threading.Event())
    assert result.kind == "vision" and result.model_name == "inproc" and result.model_version == 1
    assert set(result.test_metrics) >= {"accuracy", "macro_f1"}
    assert any(e.kind == "epoch" for e in events)
    assert result.report is not None and result.report["test_items"]
