"""Does the vision engine cost anything over a plain PyTorch loop? Images/s and quality, side by side.

For each model, two **contenders** train and predict with the same network, the same images, the
same split, the same batch size, the same ``transforms.v2`` augmentations and the same
hyperparameters (AdamW, linear warm-up then cosine, per step):

* **ours** — what one search trial runs: ``VisionEngine.prepare`` then ``VisionEngine.evaluate``
  (model build, our ``ItemsDataset``/``make_loader`` loaders, ``train_model`` with its per-epoch
  validation by torchmetrics and its copy of the best epoch's weights). Early stopping is set out
  of reach (patience = epochs) so both sides train every epoch. Inference is
  ``predict.predict_images`` on decoded Pillow images (what the API and ``predict_paths`` call).
* **plain** — torchvision's reference recipe written out by hand, importing nothing of ours: the
  torchvision constructor, ``ImageFolder``/a small file ``Dataset``, ``zero_grad``/``backward``/
  ``step``, ``loss.item()`` per batch, a validation pass per epoch; inference in
  ``model.eval()`` + ``torch.inference_mode()`` with the same outputs (probabilities, masks at the
  image's size, boxes above 0.5).

**train img/s** is training images × epochs / wall time of the whole training call (model build,
loaders, every epoch's training *and* validation pass); **loop** is the same over the training
batches alone (ours: ``EpochRecord.train_seconds``). **infer img/s**: held-out images through the
prediction path, from decoded images to answers, on the CPU even with ``--device cuda`` (a shipped
model predicts there: ``predict_images`` has no device option). Each contender lives in its own process (spawned
once per model, so its peak RSS is its own); one warm-up on a few batches, then the two alternate
(ours first, then plain first, ...): img/s are medians of ``--repeats`` runs, and a **ratio** is the
median of the ratios of runs made back to back (a change of the machine's load between runs
cancels out); the CPU-time ratio (``time.process_time``) is steadier still on a shared machine,
where one run's ratios still wander by about ±5 %. ``torch.set_num_threads`` is the same in both
(default 1 on a CPU).

The **metric** (accuracy, mIoU, mAP@0.5) is computed on the same test images by one function of
this file for both: ours from the best epoch it kept, plain from its last epoch. Both start from
the same seed and draw the same random numbers (every loader has a seeded generator), so they
train the *same* weights: "same weights" in the table means ours kept the last epoch and its
weights equal the plain loop's. Targets (issue 12): ours/plain ≥ 0.95× and our metric ≥ the plain
loop's. Random initialisation (this machine has no pretrained weights).

    python benchmarks/vision_throughput.py --quick          # 4 light models, small data (~5 min on 2 cores)
    python benchmarks/vision_throughput.py                  # + 64 px classification, more data/epochs (~20 min)
    python benchmarks/vision_throughput.py --heavy          # + resnet50, deeplabv3_resnet50, fasterrcnn v2
    python benchmarks/vision_throughput.py --device cuda --threads 4 --only resnet18,mobilenet_v2

Results: ``benchmarks/results/vision_throughput.{json,md}`` (``--quick``: ``vision_throughput_quick.*``).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
RESULTS = Path(__file__).resolve().parent / "results"
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
IGNORE = 255
METRIC = {"image_classification": "accuracy", "segmentation": "miou", "detection": "map_50"}


@dataclass(frozen=True)
class Case:
    model: str
    task: str
    size: int  # classification/segmentation input side; detection: Faster R-CNN's internal shorter side
    batch: int
    epochs: int
    data: str  # sub-folder of the data directory
    lr: float = 1e-3
    weight_decay: float = 1e-4

    @property
    def label(self) -> str:
        return f"{self.model}@{self.size}"


def cases(quick: bool, heavy: bool) -> list[Case]:
    """Quick: a few epochs on small sets (speed and a smoke test of quality). Full: more images and epochs."""
    if quick:
        return [Case("resnet18", "image_classification", 32, 16, 3, "digits32"),
                Case("mobilenet_v2", "image_classification", 32, 16, 3, "digits32"),
                Case("deeplabv3_mobilenet_v3_large", "segmentation", 64, 8, 3, "shapes_seg"),
                Case("fasterrcnn_mobilenet_v3_large_320_fpn", "detection", 160, 4, 1, "shapes_det")]
    out = [Case("resnet18", "image_classification", 32, 16, 5, "digits32"),
           Case("mobilenet_v2", "image_classification", 32, 16, 5, "digits32"),
           Case("resnet18", "image_classification", 64, 16, 3, "digits64"),
           Case("mobilenet_v2", "image_classification", 64, 16, 3, "digits64"),
           Case("deeplabv3_mobilenet_v3_large", "segmentation", 64, 8, 5, "shapes_seg"),
           Case("fasterrcnn_mobilenet_v3_large_320_fpn", "detection", 320, 4, 2, "shapes_det")]
    if heavy:
        out += [Case("resnet50", "image_classification", 64, 16, 3, "digits64"),
                Case("deeplabv3_resnet50", "segmentation", 64, 8, 3, "shapes_seg"),
                Case("fasterrcnn_resnet50_fpn_v2", "detection", 320, 4, 2, "shapes_det")]
    return out


def write_data(root: Path, quick: bool, names: set[str]) -> None:
    """The sample sets the chosen cases need (digits: scikit-learn's scans; shapes: drawn, exact answers)."""
    from automlops.vision.samples import (
        write_digits_imagefolder,
        write_shapes_detection,
        write_shapes_segmentation,
    )

    per_class, n_seg, n_det = (12, 32, 12) if quick else (30, 64, 24)
    for size in (32, 64):
        if f"digits{size}" in names:
            write_digits_imagefolder(root / f"digits{size}", per_class=per_class, size=size)
    if "shapes_seg" in names:
        write_shapes_segmentation(root / "shapes_seg", n=n_seg, size=64, seed=0)
    if "shapes_det" in names:
        write_shapes_detection(root / "shapes_det", n=n_det, size=64, seed=0)


# ------------------------------------------------------------------------------------------ shared helpers
def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def score(model: Any, loader: Any, task: str, n_classes: int, device: Any) -> float:
    """The headline metric on one split, computed the same way for both contenders."""
    import torch

    model.eval()
    if task == "detection":
        from torchmetrics.detection import MeanAveragePrecision

        m_ap = MeanAveragePrecision(iou_type="bbox", backend="pycocotools")
    confusion = torch.zeros(n_classes, n_classes, dtype=torch.int64)
    with torch.inference_mode():
        for images, targets in loader:
            if task == "detection":
                outputs = model([i.to(device) for i in images])
                m_ap.update([{k: v.cpu() for k, v in o.items()} for o in outputs],
                            [{"boxes": t["boxes"].as_subclass(torch.Tensor).cpu(), "labels": t["labels"].cpu()}
                             for t in targets])
                continue
            out = model(images.to(device))
            pred = (out["out"] if task == "segmentation" else out).argmax(1).cpu().reshape(-1)
            truth = torch.as_tensor(targets).reshape(-1)
            keep = truth != IGNORE
            confusion += torch.bincount(truth[keep] * n_classes + pred[keep],
                                        minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    if task == "detection":
        return max(0.0, float(m_ap.compute()["map_50"]))
    if task == "image_classification":
        return float(confusion.diag().sum() / confusion.sum().clamp(min=1))
    inter = confusion.diag().double()
    union = confusion.sum(0).double() + confusion.sum(1).double() - inter
    return float((inter[union > 0] / union[union > 0]).mean())


def fingerprint(state: Any) -> float:
    """One number per set of weights: equal numbers mean (in practice) the very same weights."""
    return float(sum(t.double().abs().sum() for t in state.values() if t.is_floating_point()))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------------------ contender: ours
class Ours:
    """The engine's own path (see the module docstring)."""

    def setup(self, case: Case, root: Path, split: dict[str, Any], device: str) -> dict[str, Any]:
        from automlops.search.engine import Candidate, DecisionLog
        from automlops.vision.datasets import load_image_dataset
        from automlops.vision.engine import VisionEngine

        self.case = case
        self.data = load_image_dataset(root / case.data, case.task)
        self.engine = VisionEngine(case.task, models=[case.model], epochs=case.epochs, seed=0, device=device,
                                   weights="none", image_size=case.size, batch_size=case.batch,
                                   patience=case.epochs, download_weights=False)
        self.engine.prepare(self.data, DecisionLog(lambda _e: None, time.monotonic, lambda: None))
        mine = {k: [self.data.items[i].path for i in getattr(self.engine, f"{k}_idx")] for k in split}
        if mine != split:
            raise RuntimeError("the engine's split differs from the one given to the plain loop")
        self.full = (self.engine.train_idx, self.engine.val_idx)
        self.candidate = Candidate(case.model, {"lr": case.lr, "weight_decay": case.weight_decay,
                                                "batch_size": case.batch, "optimizer": "adamw", "freeze": 0.0})
        return {"rss_after_setup_mib": _rss_now_mib()}

    def train(self, epochs: int, subset: int | None = None) -> dict[str, Any]:
        engine = self.engine
        engine.train_idx, engine.val_idx = (self.full[0][:subset], self.full[1][:subset]) if subset else self.full
        engine.epochs = engine.patience = epochs
        engine._states.clear()  # the engine keeps only a better state of a model; we want this run's
        started, cpu = time.perf_counter(), time.process_time()
        engine.evaluate(self.candidate, None, None)
        _sync(engine.device)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        engine.train_idx, engine.val_idx = self.full
        _, self.state, self.outcome = engine._states[engine._key(self.candidate)]
        return {"wall": wall, "cpu": cpu, "loop": sum(r.train_seconds for r in self.outcome.history),
                "images": sum(r.images for r in self.outcome.history), "best_epoch": self.outcome.best_epoch}

    def _trained(self) -> Any:
        model = self.engine.build(self.candidate)
        model.load_state_dict(self.state)
        return model.to(self.engine.device).eval()

    def quality(self) -> dict[str, Any]:
        from automlops.vision.torchdata import ItemsDataset, eval_transform, make_loader
        from automlops.vision.trainer import evaluate_model

        engine, model = self.engine, self._trained()
        test = make_loader(ItemsDataset(self.data, engine.test_idx, eval_transform(engine.task_name,
                                                                                   engine.image_size)),
                           batch_size=16, shuffle=False)
        own = evaluate_model(model, engine.task, test, engine.n_classes, engine.device)[engine.task.metric]
        return {"metric": score(model, test, engine.task_name, engine.n_classes, engine.device),
                "own_metric": float(own), "best_epoch": self.outcome.best_epoch,
                "fingerprint": fingerprint(self.state)}

    def save_state(self, path: str) -> None:
        import torch

        torch.save(self.state, path)

    def prepare_inference(self, paths: list[str]) -> int:
        from automlops.vision.finalize import _meta
        from automlops.vision.torchdata import load_rgb

        self.model = self._trained().to("cpu")  # predict_images has no device: a shipped model predicts on the CPU
        self.meta = _meta(self.engine, self.candidate, self.model, self.outcome, {})
        self.images = [load_rgb(self.data.root / p) for p in paths]
        return len(self.images)

    def infer(self, passes: int) -> dict[str, Any]:
        from automlops.vision.predict import predict_images

        batch, n = self.case.batch, 0
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(passes):
            for start in range(0, len(self.images), batch):
                n += len(predict_images(self.model, self.meta, self.images[start:start + batch]))
        return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "images": n}


# ------------------------------------------------------------------------------------------ contender: plain
def _plain_transforms(task: str, size: int, train: bool) -> Any:
    import torch
    from torchvision.transforms import v2

    if task == "detection":
        steps: list[Any] = [v2.ToImage()]
        if train:
            steps += [v2.RandomHorizontalFlip(), v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes()]
        return v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True)])
    scale = (0.6, 1.0) if task == "image_classification" else (0.5, 1.0)
    steps = [v2.ToImage()]
    steps += ([v2.RandomResizedCrop(size, scale=scale, antialias=True), v2.RandomHorizontalFlip()] if train else
              [v2.Resize((size, size), antialias=True)])
    return v2.Compose([*steps, v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)])


class _Files:
    """Segmentation (``images/`` + ``masks/``) or COCO detection files, the torchvision-reference way."""

    def __init__(self, root: Path, task: str, paths: list[str], transform: Any) -> None:
        self.root, self.task, self.paths, self.transform = root, task, paths, transform
        if task == "detection":
            coco = json.loads((root / "annotations.json").read_text())
            names = {img["id"]: img["file_name"] for img in coco["images"]}
            self.boxes: dict[str, list[Any]] = {Path(p).name: [] for p in paths}
            for ann in coco["annotations"]:
                if (name := names[ann["image_id"]]) in self.boxes:
                    x, y, w, h = ann["bbox"]
                    self.boxes[name].append(([x, y, x + w, y + h], ann["category_id"]))
            self.sizes = {img["file_name"]: (img["height"], img["width"]) for img in coco["images"]}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Any:
        import numpy as np
        import torch
        from PIL import Image
        from torchvision import tv_tensors

        path = self.root / self.paths[i]
        with Image.open(path) as raw:
            image = raw.convert("RGB")
        if self.task == "segmentation":
            with Image.open(self.root / "masks" / Path(path.name).with_suffix(".png")) as m:
                mask = tv_tensors.Mask(torch.as_tensor(np.array(m), dtype=torch.int64))
            return self.transform(image, mask)
        found = self.boxes[path.name]
        target = {"boxes": tv_tensors.BoundingBoxes(torch.tensor([b for b, _ in found], dtype=torch.float32
                                                                 ).reshape(-1, 4), format="XYXY",
                                                    canvas_size=self.sizes[path.name]),
                  "labels": torch.tensor([c for _, c in found], dtype=torch.int64)}
        return self.transform(image, target)


def _collate_detection(batch: list[Any]) -> Any:
    return tuple(zip(*batch, strict=True))


def _plain_model(case: Case, n_classes: int) -> Any:
    import torchvision.models as tvm

    if case.task == "image_classification":
        return getattr(tvm, case.model)(num_classes=n_classes)
    if case.task == "segmentation":
        return getattr(tvm.segmentation, case.model)(weights=None, weights_backbone=None, num_classes=n_classes,
                                                     aux_loss=False)
    return getattr(tvm.detection, case.model)(weights=None, weights_backbone=None, num_classes=n_classes + 1,
                                              min_size=case.size, max_size=max(case.size, int(case.size * 4 / 3)))


class Plain:
    """torchvision's reference recipe, by hand (see the module docstring)."""

    def setup(self, case: Case, root: Path, split: dict[str, Any], device: str) -> dict[str, Any]:
        import torch

        self.case, self.root, self.split = case, root / case.data, split
        self.device = torch.device("cuda" if device != "cpu" and torch.cuda.is_available() else "cpu")
        if case.task == "image_classification":
            from torchvision.datasets import ImageFolder

            self.classes = ImageFolder(self.root).classes
        elif case.task == "segmentation":
            self.classes = (self.root / "classes.txt").read_text().split()
        else:
            self.classes = [c["name"] for c in json.loads((self.root / "annotations.json").read_text())["categories"]]
        self.workers: list[int] = split.pop("_workers", [0, 0])  # DataLoader workers (train, val): the engine's rule
        return {"rss_after_setup_mib": _rss_now_mib()}

    def _dataset(self, paths: list[str], train: bool) -> Any:
        transform = _plain_transforms(self.case.task, self.case.size, train)
        if self.case.task != "image_classification":
            return _Files(self.root, self.case.task, paths, transform)
        from torch.utils.data import Subset
        from torchvision.datasets import ImageFolder

        folder = ImageFolder(self.root, transform=transform)
        index = {Path(p).relative_to(self.root).as_posix(): i for i, (p, _) in enumerate(folder.samples)}
        return Subset(folder, [index[p] for p in paths])

    def _loader(self, paths: list[str], train: bool, batch: int) -> Any:
        import torch
        from torch.utils.data import DataLoader

        detection, workers = self.case.task == "detection", self.workers[0 if train else 1]
        return DataLoader(self._dataset(paths, train), batch_size=batch, shuffle=train,
                          generator=torch.Generator().manual_seed(0), num_workers=workers,
                          persistent_workers=workers > 0, pin_memory=self.device.type == "cuda",
                          collate_fn=_collate_detection if detection else None,
                          drop_last=train and not detection and len(paths) > batch)

    def train(self, epochs: int, subset: int | None = None) -> dict[str, Any]:
        import torch

        case, device, detection = self.case, self.device, self.case.task == "detection"
        train_paths, val_paths = (self.split["train"][:subset], self.split["val"][:subset]) if subset else (
            self.split["train"], self.split["val"])
        started, cpu = time.perf_counter(), time.process_time()
        torch.manual_seed(0)
        batch = max(2, min(case.batch, len(train_paths)))
        train_loader = self._loader(train_paths, True, batch)
        val_loader = self._loader(val_paths, False, max(batch, 16))
        model = _plain_model(case, len(self.classes)).to(device)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=case.lr,
                                      weight_decay=case.weight_decay)
        total = epochs * len(train_loader)
        warmup = max(1, int(0.1 * total))
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [
            torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / warmup, total_iters=max(1, warmup - 1)),
            torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup))], [warmup])
        amp = device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        loop, seen = 0.0, 0
        for _epoch in range(epochs):
            model.train()
            t0 = time.perf_counter()
            for images, targets in train_loader:
                with torch.autocast(device.type, enabled=amp):
                    if detection:
                        images = [i.to(device, non_blocking=True) for i in images]
                        targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
                        loss = sum(model(images, targets).values())
                    else:
                        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
                        out = model(images)
                        loss = torch.nn.functional.cross_entropy(out["out"] if case.task == "segmentation" else out,
                                                                 targets, ignore_index=IGNORE)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                loss_value = loss.item()  # the reference logs it every batch (and stops on a non-finite loss)
                if not math.isfinite(loss_value):
                    raise RuntimeError(f"loss is {loss_value}")
                seen += len(targets)
            _sync(device)
            loop += time.perf_counter() - t0
            score(model, val_loader, case.task, len(self.classes), device)  # the reference validates each epoch
        _sync(device)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        self.model = model
        return {"wall": wall, "cpu": cpu, "loop": loop, "images": seen, "best_epoch": epochs}

    def quality(self) -> dict[str, Any]:
        test = self._loader(self.split["test"], False, 16)
        return {"metric": score(self.model, test, self.case.task, len(self.classes), self.device),
                "best_epoch": None, "fingerprint": fingerprint(self.model.state_dict())}

    def prepare_inference(self, paths: list[str], state_path: str) -> int:
        import torch
        from PIL import Image

        self.model = _plain_model(self.case, len(self.classes))
        self.model.load_state_dict(torch.load(state_path, weights_only=True))
        self.model.eval()  # on the CPU, as ours (predict_images has no device option)
        self.images = []
        for p in paths:
            with Image.open(self.root / p) as raw:
                self.images.append(raw.convert("RGB"))
        self.transform = _plain_transforms(self.case.task, self.case.size, train=False)
        return len(self.images)

    def infer(self, passes: int) -> dict[str, Any]:
        import torch

        batch, task, device, n = self.case.batch, self.case.task, torch.device("cpu"), 0
        started, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            for _ in range(passes):
                for start in range(0, len(self.images), batch):
                    chunk = self.images[start:start + batch]
                    answers: list[Any] = []
                    if task == "detection":
                        outputs = self.model([self.transform(img).to(device) for img in chunk])
                        answers += [{k: v[o["scores"] >= 0.5].cpu() for k, v in o.items()} for o in outputs]
                    else:
                        out = self.model(torch.stack([self.transform(img) for img in chunk]).to(device))
                        if task == "image_classification":
                            answers += list(out.softmax(1).cpu().numpy())
                        else:
                            answers += [torch.nn.functional.interpolate(o[None], size=(img.height, img.width),
                                                                       mode="bilinear")[0].argmax(0).byte().cpu()
                                       .numpy() for o, img in zip(out["out"], chunk, strict=True)]
                    n += len(answers)
        _sync(device)
        return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "images": n}


# ------------------------------------------------------------------------------------------ worker processes
def _rss_now_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _worker(kind: str, threads: int, conn: Any) -> None:
    """One contender in its own process: answers (method, kwargs) messages until told to stop."""
    import torch

    warnings.filterwarnings("ignore")
    torch.set_num_threads(threads)
    contender: Any = Ours() if kind == "ours" else Plain()
    while True:
        method, kwargs = conn.recv()
        if method == "stop":
            conn.send({"peak_rss_mib": _peak_rss_mib()})
            return
        try:
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            answer = getattr(contender, method)(**kwargs)
            if isinstance(answer, dict) and "wall" in answer:  # page faults: a sign of memory churn
                answer["minor_faults"] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
            conn.send(("ok", answer))
        except Exception:  # noqa: BLE001 - the parent reports it and moves on to the next model
            conn.send(("error", traceback.format_exc()))


class Contenders:
    """Both contenders of one case, spawned fresh (``with`` ends them)."""

    def __init__(self, threads: int) -> None:
        ctx = mp.get_context("spawn")
        self.conns: dict[str, Any] = {}
        self.procs: list[Any] = []
        for kind in ("ours", "plain"):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(kind, threads, child), daemon=True)
            proc.start()
            self.conns[kind], self.procs = parent, [*self.procs, proc]

    def call(self, kind: str, method: str, **kwargs: Any) -> Any:
        self.conns[kind].send((method, kwargs))
        status, value = self.conns[kind].recv()
        if status != "ok":
            raise RuntimeError(f"{kind}.{method} failed:\n{value}")
        return value

    def __enter__(self) -> Contenders:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.peak: dict[str, float] = {}
        for kind, conn in self.conns.items():
            try:
                conn.send(("stop", {}))
                self.peak[kind] = conn.recv()["peak_rss_mib"]
            except (OSError, EOFError):
                pass
        for proc in self.procs:
            proc.join(timeout=30)


# ------------------------------------------------------------------------------------------ one case
def _split(case: Case, root: Path) -> dict[str, list[str]]:
    from automlops.search.engine import DecisionLog
    from automlops.vision.datasets import load_image_dataset
    from automlops.vision.engine import VisionEngine

    data = load_image_dataset(root / case.data, case.task)
    engine = VisionEngine(case.task, models=[case.model], epochs=1, seed=0, weights="none", image_size=case.size,
                          batch_size=case.batch, download_weights=False, device="cpu")
    engine.prepare(data, DecisionLog(lambda _e: None, time.monotonic, lambda: None))
    return {k: [data.items[i].path for i in getattr(engine, f"{k}_idx")] for k in ("train", "val", "test")}


def _alternate(rep: int, first: str = "ours") -> tuple[str, str]:
    return ("ours", "plain") if (rep % 2 == 0) == (first == "ours") else ("plain", "ours")


def run_case(case: Case, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    from automlops.vision.torchdata import worker_count

    started = time.perf_counter()
    split = _split(case, root)
    held_out = split["val"] + split["test"]
    workers = [worker_count(len(split["train"])), worker_count(len(split["val"]))]
    if args.plain_workers is not None:
        workers = [args.plain_workers, args.plain_workers]
    kinds = ("ours", "plain")
    with Contenders(args.threads) as pair:
        setup = {k: pair.call(k, "setup", case=case, root=root, device=args.device,
                              split={**split, **({"_workers": workers} if k == "plain" else {})}) for k in kinds}
        for kind in kinds:  # warm-up: one epoch on two batches, each side
            pair.call(kind, "train", epochs=1, subset=2 * case.batch)
        train: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for rep in range(args.repeats):
            for kind in _alternate(rep):
                train[kind].append(pair.call(kind, "train", epochs=case.epochs))
            print(f"  train run {rep + 1}: " + ", ".join(
                f"{k} {train[k][-1]['images'] / train[k][-1]['wall']:.1f} img/s" for k in kinds), flush=True)
        quality = {k: pair.call(k, "quality") for k in kinds}
        state = str(root / f"state-{case.model}.pt")
        pair.call("ours", "save_state", path=state)  # both predict with the same (our best) weights
        pair.call("ours", "prepare_inference", paths=held_out)
        pair.call("plain", "prepare_inference", paths=held_out, state_path=state)
        probe = [pair.call(k, "infer", passes=1) for k in kinds]  # also the warm-up
        passes = max(1, math.ceil(args.infer_seconds / max(1e-3, probe[0]["wall"])))
        infer: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for rep in range(args.infer_pairs):
            for kind in _alternate(rep, first="plain"):
                infer[kind].append(pair.call(kind, "infer", passes=passes))
    print("  inference: " + ", ".join(f"{k} {statistics.median(r['images'] / r['wall'] for r in infer[k]):.1f} "
                                      "img/s" for k in kinds), flush=True)

    def med(runs: list[dict[str, Any]], key: str = "wall") -> float:
        return statistics.median(r["images"] / r[key] for r in runs)

    row: dict[str, Any] = {"case": asdict(case), "images": {k: len(v) for k, v in split.items()},
                           "plain_loader_workers": workers, "inference_images": passes * len(held_out),
                           "seconds": time.perf_counter() - started}
    for kind in kinds:
        row[kind] = {"train_ips": med(train[kind]), "train_cpu_ips": med(train[kind], "cpu"),
                     "loop_ips": med(train[kind], "loop"), "infer_ips": med(infer[kind]),
                     "infer_cpu_ips": med(infer[kind], "cpu"), **quality[kind],
                     "peak_rss_mib": pair.peak.get(kind), "rss_after_setup_mib": setup[kind]["rss_after_setup_mib"],
                     "train_runs": train[kind], "infer_runs": infer[kind]}
    for key, runs, time_key in (("train_ips", train, "wall"), ("train_cpu_ips", train, "cpu"),
                                ("loop_ips", train, "loop"), ("infer_ips", infer, "wall"),
                                ("infer_cpu_ips", infer, "cpu")):
        # the median of paired ratios: each pair ran back to back, so a change of load between runs cancels
        row[f"{key}_ratio"] = statistics.median((o["images"] / o[time_key]) / (p["images"] / p[time_key])
                                                for o, p in zip(runs["ours"], runs["plain"], strict=True))
    row["same_weights"] = (row["ours"]["best_epoch"] == case.epochs
                           and row["ours"]["fingerprint"] == row["plain"]["fingerprint"])
    return row


# ------------------------------------------------------------------------------------------ report
def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| model | task | px | batch | train img/s ours | plain | ratio (CPU-time ratio) | loop ratio "
            "| infer img/s ours | plain | ratio (CPU-time ratio) | metric (epochs) | ours (best epoch) | plain "
            "(last) | peak RSS MiB ours / plain |\n|" + "---|" * 15)
    lines = [head]
    for r in rows:
        c, o, p = r["case"], r["ours"], r["plain"]
        same = ", same weights" if r["same_weights"] else ""
        lines.append(f"| {c['model']} | {c['task'].replace('image_', '')} | {c['size']} | {c['batch']} | "
                     f"{o['train_ips']:.1f} | {p['train_ips']:.1f} | {r['train_ips_ratio']:.2f} "
                     f"({r['train_cpu_ips_ratio']:.2f}) | {r['loop_ips_ratio']:.2f} | {o['infer_ips']:.1f} | "
                     f"{p['infer_ips']:.1f} | {r['infer_ips_ratio']:.2f} ({r['infer_cpu_ips_ratio']:.2f}) | "
                     f"{METRIC[c['task']]} ({c['epochs']}) | {o['metric']:.3f} ({o['best_epoch']}{same}) | "
                     f"{p['metric']:.3f} | {o['peak_rss_mib'] or 0:.0f} / {p['peak_rss_mib'] or 0:.0f} |")
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        label = f"{r['case']['model']}@{r['case']['size']}"
        slow = [k for k in ("train", "infer") if r[f"{k}_ips_ratio"] < 0.95]
        slow_cpu = [k for k in ("train", "infer") if r[f"{k}_cpu_ips_ratio"] < 0.95]
        worse = r["ours"]["metric"] < r["plain"]["metric"] - 1e-9
        out.append(f"{label}: speed {'OK' if not slow else 'BELOW 0.95x (wall) in ' + ', '.join(slow)}"
                   f"{'' if not slow_cpu else '; BELOW 0.95x (CPU time) in ' + ', '.join(slow_cpu)}; "
                   f"metric {'OK' if not worse else 'LOWER than the plain loop'}")
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 light models, small data, few epochs")
    parser.add_argument("--heavy", action="store_true", help="also resnet50, deeplabv3_resnet50, fasterrcnn v2")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads in each contender (default: 1 on a CPU, where a shared 2-core box is "
                             "far steadier with one; all cores with CUDA)")
    parser.add_argument("--repeats", type=int, default=3, help="timed training runs per contender (median)")
    parser.add_argument("--infer-seconds", type=float, default=None, help="length of one inference measurement")
    parser.add_argument("--infer-pairs", type=int, default=None, help="alternated inference measurements per side")
    parser.add_argument("--only", default="", help="comma-separated model names")
    parser.add_argument("--plain-workers", type=int, default=None,
                        help="DataLoader workers of the plain loop (default: the engine's own rule, worker_count)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON results (a .md table beside it); default benchmarks/results/"
                             "vision_throughput[_quick].json")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA GPU here", file=sys.stderr)
        return 2
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.threads = args.threads or ((os.cpu_count() or 1) if args.device == "cuda" else 1)
    args.infer_seconds = args.infer_seconds or (0.5 if args.quick else 1.0)
    args.infer_pairs = args.infer_pairs or (10 if args.quick else 15)
    args.out = args.out or RESULTS / f"vision_throughput{'_quick' if args.quick else ''}.json"
    chosen = [c for c in cases(args.quick, args.heavy) if not args.only or c.model in args.only.split(",")]
    rows, failed = [], []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vision-bench-") as tmp:
        root = Path(tmp)
        write_data(root, args.quick, {c.data for c in chosen})
        for case in chosen:
            print(f"== {case.label} ({case.task}, batch {case.batch}, {case.epochs} epochs, {args.device}, "
                  f"{args.threads} thread(s))", flush=True)
            try:
                rows.append(run_case(case, root, args))
            except Exception as exc:  # noqa: BLE001 - report and go on with the next model
                failed.append(case.label)
                print(f"{case.label} FAILED: {exc}", file=sys.stderr)
    mode = "quick" if args.quick else "full"
    title = (f"Vision engine vs plain PyTorch loop ({mode}; {args.device}; {args.threads} torch thread(s) per "
             f"contender; medians of {args.repeats} alternated training runs and {args.infer_pairs} alternated "
             f"inference runs; "
             f"{time.perf_counter() - started:.0f} s in all)")
    table = markdown(rows)
    lines = verdict(rows)
    print(f"\n{title}\n\n{table}\n\n" + "\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"title": title, "rows": rows, "failed": failed}, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(f"{title}\n\n{table}\n\n" + "\n".join(f"- {v}" for v in lines) + "\n")
    print(f"\nwritten {args.out} and {args.out.with_suffix('.md').name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
