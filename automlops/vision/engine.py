"""``VisionEngine``: transfer learning on images, searched by the same driver as every task.

The five steps of :mod:`automlops.search.engine`, for images:

1. **prepare** – split the images once into *train* (learn the weights), *validation* (choose
   the epoch and the configuration) and *test* (score the final model once), stratified by class
   for classification; choose the input size, the device and the starting weights, and say why.
2. **suggest** – an Optuna trial picks an architecture, a learning rate and weight decay (both on a
   log scale: 1e-4 and 1e-3 are as far apart as 1e-3 and 1e-2), a batch size, an optimiser and,
   when the weights are pretrained, how much of the backbone to freeze.
3. **evaluate** – train for up to ``epochs`` epochs. The **resource** is the epoch: after each one
   the validation score is reported to Optuna, so the Hyperband pruner (the vision default) can
   stop a configuration that is already behind after 1 or 3 epochs, and spend the time on others.
4. **choose** – the best trial. Vision does not ensemble: averaging several networks multiplies
   the cost of every prediction, which a served image model pays on each request.
5. **finalize** – no refit: training a network again would cost as much as the search did. The
   best trial's best-epoch weights (kept in memory) are scored once on the test images.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from automlops.core.fit import ValidationSummary
from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.core.results import ProgressEvent
from automlops.errors import ConfigError, DataError
from automlops.search.engine import (
    Candidate,
    Choice,
    DecisionLog,
    Evaluation,
    Finalized,
    SearchPlan,
    TrialOutcome,
)
from automlops.vision.datasets import ImageDataset
from automlops.vision.finalize import GRID_IMAGES
from automlops.vision.tasks import VISION_TASKS, VisionTask
from automlops.vision.zoo import VISION_MODELS, WeightsChoice, build_model, models_for, resolve_weights

__all__ = ["VISION_PRESETS", "VisionEngine", "VisionPreset"]

MIN_IMAGES = 6
BATCH_SIZES = (8, 16, 32)
DETECTION_SIZE = 320


@dataclass(frozen=True)
class VisionPreset:
    name: str
    n_trials: int | None
    time_budget: float | None
    epochs: int
    description: str


VISION_PRESETS: Registry[VisionPreset] = Registry("vision preset")
for _p in (VisionPreset("fast", 2, None, 3, "2 configurations, up to 3 epochs each"),
           VisionPreset("medium", 6, None, 10, "about 6 configurations, up to 10 epochs each"),
           VisionPreset("best", 20, None, 30, "about 20 configurations, up to 30 epochs each")):
    VISION_PRESETS.add(_p.name, _p)


def _checked_seed(seed: object) -> int:
    """``seed`` as an int, or a ConfigError: numpy and scikit-learn take 0 to 2**32 - 1 (not -1)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) < 2**32:
        raise ConfigError(f"seed must be a whole number from 0 to {2**32 - 1}, not {seed!r}")
    return int(seed)


@dataclass(frozen=True)
class _MetricSpec:
    name: str
    direction: str = "maximize"


class VisionEngine:
    """Image classification, segmentation or detection searched by the driver (module docstring)."""

    name = "vision"
    kind = "vision"
    first_trial_share = 0.8  # nothing is refitted: the first trial may use most of the budget (see TimeBudget)
    presets = VISION_PRESETS
    models = VISION_MODELS

    def __init__(self, task: str, *, models: Sequence[str] | None = None, epochs: int | None = None,
                 preset: str = "medium", seed: int = 0, device: str = "auto", weights: str | Path | None = None,
                 image_size: int | None = None, batch_size: int | None = None, patience: int = 3,
                 val_size: float = 0.15, test_size: float = 0.15, download_weights: bool = True) -> None:
        self.task_name = TaskType.parse(task).value if task != "classification" else "image_classification"
        if not TaskType(self.task_name).vision:
            raise ConfigError(f"'{task}' is not an image task; choose classification, segmentation or detection")
        self.task: VisionTask = VISION_TASKS.get(self.task_name)
        self.metrics: Registry[_MetricSpec] = Registry("vision metric")
        for metric in self.task.metric_names:
            self.metrics.add(metric, _MetricSpec(metric))
        self.model_names = list(models) if models else models_for(self.task_name)[:2]
        for name in self.model_names:
            spec = VISION_MODELS.get(name)
            if spec.task != self.task_name:
                raise ConfigError(f"{name} is a {spec.task} model; for {self.task_name} choose one of: "
                                  + ", ".join(models_for(self.task_name)))
        self.preset = VISION_PRESETS.get(preset)
        self.epochs = epochs or self.preset.epochs
        if self.epochs < 1:
            raise ConfigError("epochs must be at least 1")
        if image_size is not None and not 16 <= image_size <= 1024:
            raise ConfigError(f"image size must be between 16 and 1024 pixels, not {image_size}")
        if batch_size is not None and batch_size < 2:
            raise ConfigError("batch size must be at least 2 (batch normalisation needs two images)")
        self.seed, self.device_name, self.weights_arg = _checked_seed(seed), device, weights
        self.user_image_size, self.user_batch_size, self.patience = image_size, batch_size, patience
        self.val_size, self.test_size, self.download = val_size, test_size, download_weights
        self._weights: dict[str, WeightsChoice] = {}
        self._states: dict[str, tuple[float, dict[str, Any], Any]] = {}  # candidate key -> (score, state, outcome)
        self.histories: dict[int, list[dict[str, Any]]] = {}

    # ------------------------------------------------------------------ prepare
    def prepare(self, data: ImageDataset, log: DecisionLog) -> SearchPlan:
        from automlops.vision.trainer import pick_device

        if not isinstance(data, ImageDataset):
            raise DataError("vision training needs an image dataset (see automlops.vision.load_image_dataset)")
        if data.task != self.task_name:
            raise DataError(f"this dataset is laid out for {data.task} ({data.layout}), not {self.task_name}")
        if len(data.items) < MIN_IMAGES:
            raise DataError(f"only {len(data.items)} images; at least {MIN_IMAGES} are needed to train, validate "
                            "and test")
        self.data, self.log = data, log
        self.device = pick_device(self.device_name)
        self.n_classes = len(data.classes)
        self.train_idx, self.val_idx, self.test_idx = self._split(log)
        self._log_absent_classes(log)
        self.image_size = self._image_size(log)
        self.task.metrics(self.n_classes)  # imports torchmetrics now (~3 s cold), not under a trial's deadline
        from automlops.vision.torchdata import MIN_IMAGES_FOR_WORKERS, worker_count

        workers = worker_count(len(self.train_idx))
        log("data", f"{workers} DataLoader worker process(es) decode images" if workers else
            f"images are decoded in the training process: below {MIN_IMAGES_FOR_WORKERS} images, starting worker "
            "processes costs more than it saves")
        log("device", f"training on {self.device.type}" + (" with mixed precision (float16 matrix products)"
                                                          if self.device.type == "cuda" else
                                                          " in float32 (no CUDA GPU found)"))
        for name in self.model_names:
            self._weights[name] = resolve_weights(VISION_MODELS.get(name), self.weights_arg, download=self.download)
            if self._weights[name].source == "file":  # a file that does not fit: said now, not as failed trials
                build_model(name, self.n_classes, weights=self._weights[name], image_size=self.image_size,
                            detection_size=self.detection_size)
            log("weights", f"{name}: {self._weights[name].detail}")
        self._fit_vit(log)
        log("search", f"the resource is the epoch (up to {self.epochs}): each trial reports its validation "
                      f"{self.task.metric} after every epoch, so a pruner can stop it early; training stops "
                      f"after {self.patience} epochs without improvement and keeps the best epoch")
        log("ensemble", "no ensemble: averaging networks multiplies the cost of every prediction; the best "
                        "single network is shipped")
        problem = Problem(TaskType(self.task_name), None, self.task.metric, "maximize", classes=tuple(data.classes),
                          reasons=(f"{data.layout} layout: {self.task_name}",))
        digest = hashlib.sha256(repr((sorted(i.path for i in data.items), self.seed, self.val_size, self.test_size,
                                      self.image_size)).encode()).hexdigest()[:16]
        return SearchPlan(problem=problem, validation=ValidationSummary(
            "holdout", 1, f"{len(self.val_idx)} validation images choose the epoch and the configuration"),
            test_rows=np.asarray(self.test_idx), n_steps=self.epochs, models=tuple(self.model_names),
            fingerprint=digest, grid_size=len(self._grid()), input_columns=("image",),
            feature_schema={"image": {"input_size": [self.image_size, self.image_size]}})

    def _split(self, log: DecisionLog) -> tuple[list[int], list[int], list[int]]:
        """Train / validation / test positions, stratified by class when every class can be in each part."""
        from sklearn.model_selection import train_test_split

        indices = np.arange(len(self.data.items))
        labels = self.data.labels() if self.task_name == "image_classification" else None
        n_test, n_val = self._split_sizes(labels)
        stratify = labels if n_test is not None else None
        rest, test = train_test_split(indices, test_size=n_test or self.test_size, random_state=self.seed,
                                      stratify=stratify)
        strat_rest = None if stratify is None else np.asarray(labels)[rest]
        train, val = train_test_split(rest, test_size=n_val or self.val_size / (1 - self.test_size),
                                      random_state=self.seed, stratify=strat_rest)
        how = "stratified by class" if stratify is not None else "at random"
        if labels is not None and stratify is None:
            how += (" (stratifying needs at least 3 images per class, and enough images for every class to be in "
                    "the training, validation and test parts)")
        log("data", f"{len(train)} training, {len(val)} validation and {len(test)} test images, split {how} "
                    f"(seed {self.seed}); the test images are used once, at the end")
        return sorted(train.tolist()), sorted(val.tolist()), sorted(test.tolist())

    def _log_absent_classes(self, log: DecisionLog) -> None:
        """Say which classes no label shows (a classes.txt line no mask pixel uses): the model cannot learn them,
        and the mean IoU or mAP averages only the classes that appear."""
        absent = [name for name, count in self.data.counts().items() if count == 0]
        if absent:
            log("data", f"class(es) {', '.join(map(repr, absent))} appear in no label: the model cannot learn them, "
                        f"and the scores average only the {self.n_classes - len(absent)} classes that appear")

    def _split_sizes(self, labels: list[int] | None) -> tuple[int | None, int | None]:
        """Test and validation sizes of a stratified split: the usual shares, raised to one image per
        class when they are smaller; (None, None) when stratifying is impossible (a class with fewer
        than 3 images, or too few images for every class to be in each part)."""
        if labels is None:
            return None, None
        n, k = len(labels), self.n_classes
        n_test = max(math.ceil(self.test_size * n), k)
        n_val = max(math.ceil(self.val_size / (1 - self.test_size) * (n - n_test)), k)
        if min(np.bincount(labels, minlength=k)) < 3 or n - n_test - n_val < k:
            return None, None
        return n_test, n_val

    def _fit_vit(self, log: DecisionLog) -> None:
        """ViT cuts images into 16×16 patches, and pretrained ViT weights exist for 224 px inputs only."""
        if "vit_b_16" not in self.model_names:
            return
        if self._weights["vit_b_16"].pretrained and self.image_size != 224:
            log("data", f"input size {self.image_size} → 224 px for every model: the pretrained ViT-B/16 position "
                        "embeddings are made for 224×224 inputs")
            self.image_size = 224
        elif self.image_size % 16:
            raise ConfigError(f"vit_b_16 needs an image size divisible by 16 (its patches are 16×16), not "
                              f"{self.image_size}")

    def _image_size(self, log: DecisionLog) -> int:
        if self.user_image_size:
            log("data", f"images resized to {self.user_image_size} px, as asked")
            return self.user_image_size
        if self.task_name == "detection":
            log("data", f"Faster R-CNN resizes each image so its shorter side is {DETECTION_SIZE} px (torchvision's "
                        "mobile recipe; its anchor boxes start at 32 px, so small objects need the upscale)")
            return DETECTION_SIZE
        sides = sorted(min(i.width, i.height) for i in self.data.items)
        median = sides[len(sides) // 2]
        cap = 224 if self.task_name == "image_classification" else 512
        size = int(min(cap, max(32, round(median / 32) * 32)))
        log("data", f"input size {size} px: the median image's shorter side ({median} px) rounded to a multiple "
                    f"of 32 (what the networks' strides divide evenly), capped at {cap}")
        return size

    # ------------------------------------------------------------------ search
    def _grid(self) -> list[Candidate]:
        return [Candidate(m, {"lr": lr, "weight_decay": 1e-4, "batch_size": 16, "optimizer": "adamw", "freeze": 0.0})
                for m in self.model_names for lr in (3e-4, 1e-3, 3e-3)]

    def suggest(self, trial: optuna.Trial) -> Candidate:
        if isinstance(trial.study.sampler, optuna.samplers.GridSampler):
            return self._grid()[int(trial.suggest_categorical("grid_point", list(range(len(self._grid())))))]
        name = str(trial.suggest_categorical("model", self.model_names))
        optimizer = str(trial.suggest_categorical("optimizer", ["adamw", "sgd"]))
        low, high = (1e-4, 3e-3) if optimizer == "adamw" else (3e-3, 1e-1)
        params: dict[str, Any] = {
            "lr": trial.suggest_float(f"{optimizer}__lr", low, high, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            "batch_size": self.user_batch_size or int(trial.suggest_categorical("batch_size", list(BATCH_SIZES))),
            "optimizer": optimizer,
            "freeze": float(trial.suggest_categorical("freeze", [0.0, 0.5, 0.75]))
            if self._weights[name].pretrained else 0.0}
        return Candidate(name, params)

    def warm_start(self, study: optuna.Study) -> list[str]:
        if isinstance(study.sampler, optuna.samplers.GridSampler):
            return []
        for name in self.model_names:
            study.enqueue_trial({"model": name, "optimizer": "adamw", "adamw__lr": 1e-3, "weight_decay": 1e-4,
                                 "batch_size": 16, "freeze": 0.0}, skip_if_exists=True)
        return list(self.model_names)

    @staticmethod
    def _key(candidate: Candidate) -> str:
        return f"{candidate.model}:{sorted(dict(candidate.params).items())}"

    def _loaders(self, batch_size: int) -> tuple[Any, Any]:
        from automlops.vision.torchdata import ItemsDataset, eval_transform, make_loader, train_transform

        size, task = self.image_size, self.task_name
        train = ItemsDataset(self.data, self.train_idx, train_transform(task, size))
        val = ItemsDataset(self.data, self.val_idx, eval_transform(task, size))
        batch, pin = max(2, min(batch_size, len(train))), self.device.type == "cuda"
        return (make_loader(train, batch_size=batch, shuffle=True, seed=self.seed, pin_memory=pin),
                make_loader(val, batch_size=max(batch, 16), shuffle=False, pin_memory=pin))

    def build(self, candidate: Candidate) -> Any:
        """The untrained network of ``candidate`` with its starting weights and frozen layers."""
        from automlops.vision.zoo import build_model, freeze_backbone

        model = build_model(candidate.model, self.n_classes, weights=self._weights.get(candidate.model),
                            image_size=self.image_size, detection_size=self.detection_size)
        freeze_backbone(model, float(candidate.params.get("freeze", 0.0)))
        return model

    @property
    def detection_size(self) -> int | None:
        return self.image_size if self.task_name == "detection" else None

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        import torch

        from automlops.vision.trainer import DeadlineReached, EpochRecord, TrainConfig, train_model

        torch.manual_seed(self.seed)
        p = candidate.params
        config = TrainConfig(epochs=self.epochs, lr=float(p["lr"]), weight_decay=float(p["weight_decay"]),
                             optimizer=str(p["optimizer"]), patience=self.patience)
        train_loader, val_loader = self._loaders(int(p["batch_size"]))
        rows: list[dict[str, Any]] = []
        number = trial.number if trial is not None else -1

        def on_epoch(record: EpochRecord) -> None:
            rows.append(record.row())
            self.log.emit(ProgressEvent("epoch", f"trial {number} {candidate.model} epoch {record.epoch}: "
                                         f"{self.task.metric} {record.value:.4f}", value=record.value,
                                         extra={"trial": number, "epoch": record.epoch, "model": candidate.model,
                                                "train_loss": record.train_loss, "val_loss": record.val_loss,
                                                "metric": self.task.metric}))
            if trial is not None:
                trial.set_user_attr("epochs", rows)
                trial.report(record.value, record.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {record.epoch} ({self.task.metric} "
                                             f"{record.value:.4f})")

        t0 = time.perf_counter()
        try:
            outcome = train_model(self.build(candidate), self.task, train_loader, val_loader, config,
                                  n_classes=self.n_classes, device=self.device, on_epoch=on_epoch, deadline=deadline,
                                  after_training=None if self._states else self.wrap_up_seconds)
        except DeadlineReached as exc:  # the reason: the budget's deadline, or a loss that was not finite
            raise optuna.TrialPruned(f"no epoch finished: {exc}") from None
        finally:
            self.histories[number] = rows
        self._keep(candidate, outcome)
        seconds = time.perf_counter() - t0
        per_val = sum(r["seconds"] for r in rows) / max(1, len(rows))
        return Evaluation(outcome.best_value, 0.0, [outcome.best_value], seconds, per_val,
                          notes=[f"best epoch {outcome.best_epoch}; {outcome.stopped}; "
                                 f"{outcome.images_per_second:.1f} training images/s"])

    def _keep(self, candidate: Candidate, outcome: Any) -> None:
        """Keep the best weights of each architecture in memory (the others are dropped)."""
        best_of_model = [k for k, v in self._states.items() if k.startswith(candidate.model + ":")]
        if best_of_model and self._states[best_of_model[0]][0] >= outcome.best_value:
            return
        for key in best_of_model:
            del self._states[key]
        self._states[self._key(candidate)] = (outcome.best_value, outcome.best_state, outcome)

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        # scoring the test images takes about as long as one validation pass (same size), plus the sample grid
        return 1.5 * ranked[0].predict_seconds * len(self.test_idx) / max(1, len(self.val_idx)) + 1.0

    def wrap_up_seconds(self, validation_seconds: float) -> float:
        """What :meth:`finalize` needs after the search, from one validation pass's seconds: scoring the
        test images (as many as the validation images, give or take) and the grid of sample predictions.

        The driver keeps :meth:`tail_seconds` out of the search once a trial has finished; the first
        trial has no such estimate, so it keeps this much time itself (``train_model``'s ``after_training``):
        a 10 s budget on digits used to run its first epoch to the deadline and then score, test and
        draw for 17-21 s in all.
        """
        per_image = validation_seconds / max(1, len(self.val_idx))
        return 1.5 * per_image * (len(self.test_idx) + GRID_IMAGES) + 0.5

    # ------------------------------------------------------------------ choose / finalize
    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: Any) -> Choice:
        best = ranked[0]
        log("selection", f"best of each architecture by validation {self.task.metric}: "
            + "; ".join(f"{o.model} {o.value:.4f}" for o in ranked))
        return Choice(best.model, dict(best.params), best.value, best.std, recipe=best.candidate)

    def finalize(self, choice: Choice, log: DecisionLog, budget: Any) -> Finalized:
        from automlops.vision.finalize import finalize_vision

        return finalize_vision(self, choice, log, budget)

    def run_params(self) -> dict[str, Any]:
        return {"vision_task": self.task_name, "epochs": self.epochs, "image_size": getattr(self, "image_size", None),
                "device": self.device_name, "architectures": ",".join(self.model_names),
                "weights": str(self.weights_arg) if self.weights_arg else "auto", "patience": self.patience}
