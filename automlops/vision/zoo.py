"""The vision model zoo: torchvision architectures, their pretrained weights, and their heads.

**Transfer learning** is the reason a few hundred images can be enough. A network trained on
ImageNet's 1.2 million photos has learned, in its early layers, detectors of edges, textures and
parts that are useful for almost any picture. We keep those layers (the *backbone*), replace the
last layer (the *head*, which named ImageNet's 1,000 classes) with a fresh one for *your* classes,
and train. Freezing part of the backbone (``freeze``, a fraction of its layers counted from the
input) keeps the generic early features fixed and trains faster; with random weights there is
nothing worth freezing, so the search only tries it when pretrained weights were loaded.

**Where the weights come from**, in this order (:func:`resolve_weights`):

1. a file you give (``weights=PATH``): a ``state_dict`` saved with ``torch.save`` from the same
   torchvision architecture (loaded with ``weights_only=True``: the file cannot run code);
2. torchvision's cache (``$TORCH_HOME/hub/checkpoints``), filled by an earlier download;
3. a download through torchvision's weights API (needs internet; bounded by a socket timeout);
4. none: random initialisation, with a clear warning in ``decisions_`` (expect much lower scores).

Each architecture is one :class:`ArchSpec` in :data:`VISION_MODELS`. Its builder makes the
network *as torchvision publishes it* (so pretrained weights fit), loads the weights, then swaps
the head. A saved model is only its ``state_dict`` (``torch-state-dict`` format of the model
store) plus ``meta["architecture"] = "vision:<name>"``: :data:`~automlops.mlops.formats.ARCHITECTURES`
rebuilds the same shape from ``meta["architecture_params"]`` before loading the weights back.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automlops.core.registry import Registry
from automlops.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["ArchSpec", "IMAGENET_MEAN", "IMAGENET_STD", "VISION_MODELS", "WeightsChoice", "build_model",
           "freeze_backbone", "models_for", "resolve_weights"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # what pretrained torchvision models expect after ToTensor
IMAGENET_STD = (0.229, 0.224, 0.225)
DOWNLOAD_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class ArchSpec:
    """One torchvision architecture: its task, how to build it, which module is its head."""

    name: str
    task: str  # "image_classification" | "segmentation" | "detection"
    factory: str  # torchvision.models function, e.g. "resnet18" or "segmentation.deeplabv3_resnet50"
    weights_enum: str  # e.g. "ResNet18_Weights"
    head: str  # dotted path of the module replaced for the dataset's classes
    description: str
    pretrained_size: int = 224  # input side the pretrained weights were trained at (classification)
    params_m: float = 0.0  # millions of parameters (shown to users; heavier = slower on a CPU)
    extra: Mapping[str, Any] = field(default_factory=dict)  # fixed keyword arguments of the factory

    def weights(self) -> Any:
        import torchvision.models as tvm

        module = tvm
        for part in self.factory.split(".")[:-1]:
            module = getattr(module, part)
        return getattr(module, self.weights_enum).DEFAULT

    def function(self) -> Callable[..., nn.Module]:
        import torchvision.models as tvm

        target: Any = tvm
        for part in self.factory.split("."):
            target = getattr(target, part)
        return target  # type: ignore[no-any-return]


VISION_MODELS: Registry[ArchSpec] = Registry("vision architecture")
for _spec in (
    ArchSpec("resnet18", "image_classification", "resnet18", "ResNet18_Weights", "fc",
             "ResNet-18: the classic residual network, small and quick; the default", params_m=11.7),
    ArchSpec("resnet50", "image_classification", "resnet50", "ResNet50_Weights", "fc",
             "ResNet-50: deeper residual network, more accurate, ~4× slower than ResNet-18", params_m=25.6),
    ArchSpec("mobilenet_v2", "image_classification", "mobilenet_v2", "MobileNet_V2_Weights", "classifier.1",
             "MobileNetV2: depthwise convolutions for phones; fastest per image", params_m=3.5),
    ArchSpec("vit_b_16", "image_classification", "vit_b_16", "ViT_B_16_Weights", "heads.head",
             "Vision Transformer B/16: attention over 16×16 patches; needs pretraining to shine", params_m=86.6),
    ArchSpec("deeplabv3_mobilenet_v3_large", "segmentation", "segmentation.deeplabv3_mobilenet_v3_large",
             "DeepLabV3_MobileNet_V3_Large_Weights", "classifier.4",
             "DeepLabV3 on MobileNetV3: atrous convolutions see context at several scales; light", params_m=11.0),
    ArchSpec("deeplabv3_resnet50", "segmentation", "segmentation.deeplabv3_resnet50", "DeepLabV3_ResNet50_Weights",
             "classifier.4", "DeepLabV3 on ResNet-50: the accurate, heavier segmenter", params_m=42.0),
    ArchSpec("fasterrcnn_mobilenet_v3_large_320_fpn", "detection", "detection.fasterrcnn_mobilenet_v3_large_320_fpn",
             "FasterRCNN_MobileNet_V3_Large_320_FPN_Weights", "roi_heads.box_predictor",
             "Faster R-CNN on MobileNetV3 at 320 px: region proposals + box classifier; fast", params_m=19.4),
    ArchSpec("fasterrcnn_resnet50_fpn_v2", "detection", "detection.fasterrcnn_resnet50_fpn_v2",
             "FasterRCNN_ResNet50_FPN_V2_Weights", "roi_heads.box_predictor",
             "Faster R-CNN v2 on ResNet-50 + FPN: accurate, heavy on a CPU", params_m=43.7),
):
    VISION_MODELS.add(_spec.name, _spec)


def models_for(task: str) -> list[str]:
    """The architectures that solve ``task``, lightest first."""
    specs = [s for _, s in VISION_MODELS.items() if s.task == task]
    if not specs:
        raise ConfigError(f"no vision architecture for task '{task}'; tasks: image_classification, "
                          "segmentation, detection")
    return [s.name for s in sorted(specs, key=lambda s: s.params_m)]


# ---------------------------------------------------------------------------------------------- weights
@dataclass(frozen=True)
class WeightsChoice:
    """Where the starting weights came from, and the state dict itself (``None``: random init)."""

    source: str  # "file" | "cache" | "download" | "random"
    detail: str
    state_dict: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def pretrained(self) -> bool:
        return self.state_dict is not None


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


def resolve_weights(spec: ArchSpec, weights: str | Path | None, *, download: bool = True) -> WeightsChoice:
    """The starting weights for ``spec`` (see the module docstring for the order).

    ``weights``: ``None`` or ``"auto"`` (cache, then download, then random), ``"none"`` (random on
    purpose), or a path to a state-dict file.
    """
    import torch

    if isinstance(weights, str) and weights.strip().lower() in ("none", "random"):
        return WeightsChoice("random", "random initialisation, as asked")
    if weights not in (None, "auto"):
        return _weights_file(spec, Path(str(weights)).expanduser())
    published = spec.weights()
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(published.url).name
    if cached.is_file():
        try:
            return WeightsChoice("cache", f"ImageNet weights from the torch cache ({cached.name})",
                                 torch.load(cached, map_location="cpu", weights_only=True))
        except Exception as exc:  # a truncated or foreign file where torchvision's download would be
            return WeightsChoice("random", f"no pretrained weights for {spec.name}: the cached file {cached} is not "
                                           f"readable ({type(exc).__name__}); random initialisation: expect much "
                                           "lower scores than with transfer learning. Delete or replace that file, "
                                           "or pass --weights PATH")
    if download:
        try:
            with _socket_timeout(DOWNLOAD_TIMEOUT_S), contextlib.redirect_stdout(sys.stderr):  # torch.hub prints
                state = published.get_state_dict(progress=False, check_hash=True)  # 'Downloading...' on stdout
            return WeightsChoice("download", f"pretrained weights {published} downloaded", state)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            cached.unlink(missing_ok=True)  # a half-downloaded file must not look like a cache hit next time
    else:
        reason = "downloads are off"
    return WeightsChoice("random", f"no pretrained weights for {spec.name} ({reason[:160]}); random "
                                   "initialisation: expect much lower scores than with transfer learning. Put "
                                   f"{cached.name} in {cached.parent} or pass --weights PATH")


def _weights_file(spec: ArchSpec, path: Path) -> WeightsChoice:
    """A state-dict file the user named (``--weights PATH``): loaded tensors only, never pickled code."""
    import torch

    if path.is_dir():
        raise ConfigError(f"weights {path} is a folder; give the state-dict file (e.g. {spec.name}.pth)")
    if not path.is_file():
        raise ConfigError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's own message suggests weights_only=False: never, the file could run code
        raise ModelError(f"weights file {path.name} is not a PyTorch state_dict ({type(exc).__name__}): save one "
                         "with torch.save(model.state_dict(), path); files holding other Python objects are "
                         "refused, since loading them could run code") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"weights file {path.name} holds a {type(state).__name__}, not a state_dict")
    return WeightsChoice("file", f"weights from {path.name}", state)




# ---------------------------------------------------------------------------------------------- build
def _published_classes(spec: ArchSpec) -> int:
    return len(spec.weights().meta["categories"])


def _module(root: nn.Module, dotted: str) -> nn.Module:
    for part in dotted.split("."):
        root = root[int(part)] if part.isdigit() else getattr(root, part)  # type: ignore[index]
    return root


def _set_module(root: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_path, _, last = dotted.rpartition(".")
    parent = _module(root, parent_path) if parent_path else root
    if last.isdigit():
        parent[int(last)] = new  # type: ignore[index,operator]
    else:
        setattr(parent, last, new)


def _new_head(spec: ArchSpec, old: nn.Module, n_outputs: int) -> nn.Module:
    from torch import nn

    if spec.task == "detection":
        from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

        return FastRCNNPredictor(old.cls_score.in_features, n_outputs)  # type: ignore[arg-type,union-attr]
    if isinstance(old, nn.Conv2d):
        return nn.Conv2d(old.in_channels, n_outputs, kernel_size=1)
    if isinstance(old, nn.Linear):
        return nn.Linear(old.in_features, n_outputs)
    raise ModelError(f"cannot replace the head of {spec.name} ({type(old).__name__})")


def n_outputs(task: str, n_classes: int) -> int:
    """Detection heads have one more output than classes: index 0 is the *background*."""
    return n_classes + 1 if task == "detection" else n_classes


def build_model(name: str, n_classes: int, *, weights: WeightsChoice | None = None, image_size: int | None = None,
                detection_size: int | None = None) -> nn.Module:
    """``name`` built for ``n_classes`` classes, starting from ``weights`` (random when ``None``).

    ``image_size`` matters only to ViT without pretrained weights (its position embeddings are made
    for one input size); ``detection_size`` sets Faster R-CNN's internal resize (shorter side).
    """
    spec = VISION_MODELS.get(name)
    kwargs: dict[str, Any] = {"weights": None, **dict(spec.extra)}
    if spec.task != "image_classification":
        kwargs["weights_backbone"] = None
    if spec.task == "segmentation":
        kwargs["aux_loss"] = False
    if spec.task == "detection" and detection_size:
        kwargs.update(min_size=detection_size, max_size=max(detection_size, int(detection_size * 4 / 3)))
    if name == "vit_b_16" and image_size and (weights is None or not weights.pretrained):
        kwargs["image_size"] = image_size
    outputs = n_outputs(spec.task, n_classes)
    if weights is None or not weights.pretrained:
        model = spec.function()(num_classes=outputs, **kwargs)
        model.automlops_head = spec.head  # type: ignore[assignment]
        return model
    model = spec.function()(num_classes=_published_classes(spec), **kwargs)
    state = {k: v for k, v in dict(weights.state_dict or {}).items() if not k.startswith("aux_classifier.")}
    _load_pretrained(model, state, name, weights.detail)
    _set_module(model, spec.head, _new_head(spec, _module(model, spec.head), outputs))
    model.automlops_head = spec.head  # type: ignore[assignment]
    return model


def _load_pretrained(model: nn.Module, state: Mapping[str, Any], name: str, detail: str) -> None:
    """Load ``state`` into ``model``; a ModelError that says how it does not fit (not torch's key list)."""
    hint = f"({detail}): it must be the state_dict of torchvision's {name}, e.g. torch.save(model.state_dict(), path)"
    try:
        result = model.load_state_dict(dict(state), strict=False)
    except (RuntimeError, TypeError, AttributeError) as exc:  # a tensor of another shape, or not tensors at all
        first = str(exc).strip().splitlines()[-1].strip()[:160] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"the weights do not fit {name} {hint} ({first})") from None
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing or unexpected:
        example = (missing or unexpected)[0]
        raise ModelError(f"the weights do not fit {name} {hint}; {len(missing)} of its tensors are missing from the "
                         f"file and {len(unexpected)} in the file are not its (e.g. '{example}')")


def freeze_backbone(model: nn.Module, fraction: float) -> int:
    """Freeze the first ``fraction`` of the non-head parameter tensors (input side); return how many.

    ``0`` trains everything (*fine-tuning*); ``1`` trains only the new head (*feature extraction*);
    in between keeps the generic early layers and adapts the later, more specific ones.
    """
    head = str(getattr(model, "automlops_head", ""))
    body = [p for n, p in model.named_parameters() if not (head and n.startswith(head + "."))]
    k = int(round(fraction * len(body)))
    for p in body[:k]:
        p.requires_grad_(False)
    return k


def _rebuild(name: str) -> Callable[..., nn.Module]:
    def builder(n_classes: int, image_size: int | None = None, detection_size: int | None = None) -> nn.Module:
        return build_model(name, n_classes, image_size=image_size, detection_size=detection_size)

    return builder


def _register_architectures() -> None:
    """Let the model store rebuild every architecture by name (``meta["architecture"]``)."""
    from automlops.mlops.formats import ARCHITECTURES

    for name in VISION_MODELS.names():
        if f"vision:{name}" not in ARCHITECTURES:
            ARCHITECTURES.add(f"vision:{name}", _rebuild(name))


_register_architectures()
