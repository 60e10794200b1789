"""The training loop: one function for every vision task, with the habits of good recipes.

* **Optimiser** – *AdamW* adapts each weight's step size and decays weights separately from the
  gradient (the usual choice for fine-tuning); *SGD with momentum* is torchvision's reference
  choice for training long from scratch. The search picks.
* **Learning-rate schedule** – a short linear *warm-up* (the first steps at a small rate, while the
  new head's random weights would otherwise send large gradients into the pretrained backbone),
  then a *cosine* decay to zero over the planned epochs.
* **Mixed precision** on CUDA: matrix products in float16 with a loss scaler, about twice the
  throughput; on a CPU everything stays float32.
* **Early stopping** – after each epoch the model is scored on the validation images; when the
  score has not improved for ``patience`` epochs, training stops. The weights of the **best epoch**
  are kept (copied to the CPU), not those of the last one.
* **Pruning and deadlines** – ``on_epoch`` is called after each epoch (the search reports the
  score to Optuna there, and Hyperband may stop the trial); ``deadline`` (a monotonic time) is
  checked after every batch, so a trial never runs far past the time budget, and before the first
  one: a deadline already gone (start-up ate a tiny budget) trains nothing rather than overrunning.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from automlops.vision.tasks import VisionTask

__all__ = ["DeadlineReached", "EpochRecord", "TrainConfig", "TrainOutcome", "evaluate_model", "pick_device",
           "train_model"]


class DeadlineReached(Exception):
    """No epoch ended (the deadline passed first, or the loss was not finite): there is no model to keep."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"  # "adamw" | "sgd"
    warmup_fraction: float = 0.1  # of all steps
    patience: int = 3
    amp: bool = True  # used only on CUDA


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    val_loss: float | None
    metrics: dict[str, Any]
    value: float  # the search metric on the validation images
    seconds: float  # training + validation
    images: int  # training images seen this epoch
    train_seconds: float = 0.0  # the training part alone (for images/s)

    def row(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "train_loss": self.train_loss, "val_loss": self.val_loss, "value": self.value,
                "seconds": self.seconds, **{k: v for k, v in self.metrics.items() if isinstance(v, float)}}


@dataclass
class TrainOutcome:
    best_epoch: int
    best_value: float
    best_state: dict[str, torch.Tensor] = field(repr=False)
    best_metrics: dict[str, Any]
    history: list[EpochRecord]
    stopped: str  # why training ended
    train_seconds: float
    images_per_second: float


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` is CUDA when present, else the CPU; asking for CUDA without one is an error."""
    from automlops.errors import ConfigError

    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is available here; use --device auto or cpu")
    return torch.device("cuda" if device != "cpu" and torch.cuda.is_available() else "cpu")


def _to(device: torch.device, images: Any, targets: Any) -> tuple[Any, Any]:
    if isinstance(images, list):
        return ([i.to(device, non_blocking=True) for i in images],
                [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets])
    return images.to(device, non_blocking=True), targets.to(device, non_blocking=True)


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, nesterov=True)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def _schedule(optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float) -> Any:
    warmup = max(1, int(warmup_fraction * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def evaluate_model(model: nn.Module, task: VisionTask, loader: DataLoader[Any], n_classes: int,
                   device: torch.device) -> dict[str, Any]:
    """The task's metrics (and loss where it has one) on one split, in eval mode."""
    model.eval()
    metrics = task.metrics(n_classes)
    for images, targets in loader:
        images, targets = _to(device, images, targets)
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            outputs = task.forward(model, images)
        if task.has_val_loss:
            metrics.add_loss(task.eval_loss(outputs.float(), targets) or 0.0, len(targets))
        metrics.update(outputs, targets)
    return metrics.compute()


@dataclass
class _Step:
    """What one optimisation step needs besides the batch: the optimiser, its schedule, mixed precision."""

    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    amp: bool


def _train_epoch(model: nn.Module, task: VisionTask, train_loader: DataLoader[Any], step: _Step,
                 device: torch.device, epoch: int, deadline: float | None) -> tuple[float, int, str | None]:
    """One pass over the training batches: the summed loss, the images seen, and why the epoch was cut
    short (``None``: it ran to the end)."""
    loss_sum, n = 0.0, 0
    model.train()
    for images, targets in train_loader:
        images, targets = _to(device, images, targets)
        with torch.autocast(device.type, enabled=step.amp):
            loss = task.training_loss(model, images, targets)
        value = float(loss.detach())  # the one device sync per batch (torchvision's reference does the same)
        if not math.isfinite(value):
            return loss_sum, n, f"the loss became {value} at epoch {epoch} (learning rate too high)"
        step.optimizer.zero_grad(set_to_none=True)
        step.scaler.scale(loss).backward()
        step.scaler.step(step.optimizer)
        step.scaler.update()
        step.scheduler.step()
        loss_sum, n = loss_sum + value * len(targets), n + len(targets)
        if deadline is not None and time.monotonic() > deadline:
            return loss_sum, n, f"the time budget's deadline, during epoch {epoch}"
    return loss_sum, n, None


def train_model(model: nn.Module, task: VisionTask, train_loader: DataLoader[Any], val_loader: DataLoader[Any],
                config: TrainConfig, *, n_classes: int, device: torch.device,
                on_epoch: Callable[[EpochRecord], None] | None = None, deadline: float | None = None) -> TrainOutcome:
    """Train ``model`` and return the best epoch's weights and the per-epoch history."""
    model.to(device)
    optimizer = _optimizer(model, config)
    scheduler = _schedule(optimizer, config.epochs * max(1, len(train_loader)), config.warmup_fraction)
    amp = config.amp and device.type == "cuda"
    step = _Step(optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=amp), amp)
    history: list[EpochRecord] = []
    best: tuple[float, int, dict[str, torch.Tensor], dict[str, Any]] | None = None
    stopped, started, seen = f"all {config.epochs} epochs", time.monotonic(), 0
    if deadline is not None and started > deadline:  # not even one batch: it would run past the budget
        raise DeadlineReached(f"the time budget was spent {started - deadline:.1f} s before training could start")
    for epoch in range(1, config.epochs + 1):
        t0 = time.monotonic()
        loss_sum, n, why_cut = _train_epoch(model, task, train_loader, step, device, epoch, deadline)
        cut = why_cut is not None
        stopped = why_cut or stopped
        seen, train_time = seen + n, time.monotonic() - t0
        if cut and (best is not None or n == 0):
            break  # a partial epoch is scored only when it is all there is
        scores = evaluate_model(model, task, val_loader, n_classes, device)
        value = float(scores[task.metric])
        record = EpochRecord(epoch, loss_sum / max(1, n), scores.get("loss"), scores, value,
                             time.monotonic() - t0, n, train_time)
        history.append(record)
        if best is None or value > best[0]:
            best = (value, epoch, {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
                    scores)
        if on_epoch is not None:
            on_epoch(record)  # may raise optuna.TrialPruned
        if cut:
            break
        if epoch - best[1] >= config.patience:
            stopped = f"early stopping: no better {task.metric} for {config.patience} epochs after epoch {best[1]}"
            break
    if best is None:
        raise DeadlineReached(stopped)
    elapsed = time.monotonic() - started
    return TrainOutcome(best[1], best[0], best[2], copy.deepcopy(best[3]), history, stopped, elapsed,
                        seen / max(1e-9, sum(r.train_seconds for r in history)))
