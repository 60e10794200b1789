"""The training loop keeps its deadline, the validation pass and the caller's wrap-up included.

The network here is a tiny classifier whose every image costs a known time (it sleeps: 40 ms to
learn from, 12 ms to score), so that the loop's decisions can be checked against a clock that
other tests running beside it do not bend much. Before the pace was measured, a batch started
whenever the deadline had not passed yet, and the validation pass and the wrap-up came after it:
``automlops train-vision digits_images --time-budget 10`` ended after 17-21 s.
"""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from automlops.vision.tasks import VISION_TASKS
from automlops.vision.trainer import DeadlineReached, TrainConfig, train_model

TRAIN_SECONDS, SCORE_SECONDS = 0.04, 0.012  # per image
BATCH = 8


class _Timed(nn.Module):
    """Two classes from the mean colour; each forward pass sleeps for the images it sees."""

    def __init__(self, warm_up: float = 0.0) -> None:
        super().__init__()
        self.head = nn.Linear(3, 2)
        self.warm_up = warm_up  # the first training step's one-time cost

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seconds = (TRAIN_SECONDS if self.training else SCORE_SECONDS) * len(x)
        if self.training and self.warm_up:
            seconds, self.warm_up = seconds + self.warm_up, 0.0
        time.sleep(seconds)
        return self.head(x.mean(dim=(2, 3)))


def _loaders(n_train: int = 64, n_val: int = 32) -> tuple[DataLoader, DataLoader]:  # type: ignore[type-arg]
    generator = torch.Generator().manual_seed(0)

    def part(n: int) -> TensorDataset:
        labels = torch.arange(n) % 2
        return TensorDataset(torch.rand(n, 3, 4, 4, generator=generator) + labels.view(-1, 1, 1, 1), labels)

    return (DataLoader(part(n_train), batch_size=BATCH, shuffle=False),
            DataLoader(part(n_val), batch_size=16, shuffle=False))


@pytest.fixture(scope="module", autouse=True)
def _imports_done() -> None:
    """Pay the process's one-time costs first (importing torchmetrics, the optimiser's first use), as the
    engine's ``prepare`` does before any deadline runs: they are not what these tests measure."""
    train, val = _loaders(n_train=BATCH, n_val=4)
    train_model(_Timed(), VISION_TASKS.get("image_classification"), train, val, TrainConfig(epochs=1),
                n_classes=2, device=torch.device("cpu"))


def _train(model: nn.Module, deadline: float, wrap_up: float):  # type: ignore[no-untyped-def]
    train, val = _loaders()
    return train_model(model, VISION_TASKS.get("image_classification"), train, val, TrainConfig(epochs=5, lr=0.01),
                       n_classes=2, device=torch.device("cpu"), deadline=deadline,
                       after_training=lambda validation_seconds: wrap_up)


def test_an_epoch_is_cut_early_enough_for_its_validation_and_the_wrap_up() -> None:
    # An epoch is 8 steps of 0.32 s; 3 s leave room for about 4 of them, their validation pass (0.4 s)
    # and the 1 s the caller needs afterwards. Without pacing, the loop ran past the deadline itself.
    deadline = time.monotonic() + 3.0
    outcome = _train(_Timed(), deadline, wrap_up=1.0)
    assert time.monotonic() + 1.0 <= deadline  # the wrap-up still fits
    assert "deadline" in outcome.stopped
    assert len(outcome.history) == 1 and 0 < outcome.history[0].images < 64  # the partial epoch, scored


def test_the_warm_up_step_does_not_price_the_next_ones() -> None:
    # The first step sleeps 2 s more, as a CPU library choosing its kernels does. Priced with it,
    # a step would look five times dearer and the epoch would stop after 2 steps (16 images).
    deadline = time.monotonic() + 5.0
    outcome = _train(_Timed(warm_up=2.0), deadline, wrap_up=0.3)
    assert time.monotonic() + 0.3 <= deadline
    assert outcome.history[0].images >= 4 * BATCH


def test_a_deadline_passed_before_anything_was_scored_ships_nothing() -> None:
    # The warm-up step alone ends past the deadline: scoring that one batch would only add to the overrun.
    started = time.monotonic()
    with pytest.raises(DeadlineReached, match="before any could be scored"):
        _train(_Timed(warm_up=1.0), started + 0.5, wrap_up=0.0)
    assert time.monotonic() - started < 1.0 + 64 * TRAIN_SECONDS  # no validation pass, no second step
