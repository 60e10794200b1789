"""The ``automlops`` command line.

    automlops demo                                   seed the data lake with real datasets
    automlops train data.csv --target y [--json]     search, track in MLflow, save a model
    automlops train data.csv --task timeseries --time-column ds --target y [--horizon H]
    automlops train data.csv --task clustering | --task anomaly
    automlops lake add-images NAME images.zip        an image dataset (ImageFolder, masks, COCO or VOC)
    automlops train-vision NAME --task classification --model resnet18   torchvision transfer learning
    automlops predict --model NAME[@vN] data.csv     predictions (and --proba) as CSV; or image|folder|zip
    automlops forecast --model NAME --horizon H      the next H steps of a forecasting model
    automlops lake add|list|show                     the versioned data lake
    automlops models list                            saved models, with their registry stage
    automlops models promote NAME@vN --to production stages (also demote, archive, rollback, history)
    automlops models trust NAME@vN                   re-sign a version you trust (e.g. saved before signing)
    automlops models upload FILE --name N --dataset lake:D --target y   validate and save your own model
    automlops models retrain NAME@vN --data lake:D@vK                   same recipe, new data, parent recorded
    automlops serve                                  the prediction API (needs API_KEY)

Every folder comes from ``AUTOMLOPS_HOME``. Bad input answers with exit code 2 and one line on
stderr; the contract of ``train --json`` (the last stdout line is a JSON object) is used by
outside tools and must not change.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from automlops.cli_arrow import _NoArrow, _without_arrow  # noqa: F401 - _NoArrow: the hook tests look for
from automlops.cli_parser import EXIT_USAGE, build_parser
from automlops.errors import AutoMLOpsError, ConfigError, DataError

__all__ = ["build_parser", "console_main", "main"]

TRAIN_KEYS = ("name", "version", "model_path", "task", "best_model", "metric", "val_score", "test_score",
              "wall_seconds", "run_id")


def _process_started_monotonic() -> float:
    """When this process started, on the monotonic clock: the time budget counts from there."""
    return time.monotonic() - max(0.0, _process_age())


def _process_age() -> float:
    """Seconds since this process started.

    On Linux, from the kernel's own counters: the start in clock ticks since boot (``/proc/self/stat``,
    field 22) against the time since boot (``/proc/uptime``), both to 1/100 s. psutil's
    ``create_time`` adds the boot time, which Linux gives in whole seconds: a process 0.03 s old read as
    0.78 s, so every budget lost up to a second and ``wall_seconds`` ran that much high.
    """
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])  # after "pid (comm)": field 22 is the 20th
            return float(uptime.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:
        return 0.0



# --------------------------------------------------------------------------------- commands

class _Progress:
    """One progress line on stderr: rewritten in place on a terminal, throttled otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, event: Any) -> None:
        if event.kind != "trial":
            return
        now = time.monotonic()
        if not self.tty and now - self.last < 2.0:
            return
        self.last = now
        budget = f"/{event.budget:.0f}s" if event.budget else "s"
        planned = f"/{event.n_trials}" if event.n_trials else ""
        best = f"best {event.best_score:.4f} ({event.best_model})" if event.best_score is not None else "no result yet"
        line = f"trial {event.trial}{planned} · {event.elapsed:.1f}{budget} · {best}"
        sys.stderr.write(("\r" + line.ljust(78)) if self.tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def cmd_train(args: argparse.Namespace, started: float) -> int:
    """Train, track and save: the tabular runner for classification/regression, else the task's engine."""
    from automlops.cli_training import (
        check_train_args,
        load_training_data,
        open_training_study,
        print_train_summary,
        task_change_note,
        tracker_for_training,
    )
    from automlops.config import get_settings
    from automlops.core.memory import frozen_heap
    from automlops.core.results import Decision
    from automlops.mlops.lake import DataLake
    from automlops.mlops.skops_snapshot import import_writer
    from automlops.mlops.store import ModelStore
    from automlops.search.trial_notes import warned
    from automlops.tabular.persist import save_model
    from automlops.tasks import default_model_name

    engine = check_train_args(args)  # None: the tabular runner
    settings = get_settings()
    lake = DataLake(settings=settings)
    frame, dataset, commit = load_training_data(args.csv, lake)
    study = open_training_study(args, settings, engine, dataset, commit)  # --study: None without it
    if study is not None:  # workers load the data from their lake: it is committed (and pinned) before the search
        dataset, commit = study.dataset, study.commit
    tracker, tracking_note = tracker_for_training(settings, args.time_budget)
    import_writer()  # the final save's one-off import, paid now, on the budget's clock (see its docstring)
    with frozen_heap():  # the search's and the save's garbage collections skip the imports (core.memory)
        result = _search(args, engine, study, frame, tracker, dataset, started)
        dataset = commit()  # the data joins the lake only now that it trained a model
        if tracking_note:
            result = dataclasses.replace(result, decisions=(Decision("tracking", tracking_note), *result.decisions))
        notes: list[str] = []  # the model registry was down: the model is saved all the same
        store = ModelStore(settings=settings)
        stored = save_model(result, store, args.name or default_model_name(dataset["name"], args.task),
                            dataset=dataset, tracker=tracker, notes=notes,
                            register=tracking_note is None)  # dead server: said once
    print_train_summary(args, result, stored, dataset, started)
    if (changed := task_change_note(store, stored)) is not None:
        notes.append(changed)
    notes += warned([d.message for d in result.decisions])
    if tracking_note is not None:
        notes.append(f"{stored.ref} is not registered yet; 'automlops models register {stored.name}' "
                     "registers it once the tracking server answers")
    for note in notes:
        print(f"automlops: warning: {_one_line(note)}", file=sys.stderr)
    return 0


def _search(args: argparse.Namespace, engine: Any, study: Any, frame: Any, tracker: Any, dataset: dict[str, Any],
            started: float) -> Any:
    """The training's result, with a progress line: the tabular runner (``engine`` None) or the task's
    engine, alone or as one worker of a shared study."""
    from automlops.cli_training import search_engine

    progress = _Progress()
    try:
        if engine is None and study is not None:
            return study.fit_tabular(_tabular_runner(args, tracker, dataset, progress, started), frame)
        if engine is None:
            return _tabular_runner(args, tracker, dataset, progress, started).fit(frame).result_
        return search_engine(engine, args, frame, tracker, dataset, [progress], started, study=study)
    finally:
        progress.close()


def _tabular_runner(args: argparse.Namespace, tracker: Any, dataset: dict[str, Any], progress: _Progress,
                    started: float) -> Any:
    from automlops.cli_training import model_names
    from automlops.tabular.runner import AutoMLRunner

    return AutoMLRunner(args.target, task=args.task, metric=args.metric, preset=args.preset, search=args.search,
                        validation=args.validation, models=model_names(args), ensemble=args.ensemble,
                        n_trials=args.n_trials, time_budget=args.time_budget, seed=args.seed,
                        time_column=args.time_column, tracker=tracker, dataset=dataset,
                        run_name=args.name or dataset["name"], callbacks=[progress], started_at=started,
                        refit_full=args.refit_full, keep_scored_model=False,  # no diagnostics here
                        select=args.select)


def cmd_lake(args: argparse.Namespace) -> int:
    from automlops.mlops.lake import DataLake

    lake = DataLake()
    if args.lake_command == "add":
        if not Path(args.csv).is_file():
            raise DataError(f"no such file: {args.csv}")
        v = lake.add(args.name, Path(args.csv), note=args.note, filename=Path(args.csv).name)
        state = "already stored as" if v.reused else "added as"
        print(f"{args.name}: {state} {v.id} ({v.rows} rows × {len(v.columns)} columns, sha256 {v.sha256[:12]})")
    elif args.lake_command == "list":
        from automlops.cli_images import image_lines

        infos, images = lake.list_datasets(), image_lines()
        if not infos and not images:
            print("no datasets yet: run 'automlops demo' or 'automlops lake add NAME FILE.csv'")
        for info in infos:
            for v in info.versions:
                print(f"{info.name:<20} {v.id} {v.stage:<9} {v.rows:>7} rows {len(v.columns):>4} cols "
                      f"{v.sha256[:12]} {v.created}  {v.note}")
        for line in images:
            print(line)
    else:
        profile = lake.profile(args.name, args.version, target=args.target)
        print(f"{args.name}: {profile.rows} rows × {profile.columns} columns")
        print(profile.table.to_string(index=False))
        balance = profile.target_balance if profile.target_balance is not None else profile.target_stats
        if balance is not None:
            print(f"\ntarget '{args.target}':\n{balance.to_string()}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    if args.models_command == "zoo":
        from automlops.tabular.zoo import ZOO

        for name, spec in ZOO.items():
            tasks = "/".join(sorted(t.value for t in spec.tasks))
            state = "" if spec.is_available() else " (library not installed)"
            print(f"{name:<14} {tasks:<26} {spec.description}{state}")
        from automlops.tasks import TASK_ENGINES

        for task, entry in TASK_ENGINES.items():  # the engines of the other tasks keep their own registries
            print(f"\n--task {task}: " + ", ".join(entry.engine_class().models.names()))
        from automlops.vision.zoo import VISION_MODELS

        print("\ntrain-vision --model (torchvision):")
        for name, arch in VISION_MODELS.items():
            print(f"{name:<38} {arch.task:<21} {arch.params_m:>5.1f} M  {arch.description}")
        return 0
    from automlops.mlops.store import ModelStore

    return _trust(ModelStore(), args.ref)  # 'list' and the registry commands: automlops/cli_models.py


def _trust(store: Any, ref: str) -> int:
    """``models trust NAME@vN``: sign one version with this studio's key, after checking its SHA-256."""
    from automlops.mlops.store import parse_model_ref

    name, version = parse_model_ref(ref)
    if version is None:
        raise ConfigError(f"name one exact version to trust, such as {name}@v1 (not {ref!r})")
    stored = store.trust(name, version)
    fmt = stored.meta.get("model_format", "joblib")
    print(f"signed {stored.ref} ({fmt}): the studio now loads and serves it"
          + (" (a joblib file is a pickle: loading it runs whatever it contains)" if fmt == "joblib" else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from automlops.demo import seed_demo
    from automlops.mlops.lake import DataLake

    for v in seed_demo(DataLake()):
        state = "kept" if v.reused else "added"
        print(f"{state} {v.dataset} {v.id}: {v.note}")
    from automlops.demo import seed_image_demo
    from automlops.mlops.image_lake import ImageLake
    from automlops.vision import datasets  # noqa: F401 - registers the image lake's reader

    for image in seed_image_demo(ImageLake()):
        print(f"{'kept' if image.reused else 'added'} {image.name} {image.id} (images): {image.note}")
    print("next: automlops train lake:iris --target target --preset fast")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from automlops.serving import run

    run(args.host, args.port)
    return 0


def _one_line(text: str) -> str:
    """``text`` on one line: a message quoting a library's multi-line error stays one stderr line."""
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code: 0, 2 for bad input, 1 for a bug, 130 if interrupted."""
    started = _process_started_monotonic()
    argv = list(sys.argv[1:] if argv is None else argv)
    _without_arrow(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    from automlops.cli_predict import cmd_forecast, cmd_predict

    handlers = {"predict": cmd_predict, "forecast": cmd_forecast, "lake": cmd_lake, "models": cmd_models,
                "demo": cmd_demo, "serve": cmd_serve}
    if args.command in ("train", "train-vision"):
        _log_crashes()
    try:
        if args.command == "train":
            return cmd_train(args, started)
        handler = getattr(args, "handler", None)  # a subcommand that names its own (set_defaults(handler=...))
        return handler(args) if handler is not None else handlers[args.command](args)
    except AutoMLOpsError as exc:
        print(f"automlops: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("automlops: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left early (`automlops models zoo | head -1`): not an error
        _silence_stdout()
        return 0
    except Exception as exc:  # a bug: one line for the user, the traceback only on request
        from automlops.config import get_settings

        try:
            debug = get_settings().show_tracebacks
        except AutoMLOpsError:  # a malformed setting: reported by the command itself, never a second traceback
            debug = False
        if debug:
            raise
        print(f"automlops: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
              "(set AUTOMLOPS_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into the closed pipe stays quiet
    (Python's documented recipe for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _log_crashes() -> None:
    """A native crash during a long command leaves its stacks in ``<home>/logs/crash.log`` (see ``crash_log``)."""
    from automlops.config import get_settings
    from automlops.crash_log import CRASH_LOG, enable_crash_log

    try:
        home = get_settings().home
    except AutoMLOpsError:  # a malformed setting: the command itself reports it
        return
    enable_crash_log(home / CRASH_LOG)


def console_main() -> None:
    """The installed ``automlops`` script: :func:`main` on ``sys.argv``, then exit with its code.

    After a successful ``train`` or ``train-vision`` everything is written, flushed and fsynced, and
    after one that failed (exit code 2) nothing was written and MLflow has been told; either way the
    process skips the interpreter's slow teardown of the ML stack (1-2.5 s, which would count against
    the user's time budget: a ``--time-budget 10`` vision run that no trial fitted printed its error
    at 9.8 s and ended at 12.4 s) with ``os._exit``. That shortcut lives only here, in a process that
    is about to end anyway: :func:`main` called from Python always returns.
    """
    argv = sys.argv[1:]
    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    if code in (0, 2) and argv[:1] in (["train"], ["train-vision"]):
        from automlops.mlops.skops_snapshot import release_all

        release_all()  # os._exit skips the clean-ups that delete the model's temporary serialisation
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console_main()
