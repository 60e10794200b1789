"""The exported script of an image-classification model (torchvision).

What the vision engine did (see :mod:`automlops.vision.engine`): the images of one image-lake
version (class folders) were split once into training, validation and test images (stratified,
seeded), the chosen architecture was built for the dataset's classes (from ImageNet weights, or
from a random initialisation when none were available) with part of its backbone frozen, trained
with AdamW or SGD, a warm-up and a cosine schedule, the validation accuracy chose the best epoch,
and that epoch's weights were scored once on the test images.

The script repeats each step with the studio's own training loop, transforms and metrics (copied
in). Training a network is not bit-for-bit repeatable in general: on a GPU (mixed precision,
non-deterministic kernels), with other thread counts or library versions, the weights - and on a
small test set the accuracy - can differ. On the CPU, with the same versions, a model trained on
the CPU gives the same score.

Segmentation (DeepLabV3, masks layout) and detection (Faster R-CNN, COCO or VOC layout) models
are written the same way: their readers (:mod:`automlops.export.vision_data`) list the images,
masks and boxes in the studio's order, the split is seeded but not stratified, the networks are
built as :func:`automlops.vision.zoo.build_model` builds them, and the metric is torchmetrics' mIoU
or mAP@0.5 (pycocotools), as the studio computes it. A model whose training started from a
weights file needs that file: the script takes it as ``--weights PATH`` and stops without it.
"""

from __future__ import annotations

import re
from typing import Any

from automlops.errors import AutoMLOpsError, ConfigError, DataError
from automlops.export import runtime
from automlops.export.script import DataSource, ScriptParts, common_settings
from automlops.export.vision_data import LOADERS, WEIGHTS_ARG

__all__ = ["image_source", "vision_parts"]

VAL_SIZE = 0.15  # VisionEngine's default shares of validation and test images
TEST_SIZE = 0.15
PATIENCE = 3  # VisionEngine's default early-stopping patience

CHECK_IMAGES = '''
def check_images(folder: Path, expected: str, skip: bool) -> None:
    """Stop (exit code 2) unless every file of the image-lake version is the one stored (its manifest's SHA-256s)."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        stop(f"{folder} is not an image-lake version folder (no manifest.json); pass it with --data FOLDER")
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    problems = [] if recorded.get("sha256") == expected else ["the version is not the one the model was trained on"]
    for rel, digest in sorted(recorded.get("files", {}).items()):
        path = folder / rel
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"'{rel}' is missing or changed")
            break
    if problems:
        message = f"{folder}: {problems[0]}, so the score will differ"
        if not skip:
            stop(f"{message} (pass --skip-check to run anyway)")
        say(f"warning: {message}")
'''

LOAD_IMAGES = '''
@dataclass(frozen=True)
class Images:
    """An ImageFolder dataset as the studio reads it: class folders (sorted) and their images (sorted)."""

    root: Path
    task: str
    classes: tuple[str, ...]
    items: tuple[ImageItem, ...]


def load_images(root: Path) -> Images:
    """One folder per class; the label of an image is the index of its folder among the sorted folders."""
    root = _unwrap(root)
    folders = [p for p in visible(root) if p.is_dir()]
    items = tuple(ImageItem(relpath(path, root), 0, 0, label=label)
                  for label, folder in enumerate(folders) for path in files_under(folder))
    return Images(root, "image_classification", tuple(f.name for f in folders), items)
'''

SPLIT = '''
def split_images(n: int, labels: list[int] | None, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Training, validation and test images: two seeded splits, stratified when every class has 3 images."""
    indices = np.arange(n)
    stratify = labels if labels is not None and min(np.bincount(labels)) >= 3 else None
    rest, test = train_test_split(indices, test_size=TEST_SIZE, random_state=seed, stratify=stratify)
    rest_labels = None if stratify is None else np.asarray(labels)[rest]
    train, val = train_test_split(rest, test_size=VAL_SIZE / (1 - TEST_SIZE), random_state=seed,
                                  stratify=rest_labels)
    return sorted(train.tolist()), sorted(val.tolist()), sorted(test.tolist())
'''

MAIN = '''
def main(argv: list[str] | None = None) -> int:
    """Check the images, split them as training did, train, keep the best epoch, score the test images once."""
    args = parse_args(__doc__.splitlines()[0], DATA_PATH, argv)
    folder = Path(args.data)
    check_images(folder, DATA_SHA256, args.skip_check)
    data = load_images(folder / DATA_ROOT)
    labels = [int(item.label) for item in data.items] if TASK.name == "image_classification" else None
    train_idx, val_idx, test_idx = split_images(len(data.items), labels, SEED)
    say(f"{len(data.items)} images of {len(data.classes)} classes: {len(train_idx)} to train, {len(val_idx)} to "
        f"choose the epoch, {len(test_idx)} to test")
    if (len(train_idx), len(val_idx), len(test_idx)) != RECORDED_SPLIT:
        say(f"warning: training split {RECORDED_SPLIT} images; these images split differently")
    device = torch.device("cpu")
    torch.manual_seed(SEED)  # the network's initial weights and the random crops
    train = ItemsDataset(data, train_idx, train_transform(TASK.name, IMAGE_SIZE))
    val = ItemsDataset(data, val_idx, eval_transform(TASK.name, IMAGE_SIZE))
    batch = max(2, min(BATCH_SIZE, len(train)))
    train_loader = make_loader(train, batch_size=batch, shuffle=True, seed=SEED)
    val_loader = make_loader(val, batch_size=max(batch, 16), shuffle=False)
    config = TrainConfig(epochs=EPOCHS, lr=LR, weight_decay=WEIGHT_DECAY, optimizer=OPTIMIZER, patience=PATIENCE)
    model = build_model(len(data.classes)@WEIGHTS@)
    outcome = train_model(model, TASK, train_loader, val_loader, config, n_classes=len(data.classes), device=device,
                          on_epoch=lambda r: say(f"epoch {r.epoch}: training loss {r.train_loss!r}, validation "
                                                 f"{TASK.metric} {r.value:.4f}"))
    say(f"best epoch {outcome.best_epoch} ({outcome.stopped})")
    model.load_state_dict(outcome.best_state)
    test = ItemsDataset(data, test_idx, eval_transform(TASK.name, IMAGE_SIZE))
    scores = evaluate_model(model, TASK, make_loader(test, batch_size=16, shuffle=False), len(data.classes), device)
    test_score = float(scores[TASK.metric])
    say(f"test {METRIC} = {test_score:.6f} on {len(test_idx)} images (recorded at training: {RECORDED_TEST_SCORE})")
    if args.refit_full:
        say("--refit-full: vision models are not refitted (training again costs as much as the search did)")
    if args.mlflow:
        log_to_mlflow(args, RUN_NAME, {**RECORDED_PARAMS, "seed": SEED}, {f"test_{METRIC}": test_score},
                      None, None, REQUIREMENTS)
    print(f"test_score={test_score!r}")
    return 0
'''


def image_source(meta: dict[str, Any], settings: Any = None) -> DataSource:
    """The image-lake version a vision model was trained on, checked to be still there and unchanged."""
    from automlops.mlops.image_lake import ImageLake

    lineage = meta.get("dataset") or {}
    name, version = lineage.get("name"), lineage.get("version")
    if not name or version is None:
        raise ConfigError(f"model '{meta.get('name')}' v{meta.get('version')} was not trained on an image-lake "
                          "dataset, so there are no images to rebuild it from")
    lake = ImageLake(settings=settings)
    try:
        entry = lake.get_version(str(name), int(version))
    except AutoMLOpsError:
        raise DataError(f"image dataset '{name}' v{int(version):04d}, which trained this model, is no longer in the "
                        "image lake; add it back (same archive) to export the model") from None
    if not lake.verify(entry.name, entry.version):
        raise DataError(f"image dataset '{name}' {entry.id} at {entry.path} no longer matches its recorded SHA-256s, "
                        "so the model cannot be rebuilt from it")
    if lineage.get("sha256") and lineage["sha256"] != entry.sha256:
        raise DataError(f"image dataset '{name}' {entry.id} is not the archive this model was trained on")
    root = (entry.root or entry.path / "data").resolve().relative_to(entry.path.resolve()).as_posix()
    return DataSource(entry.name, entry.version, entry.path, entry.sha256, {"storage": "images", "root": root})


def _epochs(meta: dict[str, Any]) -> tuple[int, str]:
    found = re.fullmatch(r"all (\d+) epochs", str(meta.get("stopped") or ""))
    if found:
        return int(found.group(1)), "  # as training ran them all"
    from automlops.vision.engine import VISION_PRESETS

    preset = VISION_PRESETS.get(str(meta.get("preset") or "medium"))
    return preset.epochs, f"  # not recorded: the '{preset.name}' preset's (training stopped early: {meta.get('stopped')})"


HEADS = {"image_classification": "nn.Linear({old}.in_features, {n})",
         "segmentation": "nn.Conv2d({old}.in_channels, {n}, kernel_size=1)",
         "detection": "FastRCNNPredictor({old}.cls_score.in_features, {n})"}  # as zoo._new_head makes them


def _pretrained_start(spec: Any, package: str, factory: str, kwargs: dict[str, Any], outputs: str, *,
                      from_file: bool, writer: Any) -> str:
    """``build_model``'s first lines for a network that started from published weights: the published
    shape, its weights (from ``--weights PATH`` or torch's cache), then a new head for our classes."""
    from automlops.vision.zoo import _module, _set_module

    weights = writer.import_name(package, spec.weights_enum)
    module, set_module = writer.inline(_module), writer.inline(_set_module)
    if spec.task == "detection":
        writer.import_name("torchvision.models.detection.faster_rcnn", "FastRCNNPredictor")
    args = ", ".join(f"{k}={writer.expression(v)}" for k, v in kwargs.items())
    if from_file:
        load = ("    state = torch.load(weights, map_location='cpu', weights_only=True)  # --weights PATH\n"
                "    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):\n"
                "        state = state['state_dict']\n")
    else:
        load = "    state = published.get_state_dict(progress=False, check_hash=True)  # downloaded once into torch's cache\n"
    head = HEADS[spec.task].format(old=f"{module}(model, HEAD)", n=outputs)
    return (f"    published = {weights}.DEFAULT  # the published network's shape (its number of classes)\n"
            f"    model = {factory}({args}, num_classes=len(published.meta['categories']))\n"
            f"{load}"
            "    model.load_state_dict({k: v for k, v in state.items() if not k.startswith('aux_classifier.')})\n"
            f"    {set_module}(model, HEAD, {head})  # a new head")


def _build_function(meta: dict[str, Any], writer: Any) -> str:
    """``build_model``, as :func:`automlops.vision.zoo.build_model` builds the architecture for the task."""
    from automlops.vision.zoo import VISION_MODELS, freeze_backbone

    spec = VISION_MODELS.get(str(meta["model_name"]))
    package = f"torchvision.models{'.' + spec.factory.rsplit('.', 1)[0] if '.' in spec.factory else ''}"
    factory = writer.import_name(package, spec.factory.rsplit(".", 1)[-1])
    writer.import_name("torch", "nn")
    freeze = writer.inline(freeze_backbone)
    kwargs: dict[str, Any] = {"weights": None, **dict(spec.extra)}
    if spec.task != "image_classification":
        kwargs["weights_backbone"] = None
    if spec.task == "segmentation":
        kwargs["aux_loss"] = False
    size = (meta.get("architecture_params") or {}).get("detection_size")
    if spec.task == "detection" and size:
        kwargs.update(min_size=int(size), max_size=max(int(size), int(int(size) * 4 / 3)))
    outputs = "n_classes + 1" if spec.task == "detection" else "n_classes"  # detection: 0 is the background
    source, signature = str(meta.get("weights_source") or "random"), "n_classes: int"
    size = (meta.get("architecture_params") or {}).get("image_size")
    if source == "random":
        if spec.name == "vit_b_16" and size:
            kwargs["image_size"] = int(size)
        args = ", ".join(f"{k}={writer.expression(v)}" for k, v in kwargs.items())
        start = (f"    model = {factory}({args}, num_classes={outputs})  # random initialisation (no pretrained "
                 "weights at training)")
    elif source in ("cache", "download", "file"):
        start = _pretrained_start(spec, package, factory, kwargs, outputs, from_file=source == "file", writer=writer)
        signature += ", weights: str" if source == "file" else ""
    else:
        raise ConfigError(f"vision model '{meta.get('name')}' started from unknown weights ({source})")
    return (f"def build_model({signature}) -> nn.Module:\n"
            f'    """{spec.name} for the dataset\'s classes, with FREEZE of its backbone frozen (input side)."""\n'
            f"{start}\n"
            f"    model.automlops_head = HEAD\n"
            f"    {freeze}(model, FREEZE)\n"
            f"    return model")


TASK_WORDS = {"image_classification": "image classifier", "segmentation": "segmentation model",
              "detection": "object detector"}


def vision_parts(loaded: Any, source: DataSource) -> ScriptParts:
    """The pieces of a vision model's script (see the module docstring)."""
    from automlops.vision.tasks import VISION_TASKS
    from automlops.vision.zoo import VISION_MODELS

    meta = loaded.meta
    task = VISION_TASKS.get(str(meta.get("task")))
    layout = str(meta.get("layout") or ("imagefolder" if task.name == "image_classification" else
                                        "masks" if task.name == "segmentation" else "coco"))
    if layout != "imagefolder" and layout not in LOADERS:
        raise ConfigError(f"{task.name} model '{meta.get('name')}' was trained on a '{layout}' dataset; the export "
                          "reads ImageFolder, masks, COCO and VOC layouts")
    spec = VISION_MODELS.get(str(meta["model_name"]))
    from_file = str(meta.get("weights_source")) == "file"
    parts = _described(meta, source, task.name, spec.name, from_file)
    writer = parts.writer
    loader = _import_helpers(writer, task.name, layout)
    main = MAIN.replace("@WEIGHTS@", ", weights" if from_file else "")
    if from_file:
        writer.import_module("argparse")
        main = main.replace("    args = parse_args(", "    weights, argv = weights_file(argv)\n    args = parse_args(", 1)
    parts.functions = [loader.strip(), SPLIT.strip(), CHECK_IMAGES.strip(), *([WEIGHTS_ARG.strip()] if from_file else []),
                       _build_function(meta, writer), main.strip()]
    parts.settings = _settings(meta, source, writer, task, spec.head, from_file)
    return parts


def _described(meta: dict[str, Any], source: DataSource, task: str, model: str, from_file: bool) -> ScriptParts:
    """The script's title and summary: what was trained on what, and what re-running it does."""
    images = dict(meta.get("images") or {})
    return ScriptParts(
        title=f"Rebuild and re-test {TASK_WORDS[task]} '{meta['name']}' v{meta['version']}: {model} "
              f"({len(meta.get('classes') or [])} classes).",
        summary=[f"Trained on image dataset '{source.name}' v{source.version:04d}; recorded test {meta['metric']} = "
                 f"{meta.get('test_score')} on {images.get('test')} images.",
                 "The script checks every image against the lake's SHA-256s, splits them as training did, trains the",
                 "network below with the same settings, keeps the best epoch on the validation images and scores",
                 "the test images once. Training is repeatable on the CPU with the same library versions; on a GPU",
                 "or with other versions expect a close, not identical, score (it runs on the CPU).",
                 *(["", f"REQUIRED: --weights PATH, the weights file training started from ({meta.get('weights_detail')}",
                    "then); the script stops with an error without it."] if from_file else [])])


def _import_helpers(writer: Any, task: str, layout: str) -> str:
    """Import or inline what the script runs (the studio's own data and training code); its image loader."""
    from automlops.vision import datasets as vd
    from automlops.vision.tasks import VisionTask
    from automlops.vision.torchdata import ItemsDataset, eval_transform, make_loader, train_transform
    from automlops.vision.trainer import TrainConfig, evaluate_model, train_model

    for name in ("json", "hashlib"):
        writer.import_module(name)
    writer.import_module("torch")
    writer.import_name("dataclasses", "dataclass")
    writer.import_name("sklearn.model_selection", "train_test_split")
    for helper in (runtime.parse_args, runtime.log_to_mlflow, runtime.say, runtime.stop, vd.ImageItem, vd._unwrap, vd.visible,
                   vd.files_under, vd.relpath, ItemsDataset, make_loader, train_transform, eval_transform,
                   TrainConfig, train_model, evaluate_model, VisionTask):
        writer.inline(helper)
    writer.import_name("typing", "Any")
    writer.libraries.add("torchmetrics")  # imported inside MetricSet (the test metrics)
    if task == "detection":
        writer.libraries.add("pycocotools")  # torchmetrics' mAP backend
    if layout == "imagefolder":
        return LOAD_IMAGES
    writer.inline(vd.child_folder)
    if layout in ("coco", "voc"):
        writer.import_name("PIL", "Image", "PILImage")
    if layout == "voc":
        writer.import_name("xml.etree", "ElementTree")
    return LOADERS[layout]


def _settings(meta: dict[str, Any], source: DataSource, writer: Any, task: Any, head: str,
              from_file: bool) -> dict[str, str]:
    """The constants at the top of the script: the data, the network's settings, the recorded split."""
    params = dict(meta.get("best_params") or {})
    images = dict(meta.get("images") or {})
    epochs, epochs_note = _epochs(meta)
    e = writer.expression
    return {
        **common_settings(meta, source, writer),
        "DATA_ROOT": e(source.how["root"]) + "  # the images, inside the version folder",
        "TASK": f"VisionTask({e(task.name)}, {e(task.metric)}, {e(task.metric_names)}, has_val_loss={task.has_val_loss})",
        "IMAGE_SIZE": e(int((meta.get("input_size") or [224])[0])),
        "HEAD": e(head) + "  # the module replaced for the dataset's classes",
        "FREEZE": e(float(params.get("freeze", 0.0))),
        "BATCH_SIZE": e(int(params.get("batch_size", 16))),
        "LR": e(float(params["lr"])),
        "WEIGHT_DECAY": e(float(params["weight_decay"])),
        "OPTIMIZER": e(str(params["optimizer"])),
        "EPOCHS": e(epochs) + epochs_note,
        "PATIENCE": e(PATIENCE) + "  # the engine's default",
        "VAL_SIZE": e(VAL_SIZE),
        "TEST_SIZE": e(TEST_SIZE),
        "RECORDED_SPLIT": e((int(images.get("train", 0)), int(images.get("validation", 0)),
                             int(images.get("test", 0)))) + "  # training, validation, test images",
        **({"WEIGHTS_DETAIL": e(str(meta.get("weights_detail") or "a state_dict file"))} if from_file else {}),
    }
