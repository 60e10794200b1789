"""``automlops stability``: is a saved model's score real, or luck?

    automlops stability breast_cancer@v1 --splits 10 --seeds 5 --sensitivity --time-budget 120 --json
    automlops stability diabetes --out diabetes-stability.html

Refits the model's configuration on its own dataset version over K resampled splits (data
variance), N seeds on its validation split (algorithm variance) and, with ``--sensitivity``, each
hyperparameter swept around its chosen value; then prints the spread of each section, the
verdict, and logs the report as an MLflow run nested under the training run. Without any of
``--splits``, ``--seeds`` or ``--sensitivity`` it runs ``--splits 10 --seeds 5``.

A progress line goes to stderr; with ``--json`` the last stdout line is the report's summary
(``metric``, ``mean``, ``std``, ``ci_low``, ``ci_high``, ``n_fits``, ``verdict``...). Bad input
(K or N of 1, an unknown model, a budget too small for one refit, a configuration that no longer
fits its data) exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from automlops.core.jsonable import jsonable
from automlops.errors import ConfigError

__all__ = ["add_commands", "cmd_stability"]

DEFAULT_SPLITS, DEFAULT_SEEDS = 10, 5
_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError("must be -1 (every core) or a positive number of worker processes")
    return value


def add_commands(sub: Any) -> None:
    """Add the `stability` subcommand to the `automlops` parser."""
    from automlops.cli_parser import _positive_float, _positive_int

    p = sub.add_parser("stability", help="how much a saved model's score moves across splits, seeds and "
                                         "hyperparameters")
    p.add_argument("model", help="a saved model: NAME (newest version) or NAME@vN")
    p.add_argument("--splits", type=_positive_int, metavar="K", help="refit over K resampled splits (at least 2)")
    p.add_argument("--seeds", type=_positive_int, metavar="N",
                   help="refit with N seeds of the model's own randomness (at least 2)")
    p.add_argument("--sensitivity", action="store_true", help="sweep each hyperparameter around its chosen value")
    p.add_argument("--points", type=_positive_int, default=5, help="values per sweep (default 5)")
    p.add_argument("--repeats", type=_positive_int, default=3, help="splits each sweep point is refitted on "
                                                                   "(default 3)")
    p.add_argument("--time-budget", type=_positive_float, metavar="S", help="seconds for all the refits")
    p.add_argument("--jobs", type=_jobs, default=-1, help="worker processes (default -1: every core)")
    p.add_argument("--out", help="write the report: a .md (Markdown) or .html (self-contained page) file")
    p.add_argument("--no-track", action="store_true", help="do not log the report to MLflow")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on the last stdout line")
    p.set_defaults(handler=cmd_stability)


class _FitProgress:
    """``refit 12/40 (split 3): 0.9712 · 8 s`` on stderr: in place on a terminal, throttled otherwise."""

    def __init__(self) -> None:
        self.tty, self.last, self.shown = sys.stderr.isatty(), 0.0, False

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if not self.tty and (fraction == 0.0 or (now - self.last < 2.0 and fraction < 1.0)):
            return  # in a log, the "loading..." line would precede a possible one-line error
        self.last, self.shown = now, True
        sys.stderr.write(("\r" + message[:100].ljust(78)) if self.tty else message + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty and self.shown:
            sys.stderr.write("\n")


def _out_format(out: str | None) -> str | None:
    if out is None:
        return None
    path = Path(out)
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--out must end in .md or .html (got {path.name!r})")
    if not path.parent.is_dir():
        raise ConfigError(f"--out: no such folder: {path.parent}")
    return fmt


def _print_report(report: Any) -> None:
    from automlops.stability.report import section_rows
    from automlops.stability.verdict import fmt

    print(f"stability of {report.model} ({report.label}), {report.metric}: {report.n_fits} refits in "
          f"{report.seconds:.1f} s" + (" — cancelled, partial" if report.cancelled else ""))
    rows = section_rows(report)
    head = report.headline()
    scale = head.std if head is not None and head.n >= 2 and math.isfinite(head.std) else None
    if rows:
        print(f"{'section':<9} {'n':>3} {'mean':>10} {'std':>10} {'95 % CI':>23}")
        for r in rows:
            ci = f"{fmt(r['ci_low'], scale)} – {fmt(r['ci_high'], scale)}"
            print(f"{r['section']:<9} {r['n']:>3} {fmt(r['mean'], scale):>10} {fmt(r['std'], scale):>10} {ci:>23}")
    for curve in sorted(report.sensitivity, key=lambda c: -c.swing)[:5]:
        print(f"sensitivity {curve.param}: swing {fmt(curve.swing)}")
    for name, share in sorted(report.importances.items(), key=lambda kv: -kv[1])[:5]:
        print(f"fANOVA {name}: {share:.0%}")
    print(f"verdict: {report.verdict}")


def cmd_stability(args: argparse.Namespace) -> int:
    """Analyse the model, print the spread and verdict, write ``--out``, print ``--json`` last."""
    from automlops.cli_training import tracker_for_training
    from automlops.config import get_settings
    from automlops.mlops._atomic import atomic_write_text
    from automlops.stability.execute import stop_workers
    from automlops.stability.report import to_html, to_markdown
    from automlops.stability.service import stability_report

    started = time.monotonic()  # --time-budget holds for the whole command, loading included
    fmt = _out_format(args.out)
    if args.out is not None:  # a folder, or a file of the lake or the model store: refused before any work
        from automlops.mlops.output_paths import check_output_path

        check_output_path(args.out)
    splits, seeds = args.splits, args.seeds
    if splits is None and seeds is None and not args.sensitivity:
        splits, seeds = DEFAULT_SPLITS, DEFAULT_SEEDS
    settings = get_settings()
    tracker = None
    if not args.no_track:
        tracker, note = tracker_for_training(settings, args.time_budget)
    progress = _FitProgress()
    try:
        report = stability_report(args.model, splits=splits, seeds=seeds, sensitivity=args.sensitivity,
                                  points=args.points, repeats=args.repeats, time_budget=args.time_budget,
                                  n_jobs=args.jobs, progress=progress, track=tracker is not None,
                                  settings=settings, tracker=tracker, started=started)
    finally:
        progress.close()
        stop_workers()  # a one-shot command: do not wait for the worker processes at exit
    _print_report(report)
    if args.out is not None:
        atomic_write_text(Path(args.out), to_html(report) if fmt == "html" else to_markdown(report))
        print(f"wrote the report to {args.out}")
    if report.run_id:
        print(f"MLflow run: {report.run_id}")
    if args.json:
        summary = {k: None if isinstance(v, float) and not math.isfinite(v) else v  # NaN is not JSON
                   for k, v in report.summary().items()}
        print(json.dumps(jsonable(summary)))
    return 0
