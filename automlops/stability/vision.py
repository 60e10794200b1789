"""Stability of a saved image model: does its test metric hold on another split, with another seed?

A vision model's reported test metric comes from one split of the images (train / validation /
test, stratified by class for classification) and one training run: random head weights, shuffled
batches and random augmentations all draw from the seed. Training a network again costs time, so
each refit here is a **short training** of the same architecture with the same hyperparameters
(learning rate, weight decay, batch size, optimiser, frozen share of the backbone, starting
weights), for as many epochs as the saved training ran but at most :data:`MAX_EPOCHS` (``epochs`` on
the subject), within the deadline:

* **Splits**: K random partitions of the images into a training part and a test part of the
  engine's test share (15 %), stratified by class for classification. Inside a refit, a
  validation part of the engine's share is carved from the training part with a fixed seed; it
  picks the best epoch, exactly as in the engine, so the test images are never used to choose.
* **Seeds**: always meaningful for a network (initialisation, batch order, augmentations).
* **Sensitivity**: learning rate and weight decay on a log scale, batch size over 8 / 16 / 32
  (each double the last: a log scale too).

Each refit trains with one torch thread: several refits already run side by side, and a thread pool
fighting other processes for the cores made a small network's training about ten times slower.

The scores are *short-training* scores: usually below the saved model's (fewer epochs), but
comparable with each other, which is what a spread needs. The refits run on the machine's device
(CUDA when there is one) with no DataLoader worker processes: the analysis already runs several
refits side by side.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from automlops.errors import ConfigError, DataError, ModelError
from automlops.stability.adapter_kit import Space, dataset_of, holdouts, model_ref, sweep_for
from automlops.stability.types import Resample, Sweep

__all__ = ["MAX_EPOCHS", "VisionSubject", "saved_subject"]

MAX_EPOCHS = 3
TEST_SHARE = VAL_SHARE = 0.15  # the vision engine's defaults
PATIENCE = 3
LR_RANGES = {"adamw": (1e-4, 3e-3), "sgd": (3e-3, 1e-1)}  # the engine's search space, per optimiser
SPACES = {"weight_decay": Space("weight_decay", "float", 1e-6, 1e-2, log=True),
          "batch_size": Space("batch_size", "cat", choices=(8, 16, 32))}


class VisionSubject:
    """An image model's configuration on its image dataset, refitted by short trainings."""

    kind = "vision"
    direction = "maximize"

    def __init__(self, data: Any, architecture: str, params: Mapping[str, Any], *, task: str, metric: str,
                 image_size: int, weights: str = "none", seed: int = 0, epochs: int = MAX_EPOCHS,
                 device: str = "auto", fit_seconds: float | None = None) -> None:
        self.data, self.architecture, self.params = data, architecture, dict(params)
        self.task_name, self.metric, self.image_size = task, metric, int(image_size)
        self.weights, self.seed, self.epochs, self.device = weights, int(seed), int(epochs), device
        self.fit_seconds = fit_seconds
        self.label = self.search_model = architecture

    # ------------------------------------------------------------------ splits
    def _labels(self) -> list[int] | None:
        return self.data.labels() if self.task_name == "image_classification" else None

    def resampling(self, k: int, seed: int) -> tuple[str, list[Resample]]:
        n, labels = len(self.data.items), self._labels()
        how = "stratified by class" if labels is not None else "at random"
        return (f"{k} random splits of the {n} images ({how}), {round(100 * TEST_SHARE)} % held out for testing; "
                f"each refit is a short training (at most {self.epochs} epoch(s)) on the rest, a validation part of "
                "which picks the best epoch", holdouts(n, k, seed, TEST_SHARE, stratify=labels, min_test=2))

    def reference_split(self) -> Resample:
        """The engine's own test images, and everything else to train (and validate) on."""
        from sklearn.model_selection import train_test_split

        indices, labels = np.arange(len(self.data.items)), self._labels()
        stratify = labels if labels is not None and min(np.bincount(labels)) >= 3 else None
        rest, test = train_test_split(indices, test_size=TEST_SHARE, random_state=self.seed, stratify=stratify)
        return Resample(np.sort(rest), np.sort(test), "the engine's test images")

    def has_randomness(self) -> bool:
        return True

    # ------------------------------------------------------------------ sensitivity
    def _spaces(self) -> dict[str, Space]:
        low, high = LR_RANGES.get(str(self.params.get("optimizer", "adamw")), LR_RANGES["adamw"])
        return {"lr": Space("lr", "float", low, high, log=True), **SPACES}

    def sweeps(self, points: int) -> list[Sweep]:
        out = []
        for name, space in self._spaces().items():
            if name not in self.params:
                continue
            sweep = sweep_for(space, self.params[name], points)
            out.append(Sweep(name, sweep.values, sweep.chosen, log=True) if name == "batch_size" else sweep)
        return out

    def search_distributions(self) -> dict[str, Any]:
        import optuna.distributions as od

        low, high = LR_RANGES.get(str(self.params.get("optimizer", "adamw")), LR_RANGES["adamw"])
        return {"lr": od.FloatDistribution(low, high, log=True),
                "weight_decay": od.FloatDistribution(1e-6, 1e-2, log=True),
                "batch_size": od.CategoricalDistribution((8, 16, 32))}

    # ------------------------------------------------------------------ one refit
    def _split_validation(self, rest: np.ndarray) -> tuple[list[int], list[int]]:
        from sklearn.model_selection import train_test_split

        labels = self._labels()
        strat = None if labels is None else np.asarray(labels)[rest]
        if strat is not None and np.bincount(strat).min(initial=0) < 2:
            strat = None
        n_val = max(2, int(round(len(rest) * VAL_SHARE / (1 - TEST_SHARE))))
        if strat is not None:
            n_val = max(n_val, len(np.unique(strat)))
        train, val = train_test_split(rest, test_size=n_val, random_state=self.seed, stratify=strat)
        return sorted(train.tolist()), sorted(val.tolist())

    def _network(self, p: Mapping[str, Any]) -> Any:
        from automlops.config import get_settings
        from automlops.vision.zoo import VISION_MODELS, build_model, freeze_backbone, resolve_weights

        weights = resolve_weights(VISION_MODELS.get(self.architecture), self.weights,
                                  download=get_settings().download_weights)
        if self.weights == "auto" and not weights.pretrained:
            raise ConfigError(f"{self.architecture} was trained from pretrained weights, which are not available on "
                              "this machine now (not in the torch cache and downloads are off or failed); refits "
                              "from random weights would not be the same configuration")
        n_classes = len(self.data.classes)
        detection = self.image_size if self.task_name == "detection" else None
        model = build_model(self.architecture, n_classes, weights=weights, image_size=self.image_size,
                            detection_size=detection)
        freeze_backbone(model, float(p.get("freeze", 0.0)))
        return model

    def _loaders(self, resample: Resample, batch_size: int, seed: int) -> list[Any]:
        """Training, validation (carved from the training part) and test loaders; no worker processes."""
        from automlops.vision.torchdata import ItemsDataset, eval_transform, make_loader, train_transform

        train_idx, val_idx = self._split_validation(np.asarray(resample.train))
        batch, size = max(2, min(batch_size, len(train_idx))), self.image_size
        parts = ((train_idx, train_transform, batch, True), (val_idx, eval_transform, max(batch, 16), False),
                 ([int(i) for i in np.asarray(resample.test)], eval_transform, 16, False))
        return [make_loader(ItemsDataset(self.data, idx, transform(self.task_name, size)), batch_size=b,
                            shuffle=shuffle, seed=seed, workers=0) for idx, transform, b, shuffle in parts]

    def fit_score(self, resample: Resample, *, seed: int, params: Mapping[str, Any] | None = None,
                  deadline: float | None = None) -> float:
        """Train briefly on ``resample.train`` (a validation part picks the epoch), score ``resample.test``."""
        import torch

        from automlops.vision.tasks import VISION_TASKS
        from automlops.vision.trainer import (
            DeadlineReached,
            TrainConfig,
            evaluate_model,
            pick_device,
            train_model,
        )

        p = {**self.params, **dict(params or {})}
        task, device, n_classes = VISION_TASKS.get(self.task_name), pick_device(self.device), len(self.data.classes)
        train, val, test = self._loaders(resample, int(p.get("batch_size", 16)), seed)
        config = TrainConfig(epochs=self.epochs, lr=float(p["lr"]), weight_decay=float(p["weight_decay"]),
                             optimizer=str(p.get("optimizer", "adamw")), patience=PATIENCE)
        torch.manual_seed(seed)
        model = self._network(p)
        with _one_thread():
            try:
                outcome = train_model(model, task, train, val, config, n_classes=n_classes, device=device,
                                      deadline=deadline)
            except DeadlineReached:
                raise ModelError("stopped at the time budget's deadline before the first epoch ended") from None
            model.load_state_dict(outcome.best_state)
            scores = evaluate_model(model.to(device), task, test, n_classes, device)
        return float(scores[task.metric])


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """One torch thread for the refit (restored after): refits run side by side, and on a busy CPU torch's
    thread pool makes a small network's training ~10× slower (measured: 1.5 s vs 15-27 s per refit)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _weights_arg(meta: Mapping[str, Any]) -> str:
    source = str(meta.get("weights_source") or "random")
    if source == "random":
        return "none"
    if source in ("cache", "download"):
        return "auto"
    raise ConfigError(f"{model_ref(meta)} started from a weights file ({meta.get('weights_detail', 'not recorded')}) "
                      "that the model does not keep; its training cannot be repeated from the same start")


def saved_subject(loaded: Any) -> VisionSubject:
    """The stability subject of a saved image model (:class:`~automlops.mlops.store.LoadedModel`)."""
    from automlops.errors import NotFoundError
    from automlops.mlops.image_lake import ImageLake
    from automlops.vision import datasets as _datasets  # noqa: F401 - registers the image lake's reader
    from automlops.vision.zoo import VISION_MODELS

    meta = loaded.meta
    architecture = str(meta.get("model_name") or meta.get("best_model") or "")
    if architecture not in VISION_MODELS:
        raise ModelError(f"{model_ref(meta)} names the architecture '{architecture}', which this studio does not have")
    params = dict(meta.get("best_params") or {})
    if "lr" not in params or "weight_decay" not in params:
        raise ModelError(f"{model_ref(meta)} does not record its learning rate and weight decay; it cannot be refitted")
    dataset = dataset_of(meta)
    try:
        data = ImageLake().load(str(dataset["name"]), dataset.get("version"))
    except NotFoundError as exc:
        raise DataError(f"{model_ref(meta)} was trained on the images {dataset['name']} v{dataset.get('version')}, "
                        f"which are no longer in the image lake ({exc})") from None
    if data.task != meta.get("task"):
        raise DataError(f"the image dataset {dataset['name']} is now laid out for {data.task}, not {meta.get('task')}")
    size = (meta.get("input_size") or [None])[0] or meta.get("architecture_params", {}).get("image_size")
    seconds = [r.get("seconds") for r in meta.get("history") or [] if isinstance(r.get("seconds"), (int, float))]
    epochs = min(MAX_EPOCHS, len(seconds)) if seconds else MAX_EPOCHS  # never more epochs than the search ran
    return VisionSubject(data, architecture, params, task=str(meta["task"]), metric=str(meta.get("metric")),
                         image_size=int(size or 224), weights=_weights_arg(meta), seed=int(meta.get("seed") or 0),
                         epochs=epochs, fit_seconds=float(np.mean(seconds)) * epochs if seconds else None)
