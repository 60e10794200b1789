"""VisionRunner end to end on images with known answers: search, track, save, reload, predict.

Budgets are tiny (one or two epochs, one trial, random initial weights: this machine cannot
download any), so these tests check that every part is wired and honest, not that the models
are good; ``benchmarks/vision_throughput.py`` measures quality and speed.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from automlops.errors import Cancelled, ConfigError, DataError
from automlops.mlops.store import ModelStore
from automlops.mlops.tracking import Tracker
from automlops.vision.predict import predict_images
from automlops.vision.runner import VisionRunner, save_vision_model
from tests.vision.conftest import images_of


def test_classification_is_tracked_per_epoch_saved_and_served_the_same(digits, settings, no_weights) -> None:
    tracker = Tracker(settings=settings)
    events = []
    runner = VisionRunner("classification", models=["resnet18"], epochs=2, n_trials=1, tracker=tracker,
                          download_weights=False, run_name="digits", callbacks=[events.append]).fit(digits)
    result = runner.result_
    assert result.problem.task.value == "image_classification" and result.problem.metric == "accuracy"
    assert set(result.test_metrics) >= {"accuracy", "macro_f1"} and 0.0 <= result.test_score <= 1.0
    assert len(result.test_rows) == 6  # 15 % of 40 images, stratified
    assert sorted(runner.study_.trials[0].intermediate_values) == [1, 2]  # one report per epoch: Hyperband's resource
    assert [e.extra["epoch"] for e in events if e.kind == "epoch"] == [1, 2]
    assert list(runner.history_["epoch"]) == [1, 2]
    decisions = " ".join(str(d) for d in runner.decisions_)
    assert "random initialisation" in decisions and "no ensemble" in decisions
    # MLflow: the run has test metrics, the predictions grid and the history; the trial one step per epoch
    client = tracker.client
    parent = client.get_run(result.run_id)
    assert parent.data.metrics["test_accuracy"] == pytest.approx(result.test_score)
    assert {a.path for a in client.list_artifacts(result.run_id)} >= {"predictions.html", "history.csv"}
    trial_run = client.search_runs([parent.info.experiment_id],
                                   filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'")[0]
    assert [m.step for m in client.get_metric_history(trial_run.info.run_id, "train_loss")] == [1, 2]
    # the store keeps a state dict + architecture; the reloaded model answers exactly as the trained one
    stored = save_vision_model(result, ModelStore(settings=settings), "digits", register=False)
    assert stored.meta["model_format"] == "torch-state-dict" and stored.meta["kind"] == "vision"
    assert stored.meta["classes"] == ["0", "1", "2", "3"] and stored.meta["input_size"] == [32, 32]
    loaded = ModelStore(settings=settings).load("digits")
    from automlops.tasks import report_figures

    plots = report_figures(loaded.meta)  # the Models page draws these from meta.json alone
    assert set(plots) == {"learning_curves", "confusion_matrix"}
    assert [list(t.x) for t in plots["learning_curves"].data][0] == [1, 2]
    assert sum(map(sum, plots["confusion_matrix"].data[0].z)) == 6  # every test image counted once
    images = images_of(digits, 4)
    assert runner.predict(images) == predict_images(loaded.model, loaded.meta, images)
    assert sum(predict_images(loaded.model, loaded.meta, images)[0]["probabilities"].values()) == pytest.approx(1.0)


def test_segmentation_masks_come_back_at_the_image_size(shapes_segmentation, no_weights) -> None:
    runner = VisionRunner("segmentation", models=["deeplabv3_mobilenet_v3_large"], epochs=1, n_trials=1,
                          download_weights=False, batch_size=4).fit(shapes_segmentation)
    assert set(runner.result_.test_metrics) >= {"miou", "pixel_accuracy"}
    image = images_of(shapes_segmentation, 1)[0].resize((40, 30))  # not the training size: scaled back
    answer = runner.predict([image])[0]
    assert answer["mask"].shape == (30, 40) and answer["mask"].dtype == np.uint8
    assert sum(answer["pixel_counts"].values()) == 30 * 40
    assert set(answer["pixel_counts"]) == {"background", "square", "circle"}


def test_detection_reports_map_and_respects_the_threshold(shapes_detection, no_weights) -> None:
    runner = VisionRunner("detection", models=["fasterrcnn_mobilenet_v3_large_320_fpn"], epochs=1, n_trials=1,
                          download_weights=False, image_size=64, batch_size=4).fit(shapes_detection)
    metrics = runner.result_.test_metrics
    assert set(metrics) >= {"map", "map_50", "map_75"} and all(0.0 <= metrics[k] <= 1.0 for k in ("map", "map_50"))
    image = images_of(shapes_detection, 1)[0]
    everything = runner.predict([image], threshold=0.0)[0]["boxes"]
    confident = runner.predict([image], threshold=0.5)[0]["boxes"]
    assert len(confident) <= len(everything) and all(b["score"] >= 0.5 for b in confident)
    assert all(b["label"] in ("square", "circle") and len(b["box"]) == 4 for b in everything)


def test_the_time_budget_holds(digits, no_weights) -> None:
    runner = VisionRunner("classification", models=["resnet18"], epochs=200, patience=200, time_budget=8,
                          download_weights=False).fit(digits)
    assert runner.result_.wall_seconds <= 8 * 1.1
    assert runner.result_.n_trials >= 1


def test_cancel_stops_and_ships_nothing(digits, no_weights) -> None:
    stop = threading.Event()

    def cancel_after_first_epoch(event) -> None:
        if event.kind == "epoch":
            stop.set()

    with pytest.raises(Cancelled):
        VisionRunner("classification", models=["resnet18"], epochs=1, n_trials=3, download_weights=False,
                     callbacks=[cancel_after_first_epoch], stop_event=stop).fit(digits)


def test_bad_requests_are_refused_before_any_training(digits, shapes_segmentation) -> None:
    with pytest.raises(ConfigError, match="segmentation model"):
        VisionRunner("classification", models=["deeplabv3_resnet50"]).engine()
    with pytest.raises(ConfigError, match="not an image task"):
        VisionRunner("regression").engine()
    with pytest.raises(DataError, match="laid out for segmentation"):
        VisionRunner("classification", models=["resnet18"], n_trials=1).fit(shapes_segmentation)
    with pytest.raises(ConfigError, match="divisible by 16"):
        VisionRunner("classification", models=["vit_b_16"], image_size=40, n_trials=1, download_weights=False,
                     weights="none").fit(digits)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            VisionRunner("classification", models=["resnet18"], device="cuda", n_trials=1).fit(digits)


ALL = {"resnet18": "digits", "resnet50": "digits", "mobilenet_v2": "digits", "vit_b_16": "digits",
       "deeplabv3_mobilenet_v3_large": "shapes_segmentation", "deeplabv3_resnet50": "shapes_segmentation",
       "fasterrcnn_mobilenet_v3_large_320_fpn": "shapes_detection", "fasterrcnn_resnet50_fpn_v2": "shapes_detection"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ALL))
def test_every_architecture_trains_saves_and_predicts(name, request, settings, no_weights) -> None:
    data = request.getfixturevalue(ALL[name])
    runner = VisionRunner(data.task, models=[name], epochs=1, n_trials=1, download_weights=False, batch_size=4,
                          image_size=96 if data.task == "detection" else None).fit(data)
    save_vision_model(runner.result_, ModelStore(settings=settings), "net", register=False)
    loaded = ModelStore(settings=settings).load("net")
    assert loaded.meta["model_name"] == name
    images = images_of(data, 2)
    assert runner.predict(images, threshold=0.0) == predict_images(loaded.model, loaded.meta, images, threshold=0.0)


@pytest.mark.gpu
def test_cuda_training_with_mixed_precision(digits, no_weights) -> None:
    """On a CUDA machine: trained on the GPU (float16 products), shipped on the CPU, same answers after reload."""
    runner = VisionRunner("classification", models=["resnet18"], epochs=2, n_trials=1, device="cuda",
                          download_weights=False).fit(digits)
    assert "mixed precision" in " ".join(map(str, runner.decisions_))
    assert next(runner.model_.parameters()).device.type == "cpu"
    assert 0.0 <= runner.result_.test_score <= 1.0
