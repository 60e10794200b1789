"""``automlops models upload`` and ``automlops models retrain``: the two model sources besides a search.

    automlops models upload model.skops --name churn --dataset lake:churn@v2 --target churned
    automlops models upload model.pkl ... --trust-pickle      a pickle is code: only files you trust
    automlops models retrain churn@v3 --data lake:churn@v4 [--name churn] [--cold] [--json]

An upload is validated on the lake dataset (its columns, a prediction on every row, a score)
before it is saved; a retrain fits the saved pipeline again on another lake version and logs a
new MLflow run whose parent is ``NAME@vN``. With ``--json`` the last stdout line is one object:
``name``, ``version``, ``parent``, ``metric``, ``test_score``, ``run_id`` (and a few more).
Heavy libraries are imported when a command runs, never while the parser is built.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from automlops.errors import ConfigError

__all__ = ["add_commands", "cmd_retrain", "cmd_upload", "parse_lake_ref"]

JSON_KEYS = ("name", "version", "parent", "source", "metric", "test_score", "run_id", "dataset")


def add_commands(models_sub: Any) -> None:
    """Add ``upload`` and ``retrain`` to the ``automlops models`` subcommands."""
    upload = models_sub.add_parser("upload", help="validate a model file (.skops; .pkl/.joblib when trusted) on a "
                                                  "lake dataset and save it as a new version")
    upload.add_argument("file", help="the model file: .skops (preferred), .pkl or .joblib")
    upload.add_argument("--name", required=True, help="save it as this model name")
    upload.add_argument("--dataset", required=True, help="the lake dataset to validate on: lake:NAME[@vK]")
    upload.add_argument("--target", required=True, help="the column the model predicts")
    upload.add_argument("--trust-pickle", action="store_true",
                        help="load a .pkl/.joblib file: a pickle runs code when loaded, use only files you trust")
    upload.add_argument("--json", action="store_true", help="end with one JSON line (name, version, metric...)")
    upload.set_defaults(handler=cmd_upload)
    retrain = models_sub.add_parser("retrain", help="fit a saved model's pipeline again on another lake version")
    retrain.add_argument("ref", help="NAME@vN: the saved version to start from (NAME alone: its latest)")
    retrain.add_argument("--data", required=True, help="the new training data: lake:NAME[@vK]")
    retrain.add_argument("--name", help="save as this model name (default: the parent's)")
    retrain.add_argument("--cold", action="store_true", help="refit from scratch instead of warm-starting")
    retrain.add_argument("--seed", type=int, default=0, help="seed of the held-out split (default 0)")
    retrain.add_argument("--json", action="store_true", help="end with one JSON line (name, version, parent...)")
    retrain.set_defaults(handler=cmd_retrain)


def parse_lake_ref(text: str) -> tuple[str, str | None]:
    """``lake:iris@v2`` (or ``iris@v2``) → ``("iris", "v2")``; no version → the latest."""
    name, _, version = text.removeprefix("lake:").partition("@")
    if not name:
        raise ConfigError(f"name a lake dataset as lake:NAME or lake:NAME@vK, not {text!r}")
    return name, version or None


def cmd_upload(args: argparse.Namespace) -> int:
    from automlops.config import get_settings
    from automlops.tabular.upload import SCORE_NOTE, import_model

    settings = get_settings()
    dataset, version = parse_lake_ref(args.dataset)
    notes: list[str] = []
    tracker = _tracker(settings, notes)
    stored = import_model(Path(args.file), name=args.name, dataset=dataset,
                          dataset_version=_version(version), target=args.target, trust_pickle=args.trust_pickle,
                          settings=settings, tracker=tracker, notes=notes, tracking=tracker is not None)
    meta = stored.meta
    print(f"saved {stored.ref}: {meta.get('best_model')} ({meta.get('task')}), {meta.get('metric')} = "
          f"{_number(meta.get('test_score'))} on {_dataset(meta)} ({SCORE_NOTE})")
    return _finish(args, stored, notes)


def cmd_retrain(args: argparse.Namespace) -> int:
    from automlops.config import get_settings
    from automlops.tabular.retrain import retrain_saved

    settings = get_settings()
    dataset, version = parse_lake_ref(args.data)
    notes: list[str] = []
    tracker = _tracker(settings, notes)
    stored, result = retrain_saved(args.ref, dataset=dataset, dataset_version=version, name=args.name,
                                   settings=settings, tracker=tracker, seed=args.seed, warm_start=not args.cold,
                                   notes=notes, tracking=tracker is not None)
    meta = stored.meta
    print(f"saved {stored.ref} from {meta.get('parent')} trained on {_dataset(meta)}: test {meta.get('metric')} = "
          f"{_number(result.test_score)} on {result.n_test_rows} held-out rows")
    print(f"  {meta.get('retrain')}")
    return _finish(args, stored, notes)


def _version(version: str | None) -> int | None:
    if version is None or version.lower() == "latest":
        return None
    digits = version.lower().removeprefix("v")
    if not digits.isdigit():
        raise ConfigError(f"invalid dataset version {version!r}; use 3, v3 or v0003")
    return int(digits)


def _tracker(settings: Any, notes: list[str]) -> Any:
    """The tracker to log to; ``None`` (and a note) when the remote server does not answer."""
    from automlops.cli_training import tracker_for_training

    tracker, note = tracker_for_training(settings)
    if note:
        notes.append(note)
    return tracker


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) and math.isfinite(value) else "n/a"


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _dataset(meta: dict[str, Any]) -> str:
    data = meta.get("dataset") or {}
    return f"{data.get('name')}@v{data.get('version')}"


def _finish(args: argparse.Namespace, stored: Any, notes: list[str]) -> int:
    for note in notes:
        print(f"automlops: note: {' '.join(str(note).split())}", file=sys.stderr)
    if args.json:
        meta = stored.meta
        values = {"name": stored.name, "version": stored.version, "parent": meta.get("parent"),
                  "source": meta.get("source"), "metric": meta.get("metric"), "test_score": _finite(meta.get("test_score")),
                  "run_id": meta.get("run_id"), "dataset": _dataset(meta)}
        print(json.dumps({k: values[k] for k in JSON_KEYS}, allow_nan=False, default=str))
    return 0
