"""The steps of ``automlops train`` around the search: check, load, track, report.

The order is the point. Every argument is checked before any work (a bad ``--name`` must not
cost a whole training, nor leave an MLflow run behind); the data is read and checked before it
is written (a refused training leaves no new lake version); a remote MLflow server is probed
once, briefly, before the search (a dead server must not eat the time budget in retries).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automlops.core.jsonable import json_line
from automlops.errors import ConfigError, DataError

__all__ = ["check_train_args", "load_training_data", "model_names", "open_training_study", "print_train_summary",
           "search_engine", "tracker_for_training"]


LEADERBOARD_PRINTED = ["rank", "model", "score", "std", "ci_low", "ci_high", "p_next", "lead", "trials", "pruned"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def check_train_args(args: argparse.Namespace) -> Any:
    """Refuse a bad argument before any work: no lake version, no MLflow run, no training.

    Returns the engine that will train (forecasting, clustering, anomaly detection), already
    configured, or ``None`` for classification and regression (the tabular runner).
    """
    from automlops.mlops.lake import NAME_RE
    from automlops.tasks import ENGINE_TASKS

    if args.name is not None and not NAME_RE.fullmatch(args.name):
        raise ConfigError(f"invalid model name {args.name!r} for --name: use 1-64 letters, digits, '_' or '-' "
                          "(no spaces, dots or slashes)")
    if args.n_trials is not None and args.n_trials < 1:
        raise ConfigError(f"--n-trials must be at least 1, got {args.n_trials}")
    if args.task in ENGINE_TASKS:
        return _check_engine_args(args)
    _check_tabular_args(args)
    return None


_ENGINE_ONLY = ("series_id", "horizon", "freq", "reference", "n_clusters", "label", "select_by_label")


def _check_tabular_args(args: argparse.Namespace) -> None:
    from automlops.core.metrics import get_metric
    from automlops.core.problem import TaskType
    from automlops.tabular.zoo import get_model

    if not args.target:
        raise ConfigError("--target is required for classification and regression (clustering and anomaly "
                          "detection need none: --task clustering or --task anomaly)")
    from automlops.tasks import option_flag

    misplaced = [option_flag(name) for name in _ENGINE_ONLY if getattr(args, name) not in (None, False)]
    if args.contamination != "auto":
        misplaced.append("--contamination")
    if misplaced:
        raise ConfigError(f"{', '.join(misplaced)} only apply to --task timeseries, clustering or anomaly")
    for model in model_names(args) or []:
        get_model(model)  # an unknown name answers with the known ones
    if args.metric:
        get_metric(args.metric, TaskType.parse(args.task) if args.task else None)


def _check_engine_args(args: argparse.Namespace) -> Any:
    from automlops.tasks import TrainOptions, build_engine

    if args.validation:
        raise ConfigError(f"--validation does not apply to --task {args.task}: it chooses its own "
                          "(backtest for forecasting, held-out rows for clustering and anomaly detection)")
    if getattr(args, "select", "best") != "best":
        raise ConfigError(f"--select {args.select} applies to classification and regression only; --task {args.task} "
                          "ships its best model (its leaderboard still shows each score's spread and significance)")
    options = TrainOptions(target=args.target, time_column=args.time_column, series_id=args.series_id,
                           horizon=args.horizon, freq=args.freq, contamination=args.contamination,
                           label=args.label, select_by_label=args.select_by_label, reference=args.reference,
                           n_clusters=args.n_clusters, metric=args.metric, preset=args.preset,
                           models=model_names(args), seed=args.seed)
    engine = build_engine(args.task, options)
    for model in options.models or []:
        engine.models.get(model)
    if args.metric:
        engine.metrics.get(args.metric)
    engine.presets.get(args.preset)
    return engine


def search_engine(engine: Any, args: argparse.Namespace, frame: Any, tracker: Any, dataset: dict[str, Any],
                  callbacks: list[Any], started: float, study: Any = None) -> Any:
    """Run ``engine`` through the search driver with the command's budget, search and tracking.

    ``study`` (a :class:`~automlops.distributed.coordinator.TrainingStudy`, from ``--study``) makes
    the search a named, shared study that workers can join.
    """
    from automlops.search.driver import DriverConfig, SearchDriver
    from automlops.tasks import default_model_name

    config = DriverConfig(preset=args.preset, search=args.search, n_trials=args.n_trials,
                          time_budget=args.time_budget, seed=args.seed, started_at=started,
                          run_name=args.name or default_model_name(dataset["name"], args.task), dataset=dataset,
                          **(study.driver_fields() if study is not None else {}))
    engine = study.planned(engine) if study is not None else engine
    return SearchDriver(engine, config, tracker=tracker, callbacks=callbacks).fit(frame)


def open_training_study(args: argparse.Namespace, settings: Any, engine: Any, dataset: dict[str, Any],
                        commit: Callable[[], dict[str, Any]]) -> Any:
    """``--study NAME``: the named study to search (data committed to the lake first); ``None`` without it."""
    from automlops.distributed.coordinator import open_training_study as open_study

    return open_study(args, settings, engine, dataset, commit)


def model_names(args: argparse.Namespace) -> list[str] | None:
    return [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None


def load_training_data(source: str, lake: Any) -> tuple[Any, dict[str, Any], Callable[[], dict[str, Any]]]:
    """The table to train on, its lineage, and ``commit``: what records it in the lake, *after* training.

    A file given by path is parsed now (with the lake's caps) but only added to the lake by
    ``commit``, called once the training succeeded: a training refused for its data (an empty
    target, a single class, a one-row class...) leaves no new version behind. Until then its
    lineage names the version it will most likely get, with the upload's SHA-256.
    """
    from automlops.mlops.ingest import read_csv_robust, read_source_bytes, table_digest
    from automlops.mlops.lake import dataset_name_from_filename

    if source.startswith("lake:"):
        name, _, version = source[5:].partition("@")
        entry = lake.get_version(name, version or None)
        lineage = entry.lineage()
        return lake.load(entry.dataset, entry.version), lineage, lambda: lineage
    path = Path(source)
    if not path.is_file():
        raise DataError(f"no such file: {source}")
    settings, name = lake.settings, dataset_name_from_filename(path.name)
    data = read_source_bytes(path, settings.max_upload_bytes)
    parsed = read_csv_robust(data, max_bytes=settings.max_upload_bytes, max_columns=settings.max_columns,
                             max_field_chars=settings.max_field_chars)
    frame, digest = parsed.frame, table_digest(parsed.frame)
    known = lake.find_raw(name, digest)
    if known is not None:
        lineage = known.lineage()
        return frame, lineage, lambda: lineage
    pending = {"name": name, "version": _next_version(lake, name), "sha256": hashlib.sha256(data).hexdigest(),
               "rows": len(frame), "columns": {str(c): str(t) for c, t in frame.dtypes.items()},
               "source": str(path)}

    def commit() -> dict[str, Any]:
        entry = lake.add_parsed(name, data, parsed, filename=path.name, note="added by 'automlops train'",
                                digest=digest)  # neither parsed nor digested twice: the budget is running
        return dict(entry.lineage())

    return frame, pending, commit


def _next_version(lake: Any, name: str) -> int:
    """The version number a new upload of ``name`` would most likely get (1 for a new dataset)."""
    from automlops.errors import NotFoundError

    try:
        return max((v.version for v in lake.versions(name)), default=0) + 1
    except NotFoundError:
        return 1


def tracker_for_training(settings: Any, time_budget: float | None = None) -> tuple[Any, str | None]:
    """The tracker to log to, or ``None`` and the reason when the remote MLflow server is not usable.

    One short probe (``AUTOMLOPS_TRACKING_PROBE_TIMEOUT``, at most a tenth of the time budget)
    before the search: a dead server would otherwise cost the whole budget in retries. The
    reason goes to stderr as one line and into the run's decisions; the model is still saved.
    """
    from automlops.mlops._probe import bound_http_requests
    from automlops.mlops.tracking import Tracker

    bound_http_requests(settings)
    tracker = Tracker(settings=settings)
    if not tracker.is_remote:
        return tracker, None
    timeout = settings.tracking_probe_timeout
    if time_budget is not None:
        timeout = min(timeout, max(0.5, 0.1 * time_budget))
    status = tracker.check_connection(timeout=timeout)
    if status.ok:
        return tracker, None
    note = f"MLflow tracking is off for this run: {_one_line(status.message)} ({status.state})"
    print(f"automlops: warning: {note}; the model is still trained and saved", file=sys.stderr)
    return None, note


def task_change_note(store: Any, stored: Any) -> str | None:
    """A warning when this version's task differs from the previous version of its name (``None`` if not).

    Clustering and anomaly models get names of their own by default (:func:`automlops.tasks.default_model_name`),
    but ``--name`` can still save one as the next version of a classifier's name: an API following that name
    then swaps the classifier for the new kind of model, and its clients get cluster numbers.
    """
    earlier = [v for v in store.versions(stored.name) if v.version < stored.version]
    before, now = (earlier[-1].meta.get("task") if earlier else None), stored.meta.get("task")
    if before is None or now is None or before == now:
        return None
    return (f"{stored.ref} is {_with_article(now)} model, v{earlier[-1].version} {_with_article(before)} model: the "
            f"API or a 'predict --model {stored.name}' that follows the name now gets the {now} model; give --name "
            "to keep them apart")


def _with_article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def print_train_summary(args: argparse.Namespace, result: Any, stored: Any, dataset: dict[str, Any],
                         started: float) -> None:
    """The leaderboard and a closing line, or with ``--json`` one JSON object as the last stdout line."""
    summary = {"name": stored.name, "version": stored.version,
               "model_path": str(stored.path / stored.meta.get("model_file", "model.joblib")),
               "task": result.problem.task.value, "best_model": result.best_model, "metric": result.problem.metric,
               "val_score": result.val_score, "test_score": result.test_score,
               "wall_seconds": round(time.monotonic() - started, 3), "run_id": result.run_id,
               "val_std": result.val_std, "test_metrics": dict(result.test_metrics), "dataset": dataset}
    if getattr(args, "study", None):  # a named study: where it lives and how many trials it holds now
        summary["study"] = _study_summary(args, result)
    if args.json:
        print(json_line(summary))
    else:
        board = result.leaderboard
        columns = [c for c in LEADERBOARD_PRINTED if c in board]
        print(board[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}", na_rep="-"))
        caption = next((d.message for d in result.decisions if d.topic == "significance"), None)
        if caption:
            print(caption)
        run = f"MLflow run {result.run_id}" if result.run_id else "not tracked in MLflow"
        if "study" in summary:
            study = summary["study"]
            states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(study["states"].items()))
            print(f"study '{study['name']}' on {study['storage']}: {study['trials']} trial(s) ({states}), "
                  "from this process and its workers")
        chosen = next((d.message for d in reversed(result.decisions) if d.topic == "selection"), None)
        print(f"\nsaved {stored.ref} → {stored.path}\nmodel: {result.best_model}" + (f" ({chosen})" if chosen else "")
              + f"\n{result.problem.metric}: validation "
              f"{result.val_score:.4f} ± {result.val_std:.4f}, test {result.test_score:.4f}; "
              f"{run}; {summary['wall_seconds']:.1f} s")


def _study_summary(args: argparse.Namespace, result: Any) -> dict[str, Any]:
    """The study's name, storage (password masked) and trials: all of them, and per state."""
    from automlops.config import get_settings
    from automlops.search.storage import safe_url

    trials = result.trials
    states = trials["state"].value_counts().to_dict() if len(trials) else {}
    return {"name": args.study, "storage": safe_url(args.storage or get_settings().resolved_hpo_storage_url),
            "trials": len(trials), "states": {str(k): int(v) for k, v in states.items()}}
