"""``VisionRunner``: the scikit-learn-style façade for images, the twin of ``AutoMLRunner``.

    from cv_engine import VisionRunner, load_image_dataset

    data = load_image_dataset("digits/")                       # ImageFolder: one folder per class
    runner = VisionRunner("classification", models=["resnet18"], time_budget=120).fit(data)
    runner.result_.test_metrics    # {"accuracy": ..., "macro_f1": ...}
    runner.decisions_              # every automatic choice, in plain language

Configuration goes in ``__init__`` (nothing happens there), ``fit`` runs the search through the
:class:`~automlops.search.driver.SearchDriver` (the same study, time budget, cancel, progress
callbacks and MLflow tracking as every task) and returns ``self``; results end in ``_``.
``download_weights`` (default: the ``AUTOMLOPS_DOWNLOAD_WEIGHTS`` setting) allows torchvision to
download pretrained weights missing from the torch cache. The default search is **Hyperband**: with epochs as the resource, weak configurations are stopped
after an epoch or three, which matters when one epoch costs seconds to minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from automlops.core.fit import FitResult
from automlops.core.results import Decision, ProgressEvent
from automlops.vision.datasets import ImageDataset, load_image_dataset

__all__ = ["VisionRunner", "save_vision_model"]


class VisionRunner:
    """Search, train, test and (with a tracker) log a vision model; see the module docstring."""

    def __init__(self, task: str, *, models: Sequence[str] | None = None, epochs: int | None = None,
                 preset: str = "medium", time_budget: float | None = None, n_trials: int | None = None,
                 device: str = "auto", weights: str | Path | None = None, search: str = "hyperband", seed: int = 0,
                 image_size: int | None = None, batch_size: int | None = None, patience: int = 3,
                 tracker: Any = None, dataset: Mapping[str, Any] | None = None, run_name: str | None = None,
                 callbacks: Sequence[Callable[[ProgressEvent], None]] = (),
                 stop_event: threading.Event | None = None, started_at: float | None = None,
                 download_weights: bool | None = None, storage: str | None = None, study_name: str | None = None) -> None:
        self.task, self.models, self.epochs, self.preset = task, models, epochs, preset
        self.time_budget, self.n_trials, self.device, self.weights = time_budget, n_trials, device, weights
        self.search, self.seed, self.image_size, self.batch_size = search, seed, image_size, batch_size
        self.patience, self.tracker, self.dataset, self.run_name = patience, tracker, dataset, run_name
        self.callbacks, self.stop_event, self.started_at = callbacks, stop_event, started_at
        self.download_weights, self.storage, self.study_name = download_weights, storage, study_name

    def engine(self) -> Any:
        """The configured :class:`~automlops.vision.engine.VisionEngine` (checks every option)."""
        from automlops.config import get_settings
        from automlops.vision.engine import VisionEngine

        download = get_settings().download_weights if self.download_weights is None else self.download_weights
        return VisionEngine(self.task, models=self.models, epochs=self.epochs, preset=self.preset, seed=self.seed,
                            device=self.device, weights=self.weights, image_size=self.image_size,
                            batch_size=self.batch_size, patience=self.patience, download_weights=download)

    def fit(self, data: ImageDataset | str | Path) -> VisionRunner:
        """Search and train on ``data`` (an :class:`ImageDataset` or a folder in a known layout)."""
        from automlops.search.driver import DriverConfig, SearchDriver

        if not isinstance(data, ImageDataset):
            data = load_image_dataset(Path(data))
        self.engine_ = self.engine()
        config = DriverConfig(preset=self.preset, search=self.search, n_trials=self.n_trials,
                              time_budget=self.time_budget, seed=self.seed, started_at=self.started_at,
                              run_name=self.run_name, dataset=self.dataset, storage=self.storage,
                              study_name=self.study_name)
        driver = SearchDriver(self.engine_, config, tracker=self.tracker, callbacks=self.callbacks,
                              stop_event=self.stop_event)
        self.result_: FitResult = driver.fit(data)
        self.study_ = driver.study
        return self

    @property
    def model_(self) -> Any:
        """The trained network (torch ``nn.Module``, on the CPU, in eval mode)."""
        return self.result_.artifact.obj

    @property
    def decisions_(self) -> tuple[Decision, ...]:
        return self.result_.decisions

    @property
    def leaderboard_(self) -> pd.DataFrame:
        return self.result_.leaderboard

    @property
    def history_(self) -> pd.DataFrame:
        """Loss and metric per epoch of every trial (``trial``, ``epoch``, ``train_loss``, ``val_loss``...)."""
        rows = [{"trial": n, **row} for n, epochs in sorted(self.engine_.histories.items()) for row in epochs]
        return pd.DataFrame(rows)

    def predict(self, images: Sequence[Any], *, threshold: float | None = None) -> list[dict[str, Any]]:
        """Answers for Pillow images (see :func:`automlops.vision.predict.predict_images`)."""
        from automlops.vision.predict import predict_images

        return predict_images(self.model_, self.result_.artifact.meta, images, threshold=threshold)


def save_vision_model(result: FitResult, store: Any, name: str, *, dataset: Mapping[str, Any] | None = None,
                      tracker: Any = None, notes: list[str] | None = None, register: bool = True) -> Any:
    """Save through the model store exactly as tabular models are (state dict + ``meta.json``, signed)."""
    from automlops.mlops.persist import save_model

    return save_model(result, store, name, dataset=dataset, tracker=tracker, notes=notes, register=register)
