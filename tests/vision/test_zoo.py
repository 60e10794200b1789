"""The architectures build for any number of classes, take weights from a file, and survive the model store."""

from __future__ import annotations

import pytest
import torch
import torchvision

from automlops.core.fit import Artifact
from automlops.errors import ConfigError, ModelError
from automlops.mlops.store import ModelStore
from automlops.vision.zoo import VISION_MODELS, build_model, freeze_backbone, models_for, resolve_weights

LIGHT = {"image_classification": "resnet18", "segmentation": "deeplabv3_mobilenet_v3_large",
         "detection": "fasterrcnn_mobilenet_v3_large_320_fpn"}


def test_every_task_has_its_architectures_lightest_first() -> None:
    assert models_for("image_classification") == ["mobilenet_v2", "resnet18", "resnet50", "vit_b_16"]
    assert models_for("segmentation") == ["deeplabv3_mobilenet_v3_large", "deeplabv3_resnet50"]
    assert models_for("detection")[0] == "fasterrcnn_mobilenet_v3_large_320_fpn"
    with pytest.raises(ConfigError, match="no vision architecture"):
        models_for("regression")


HEAVY = ("resnet50", "vit_b_16", "deeplabv3_resnet50", "fasterrcnn_resnet50_fpn_v2")  # ~3 s each to build


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                  for n in VISION_MODELS.names()])
def test_each_architecture_builds_for_three_classes(name: str) -> None:
    task = VISION_MODELS.get(name).task
    model = build_model(name, 3, image_size=32, detection_size=64).eval()
    with torch.inference_mode():
        if task == "image_classification":
            assert model(torch.rand(2, 3, 32, 32)).shape == (2, 3)
        elif task == "segmentation":
            assert model(torch.rand(2, 3, 32, 32))["out"].shape == (2, 3, 32, 32)
        else:
            assert model.roi_heads.box_predictor.cls_score.out_features == 4  # 3 classes + background
            assert set(model([torch.rand(3, 64, 64)])[0]) == {"boxes", "labels", "scores"}


def test_weights_from_a_file_are_loaded_under_a_new_head(tmp_path, no_weights) -> None:
    published = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(published.state_dict(), path)
    choice = resolve_weights(VISION_MODELS.get("resnet18"), path)
    assert choice.source == "file" and choice.pretrained
    model = build_model("resnet18", 3, weights=choice)
    assert model.fc.out_features == 3
    assert torch.equal(model.conv1.weight, published.conv1.weight)


def test_a_bad_weights_file_is_refused_with_its_name(tmp_path, no_weights) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not a tensor file")
    with pytest.raises(ModelError, match="notes.pth"):
        resolve_weights(VISION_MODELS.get("resnet18"), text)
    other = tmp_path / "mobilenet.pth"
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), other)
    with pytest.raises(ModelError, match="do not fit resnet18"):
        build_model("resnet18", 3, weights=resolve_weights(VISION_MODELS.get("resnet18"), other))
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_weights(VISION_MODELS.get("resnet18"), tmp_path / "missing.pth")


def test_no_weights_anywhere_means_random_init_with_the_reason(no_weights) -> None:
    choice = resolve_weights(VISION_MODELS.get("resnet18"), None, download=False)
    assert choice.source == "random" and not choice.pretrained
    assert "random initialisation" in choice.detail and "--weights PATH" in choice.detail


def test_the_torch_cache_is_used_before_any_download(no_weights) -> None:
    spec = VISION_MODELS.get("mobilenet_v2")
    cached = torch.hub.get_dir() + "/checkpoints/" + spec.weights().url.rsplit("/", 1)[-1]
    import os

    os.makedirs(os.path.dirname(cached))
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), cached)
    assert resolve_weights(spec, None, download=False).source == "cache"


def test_freezing_keeps_the_head_trainable() -> None:
    model = build_model("resnet18", 3)
    frozen = freeze_backbone(model, 0.5)
    body = [p for n, p in model.named_parameters() if not n.startswith("fc.")]
    assert frozen == round(0.5 * len(body)) and sum(not p.requires_grad for p in body) == frozen
    assert all(p.requires_grad for p in model.fc.parameters())


@pytest.mark.parametrize("task", sorted(LIGHT))
def test_a_state_dict_round_trips_through_the_model_store(task: str, home) -> None:
    name = LIGHT[task]
    model = build_model(name, 2, image_size=32, detection_size=64).eval()
    meta = {"architecture": f"vision:{name}", "task": task,
            "architecture_params": {"n_classes": 2, "image_size": getattr(model, "image_size", None),
                                    "detection_size": 64 if task == "detection" else None}}
    stored = ModelStore().save("net", Artifact("vision", model, meta, format="torch-state-dict"), meta)
    assert stored.meta["model_format"] == "torch-state-dict"
    loaded = ModelStore().load("net").model
    x = torch.rand(1, 3, 32, 32) if task != "detection" else [torch.rand(3, 64, 64)]
    with torch.inference_mode():
        before, after = model(x), loaded(x)
    if task == "image_classification":
        assert torch.equal(before, after)
    elif task == "segmentation":
        assert torch.equal(before["out"], after["out"])
    else:
        assert torch.equal(before[0]["scores"], after[0]["scores"])


def test_the_download_setting_reaches_the_engine(monkeypatch) -> None:
    from automlops.vision.runner import VisionRunner

    monkeypatch.setenv("AUTOMLOPS_DOWNLOAD_WEIGHTS", "false")
    assert VisionRunner("classification").engine().download is False
    assert VisionRunner("classification", download_weights=True).engine().download is True
