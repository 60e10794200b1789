"""Live quality from ground truth: the metric follows the task (tables and image classification alike)."""

from __future__ import annotations

import pytest

from automlops.mlops.live_metrics import live_quality


@pytest.mark.parametrize("task", ["classification", "image_classification"])
def test_classifiers_get_accuracy_and_macro_f1(task: str) -> None:
    quality = live_quality(task, ["cat", "dog", "dog", "cat"], ["cat", "dog", "cat", "cat"])
    assert quality["accuracy"] == pytest.approx(0.75) and 0 < quality["f1_macro"] < 1


def test_no_labels_no_numbers() -> None:
    assert live_quality("image_classification", ["cat"], []) == {}
