"""The last step of a vision fit: the chosen weights, scored once on the test images, packaged.

Nothing is retrained (see :mod:`automlops.vision.engine`): the best epoch of the best trial is
loaded into a fresh network, scored on the test images, and wrapped in an
:class:`~automlops.core.fit.Artifact` whose ``meta`` says everything serving needs to
preprocess an image exactly as validation did (input size, normalisation, classes). Two files go
to MLflow with the run: ``predictions.html`` (a grid of test images with the model's answers) and
``history.csv`` (loss and metric per epoch of the chosen trial).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from automlops.core.fit import Artifact
from automlops.search.engine import Candidate, Choice, DecisionLog, Finalized
from automlops.vision.zoo import IMAGENET_MEAN, IMAGENET_STD

if TYPE_CHECKING:
    from automlops.vision.engine import VisionEngine

__all__ = ["GRID_IMAGES", "finalize_vision"]

GRID_IMAGES = 12


def _weights_for(engine: VisionEngine, candidate: Candidate, log: DecisionLog, budget: Any) -> tuple[dict[str, Any],
                                                                                                    Any]:
    found = engine._states.get(engine._key(candidate))
    if found is None:  # the best trial ran in another worker: train it again here, once
        log("refit", f"the weights of {candidate.model} {dict(candidate.params)} are not in this process (another "
                     "worker trained them); training the configuration again")
        engine.evaluate(candidate, None, getattr(budget, "deadline", None))
        found = engine._states[engine._key(candidate)]
    return found[1], found[2]


def finalize_vision(engine: VisionEngine, choice: Choice, log: DecisionLog, budget: Any) -> Finalized:
    import pandas as pd

    from automlops.vision.torchdata import ItemsDataset, eval_transform, make_loader
    from automlops.vision.trainer import evaluate_model

    started = time.perf_counter()
    candidate: Candidate = choice.recipe
    state, outcome = _weights_for(engine, candidate, log, budget)
    model = engine.build(candidate)
    model.load_state_dict(state)
    model.eval().to(engine.device)
    test = ItemsDataset(engine.data, engine.test_idx, eval_transform(engine.task_name, engine.image_size))
    scores = evaluate_model(model, engine.task, make_loader(test, batch_size=16, shuffle=False), engine.n_classes,
                            engine.device)
    model.to("cpu")
    log("result", f"{candidate.model}, best epoch {outcome.best_epoch} ({outcome.stopped}); test "
                  + ", ".join(f"{m} {scores[m]:.4f}" for m in engine.task.metric_names))
    meta = _meta(engine, candidate, model, outcome, scores)
    files = {"history.csv": pd.DataFrame([r.row() for r in outcome.history]).to_csv(index=False),
             "predictions.html": _grid(engine, model, meta)}
    test_metrics = {k: float(v) for k, v in scores.items() if isinstance(v, float)}
    return Finalized(artifact=Artifact("vision", model, meta, format="torch-state-dict", files=files),
                     test_metrics=test_metrics, test_score=float(scores[engine.task.metric]),
                     refit_seconds=time.perf_counter() - started)


def _meta(engine: VisionEngine, candidate: Candidate, model: Any, outcome: Any, scores: dict[str, Any]) -> dict[str,
                                                                                                              Any]:
    weights = engine._weights[candidate.model]
    detection = engine.task_name == "detection"
    return {
        "architecture": f"vision:{candidate.model}",
        "architecture_params": {"n_classes": engine.n_classes, "image_size": getattr(model, "image_size", None),
                                "detection_size": engine.detection_size},
        "model_name": candidate.model, "task": engine.task_name, "classes": list(engine.data.classes),
        "input_size": [engine.image_size, engine.image_size],
        "normalization": {} if detection else {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "score_threshold": 0.5 if detection else None,
        "weights_source": weights.source, "weights_detail": weights.detail,
        "best_epoch": outcome.best_epoch, "stopped": outcome.stopped,
        "history": [r.row() for r in outcome.history],
        "images": {"train": len(engine.train_idx), "validation": len(engine.val_idx), "test": len(engine.test_idx)},
        "layout": engine.data.layout,
        "confusion_matrix": scores.get("confusion"),
        "training_images_per_second": outcome.images_per_second,
    }


def _grid(engine: VisionEngine, model: Any, meta: dict[str, Any]) -> str:
    from automlops.vision.plots import draw_prediction, grid_html, image_grid
    from automlops.vision.predict import predict_images
    from automlops.vision.torchdata import load_rgb

    items = [engine.data.items[i] for i in engine.test_idx[:GRID_IMAGES]]
    images = [load_rgb(engine.data.root / item.path) for item in items]
    answers = predict_images(model, meta, images)
    classes = list(engine.data.classes)
    tiles = []
    for item, image, answer in zip(items, images, answers, strict=True):
        truth = classes[item.label] if item.label is not None else None
        tiles.append(draw_prediction(image, answer, classes, truth=truth, truth_boxes=item.boxes))
    return grid_html(image_grid(tiles), f"{meta['model_name']}: predictions on test images")
