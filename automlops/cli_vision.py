"""``automlops train-vision``: train an image model on a dataset of the image lake.

    automlops lake add-images digits digits.zip
    automlops train-vision digits --task classification --model resnet18 --epochs 5 --time-budget 120 --json

The steps are those of ``automlops train``: every argument is checked before any work, a remote
MLflow server is probed once, the search runs under the time budget (counted from the process
start), the model is saved through the model store and registered, and ``--json`` prints the
same keys on the last stdout line.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from automlops.errors import ConfigError

__all__ = ["add_commands", "cmd_train_vision"]

_TASKS = {"classification": "image_classification", "image_classification": "image_classification",
          "segmentation": "segmentation", "detection": "detection"}


def add_commands(sub: Any) -> None:
    from automlops.cli_parser import _positive_float, _positive_int

    train = sub.add_parser("train-vision", help="train an image classifier, segmenter or detector (torchvision)")
    train.add_argument("dataset", help="an image dataset of the lake: NAME or NAME@vN ('automlops lake add-images')")
    train.add_argument("--task", choices=sorted(_TASKS), help="default: what the dataset's layout says")
    train.add_argument("--model", "--models", dest="models",
                       help="architecture(s), comma-separated (default: the two lightest for the task; "
                            "see 'automlops models zoo')")
    train.add_argument("--epochs", type=_positive_int, help="most epochs per trial (default: the preset's)")
    train.add_argument("--time-budget", type=_positive_float, help="seconds for the whole run")
    train.add_argument("--n-trials", type=_positive_int)
    train.add_argument("--preset", choices=["fast", "medium", "best"], default="fast")
    train.add_argument("--search", choices=["hyperband", "tpe", "random", "grid"], default="hyperband")
    train.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    train.add_argument("--weights", help="pretrained weights: a state-dict file, 'auto' (torch cache, then "
                                         "download; default) or 'none' (random initialisation)")
    train.add_argument("--image-size", type=_positive_int, help="input side in pixels (default: from the images)")
    train.add_argument("--batch-size", type=_positive_int, help="fixed batch size (default: searched)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--name", help="model name (default: the dataset name)")
    train.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    train.set_defaults(handler=cmd_train_vision)


class _EpochProgress:
    """The CLI's progress line, plus one line per finished epoch, and a warning when an architecture
    starts from random weights that were not asked for (an offline machine without the weights)."""

    def __init__(self, trials: Any) -> None:
        self.trials, self.last = trials, 0.0

    def __call__(self, event: Any) -> None:
        if event.kind == "stage" and str(event.message).startswith("weights: ") and "random initialisation:" in \
                str(event.message):  # pretrained weights were wanted but none could be found
            from automlops.cli import _one_line

            sys.stderr.write(("\n" if self.trials.tty else "") + "automlops: warning: "
                             + _one_line(str(event.message).removeprefix("weights: ")) + "\n")
            sys.stderr.flush()
        if event.kind != "epoch":
            self.trials(event)
            return
        now = time.monotonic()
        if now - self.last < 1.0 and not self.trials.tty:
            return
        self.last = now
        x = event.extra
        budget = f"/{event.budget:.0f}s" if event.budget else "s"
        line = (f"trial {x.get('trial')} {x.get('model')} epoch {x.get('epoch')} · train loss "
                f"{x.get('train_loss', float('nan')):.4f} · {x.get('metric')} {event.value:.4f} · "
                f"{event.elapsed:.1f}{budget}")
        sys.stderr.write(("\r" + line.ljust(78)) if self.trials.tty else line + "\n")
        sys.stderr.flush()


def _check(args: argparse.Namespace) -> tuple[list[str] | None, str | None]:
    from automlops.mlops.lake import NAME_RE
    from automlops.vision.zoo import VISION_MODELS

    if args.name is not None and not NAME_RE.fullmatch(args.name):
        raise ConfigError(f"invalid model name {args.name!r} for --name: use 1-64 letters, digits, '_' or '-'")
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models is not None else None
    if models == []:
        raise ConfigError(f"--model {args.models!r} names no architecture; leave it out for the task's default, "
                          "or see 'automlops models zoo'")
    for model in models or []:
        VISION_MODELS.get(model)
    return models, _TASKS.get(args.task) if args.task else None


def cmd_train_vision(args: argparse.Namespace) -> int:
    """Check, load the image dataset, search and train, save, report (see the module docstring)."""
    from automlops.cli import _one_line, _process_started_monotonic, _Progress
    from automlops.cli_training import print_train_summary, task_change_note, tracker_for_training
    from automlops.config import get_settings
    from automlops.mlops.image_lake import ImageLake
    from automlops.mlops.store import ModelStore
    from automlops.vision import datasets as _datasets  # noqa: F401 - registers the lake's image reader
    from automlops.vision.runner import VisionRunner, save_vision_model

    started = _process_started_monotonic()
    models, task = _check(args)
    settings = get_settings()
    name, _, version = args.dataset.partition("@")
    lake = ImageLake(settings=settings)
    entry = lake.get_version(name, version or None)
    data = lake.load(entry.name, entry.version)
    task = task or data.task
    runner = VisionRunner(task, models=models, epochs=args.epochs, preset=args.preset, time_budget=args.time_budget,
                          n_trials=args.n_trials, device=args.device, weights=args.weights, search=args.search,
                          seed=args.seed, image_size=args.image_size, batch_size=args.batch_size,
                          run_name=args.name or entry.name, dataset=entry.lineage(), started_at=started)
    runner.engine()  # every option checked before MLflow or the search is touched
    tracker, tracking_note = tracker_for_training(settings, args.time_budget)
    runner.tracker = tracker
    progress = _Progress()
    runner.callbacks = [_EpochProgress(progress)]
    try:
        result = runner.fit(data).result_
    finally:
        progress.close()
    notes: list[str] = []
    store = ModelStore(settings=settings)
    stored = save_vision_model(result, store, args.name or entry.name, dataset=entry.lineage(), tracker=tracker,
                               notes=notes, register=tracking_note is None)
    print_train_summary(args, result, stored, entry.lineage(), started)
    if (changed := task_change_note(store, stored)) is not None:
        notes.append(changed)
    for note in notes:
        print(f"automlops: warning: {_one_line(note)}", file=sys.stderr)
    return 0
