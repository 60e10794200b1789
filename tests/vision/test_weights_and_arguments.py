"""Starting weights and ``train-vision`` arguments a user gets wrong, and what they are told.

* a ``--weights`` file that is not a torch file: one short line, never torch's advice to load it
  with ``weights_only=False`` (which would let the file run code);
* a folder given as ``--weights``; a state dict of another architecture (found before any trial,
  not as failed trials with torch's list of 100 missing keys); a corrupt file in the torch cache
  (random weights, said, instead of an internal error);
* (the CLI's cases, ``--seed -1``, ``--model ","``, ``--weights .`` and the offline warning, are in
  ``tests/test_cli_vision.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from automlops.errors import ConfigError, ModelError
from automlops.search.engine import DecisionLog
from automlops.vision.datasets import load_image_dataset
from automlops.vision.engine import VisionEngine
from automlops.vision.samples import write_digits_imagefolder
from automlops.vision.zoo import VISION_MODELS, resolve_weights


def test_a_file_that_is_not_a_state_dict_is_one_short_safe_line(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(b"not a torch file at all")
    with pytest.raises(ModelError) as caught:
        resolve_weights(VISION_MODELS.get("resnet18"), str(path))
    message = str(caught.value)
    assert "weights.pt is not a PyTorch state_dict" in message and len(message) < 300
    assert "weights_only=False" not in message and "weights_only` set to `False" not in message


def test_a_folder_as_weights_is_named_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        resolve_weights(VISION_MODELS.get("resnet18"), str(tmp_path))


def test_weights_of_another_architecture_are_refused_before_any_trial(tmp_path: Path) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    data = load_image_dataset(write_digits_imagefolder(tmp_path / "d", per_class=4, size=32, classes=2))
    engine = VisionEngine("classification", models=["mobilenet_v2"], weights=str(path), download_weights=False)
    with pytest.raises(ModelError) as caught:
        engine.prepare(data, DecisionLog(lambda event: None, lambda: 0.0, lambda: None))
    message = str(caught.value)
    assert "do not fit mobilenet_v2" in message and "missing" in message and len(message) < 400


def test_a_corrupt_file_in_the_torch_cache_means_random_weights_said(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    spec = VISION_MODELS.get("resnet18")
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    cached = hub / "checkpoints" / Path(spec.weights().url).name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a download")
    choice = resolve_weights(spec, None, download=False)
    assert choice.source == "random" and not choice.pretrained
    assert cached.name in choice.detail and "not readable" in choice.detail
