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
  score to Optuna there, and Hyperband may stop the trial). ``deadline`` (a monotonic time) is when
  the trial must be done, its last validation pass included: a batch starts only if it, the
  validation pass that scores the epoch, and the wrap-up the caller still needs afterwards
  (``after_training``: scoring the test images, drawing samples) fit before it (:class:`_Pace`).
  A deadline already gone before the first batch (start-up ate a tiny budget) trains nothing.
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


@dataclass
class _Pace:
    """Whether the next batch still fits: it, the validation pass after it and the wrap-up, before the deadline.

    All three are measured as training goes. A trial's first step pays one-time costs (memory is
    allocated, the CPU library picks its kernels: 7.5 s against ~1 s for the next ones, mobilenet_v2
    on 16 images), so it is left out of the cost of a step: until a second step is measured, a batch
    starts whenever the deadline has not passed. A step's seconds per image then average the later
    steps (data loading included). The validation pass is timed once it has run; before that it is
    estimated at half a training step per image: scoring an image without gradients is one forward
    pass, about a third of a training step's forward, backward and update. The wrap-up is the
    caller's (``after_training``, from the validation pass's seconds).
    """

    deadline: float | None
    val_images: int
    after_training: Callable[[float], float]
    first_step: float | None = None  # seconds of the warm-up step
    step_seconds: float = 0.0  # summed over the steps after it
    step_images: int = 0
    val_seconds: float | None = None  # the latest validation pass, once one ran

    def record_step(self, seconds: float, images: int) -> None:
        if self.first_step is None:
            self.first_step = seconds
        else:
            self.step_seconds, self.step_images = self.step_seconds + seconds, self.step_images + images

    def expected_validation(self) -> float:
        if self.val_seconds is not None:
            return self.val_seconds
        return 0.5 * self.step_seconds / max(1, self.step_images) * self.val_images

    def room_for_batch(self, images: int) -> bool:
        if self.deadline is None:
            return True
        if self.step_images == 0:  # nothing but the warm-up step to judge by
            return time.monotonic() <= self.deadline
        validation = self.expected_validation()
        need = self.step_seconds / self.step_images * images + validation + self.after_training(validation)
        return time.monotonic() + need <= self.deadline

    def passed(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


def _train_epoch(model: nn.Module, task: VisionTask, train_loader: DataLoader[Any], step: _Step,
                 device: torch.device, epoch: int, pace: _Pace) -> tuple[float, int, str | None]:
    """One pass over the training batches: the summed loss, the images seen, and why the epoch was cut
    short (``None``: it ran to the end)."""
    loss_sum, n = 0.0, 0
    model.train()
    ready = time.monotonic()
    for images, targets in train_loader:
        if not pace.room_for_batch(len(targets)):
            return loss_sum, n, f"the time budget's deadline, during epoch {epoch}"
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
        now = time.monotonic()
        pace.record_step(now - ready, len(targets))
        ready = now
        if pace.passed():
            return loss_sum, n, f"the time budget's deadline, during epoch {epoch}"
    return loss_sum, n, None


def _step_for(model: nn.Module, config: TrainConfig, device: torch.device, total_steps: int) -> _Step:
    """The optimiser, its warm-up + cosine schedule over ``total_steps``, and mixed precision (CUDA only)."""
    optimizer = _optimizer(model, config)
    amp = config.amp and device.type == "cuda"
    return _Step(optimizer, _schedule(optimizer, total_steps, config.warmup_fraction),
                 torch.amp.GradScaler("cuda", enabled=amp), amp)


def train_model(model: nn.Module, task: VisionTask, train_loader: DataLoader[Any], val_loader: DataLoader[Any],
                config: TrainConfig, *, n_classes: int, device: torch.device,
                on_epoch: Callable[[EpochRecord], None] | None = None, deadline: float | None = None,
                after_training: Callable[[float], float] | None = None) -> TrainOutcome:
    """Train ``model`` and return the best epoch's weights and the per-epoch history.

    ``after_training(validation_seconds)``: the seconds the caller needs after this returns, before the
    same ``deadline`` (see :class:`_Pace`); none by default.
    """
    model.to(device)
    step = _step_for(model, config, device, config.epochs * max(1, len(train_loader)))
    history: list[EpochRecord] = []
    best: tuple[float, int, dict[str, torch.Tensor], dict[str, Any]] | None = None
    stopped, started, seen = f"all {config.epochs} epochs", time.monotonic(), 0
    if deadline is not None and started > deadline:  # not even one batch: it would run past the budget
        raise DeadlineReached(f"the time budget was spent {started - deadline:.1f} s before training could start")
    val_images = len(val_loader.dataset)  # type: ignore[arg-type]  # our datasets are sized
    pace = _Pace(deadline, val_images, after_training or (lambda _: 0.0))
    for epoch in range(1, config.epochs + 1):
        t0 = time.monotonic()
        loss_sum, n, why_cut = _train_epoch(model, task, train_loader, step, device, epoch, pace)
        cut = why_cut is not None
        stopped = why_cut or stopped
        seen, train_time = seen + n, time.monotonic() - t0
        if cut and (best is not None or n == 0):
            break  # a partial epoch is scored only when it is all there is
        if cut and pace.passed():  # nothing scored yet, and scoring it would only add to the overrun
            raise DeadlineReached(f"the time budget's deadline passed during the first epoch's first steps "
                                  f"(the first took {pace.first_step or 0.0:.1f} s), before any could be scored")
        validation_started = time.monotonic()
        scores = evaluate_model(model, task, val_loader, n_classes, device)
        pace.val_seconds = time.monotonic() - validation_started
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
