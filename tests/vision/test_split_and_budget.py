"""The vision engine's split of a small dataset, and a time budget already spent before training.

* 12 images of 3 classes: 15 % for test is 2 images, fewer than the classes, so a stratified split
  is impossible at those sizes (scikit-learn raised ``ValueError``: an "internal error" on the CLI).
  The parts grow to one image per class, and every class is in each part.
* A budget that start-up already spent: the first batch used to train anyway and the run shipped a
  model long after the deadline (a 3 s budget took 12 s); now nothing is trained and the search
  says the budget was too small (the search driver refuses it before any trial, for every engine).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from automlops.errors import ConfigError
from automlops.search.engine import DecisionLog
from automlops.vision.datasets import load_image_dataset
from automlops.vision.engine import VisionEngine
from automlops.vision.runner import VisionRunner
from automlops.vision.samples import write_digits_imagefolder


def _prepare(data, **kwargs):  # type: ignore[no-untyped-def]
    engine = VisionEngine("classification", models=["resnet18"], weights="none", download_weights=False, **kwargs)
    log = DecisionLog(lambda event: None, lambda: 0.0, lambda: None)
    engine.prepare(data, log)
    return engine, " ".join(str(d) for d in log.items)


def test_three_classes_of_four_images_are_split_with_every_class_in_each_part(tmp_path: Path) -> None:
    data = load_image_dataset(write_digits_imagefolder(tmp_path / "d", per_class=4, size=32, classes=3))
    engine, decisions = _prepare(data)
    labels = np.asarray(data.labels())
    parts = (engine.train_idx, engine.val_idx, engine.test_idx)
    assert sorted(i for part in parts for i in part) == list(range(12))  # disjoint, nothing lost
    for part in parts:
        assert sorted(set(labels[part].tolist())) == [0, 1, 2]
    assert "stratified by class" in decisions


def test_the_usual_split_is_unchanged_when_the_classes_fit(tmp_path: Path) -> None:
    from sklearn.model_selection import train_test_split

    data = load_image_dataset(write_digits_imagefolder(tmp_path / "d", per_class=10, size=32, classes=4))
    engine, _ = _prepare(data)
    labels = np.asarray(data.labels())
    rest, test = train_test_split(np.arange(40), test_size=0.15, random_state=0, stratify=labels)
    train, val = train_test_split(rest, test_size=0.15 / 0.85, random_state=0, stratify=labels[rest])
    assert (engine.train_idx, engine.val_idx, engine.test_idx) == (sorted(train), sorted(val), sorted(test))


def test_a_class_too_small_to_stratify_is_split_at_random_and_says_why(tmp_path: Path) -> None:
    root = write_digits_imagefolder(tmp_path / "d", per_class=6, size=32, classes=2)
    for extra in list((root / "1").iterdir())[2:]:
        extra.unlink()  # class '1' keeps 2 images
    engine, decisions = _prepare(load_image_dataset(root))
    assert len(engine.train_idx) + len(engine.val_idx) + len(engine.test_idx) == 8
    assert "at random" in decisions and "3 images per class" in decisions


def test_a_budget_spent_before_training_trains_nothing(tmp_path: Path) -> None:
    data = load_image_dataset(write_digits_imagefolder(tmp_path / "d", per_class=4, size=32, classes=2))
    started = time.monotonic() - 30  # start-up took 30 s of a 5 s budget
    with pytest.raises(ConfigError, match="too small here: start-up and preparing the data took"):
        VisionRunner("classification", models=["resnet18"], epochs=5, time_budget=5, weights="none",
                     download_weights=False, started_at=started).fit(data)
    assert time.monotonic() - started < 30 + 15  # no epoch was trained past the deadline
