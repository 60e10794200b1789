"""``automlops monitor``: drift of a served model's live traffic, once or every few minutes.

``automlops monitor --model NAME [--window 1000|24h] [--every 10m] [--min-rows N] [--json]`` runs
:func:`automlops.mlops.monitoring.monitor_model` (reference = the lake version the served model
was trained on; current = that window of the API's prediction log), prints the verdict and the
per-column tests, and logs the run to MLflow. With ``--json`` the last stdout line is one JSON
object (``share_drifted``, ``drifted``, ``n_reference``, ``n_current``, ``report_path``, the model,
the window, live metrics...). The report is printed before any later step runs, so a retrain that
is refused (exit 2, one line on stderr) still leaves the drift report on screen; with ``--json``
the object then carries ``"error"``. ``--every`` repeats the check until Ctrl-C; a check that finds too
few rows is reported on stderr and the loop goes on (traffic may simply not have arrived yet).

A model the API logs no rows for (a forecaster: see :data:`automlops.mlops.monitor.UNLOGGED`) is
refused up front (exit 2) with what watching it means instead, never "only 0 logged predictions".

Each check is one call of :func:`check_once`, which runs the steps in :data:`AFTER_CHECK` on its
result: a later step (retrain on drift, say) plugs in there and adds its own keys to the JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from automlops.cli_retrain import add_retrain_arguments, retrain_step
from automlops.errors import AutoMLOpsError, DataError

if TYPE_CHECKING:
    from automlops.mlops.monitoring import MonitorResult

__all__ = ["AFTER_CHECK", "add_commands", "check_once", "cmd_monitor", "parse_every"]

# steps run after each check: (result, args) -> extra JSON keys (e.g. {"retrain": {...}})
AFTER_CHECK: list[Callable[[MonitorResult, argparse.Namespace], dict[str, Any]]] = [retrain_step]
_EVERY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", re.IGNORECASE)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """``"10m"`` → 600 seconds; ``"30s"``, ``"1h"``, or plain seconds (``"90"``); at least 1 s."""
    match = _EVERY.fullmatch(text)
    seconds = float(match.group(1)) * _UNIT[match.group(2).lower()] if match else 0.0
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"invalid interval {text!r}: use a duration such as 30s, 10m or 1h")
    return seconds


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return int(text)


def add_commands(subparsers: Any) -> None:
    """Add ``monitor`` to the ``automlops`` parser (cheap: nothing heavy imported)."""
    monitor = subparsers.add_parser("monitor", help="drift of a served model's live traffic vs its training data")
    monitor.add_argument("--model", required=True, help="model name (the version served is found for you)")
    monitor.add_argument("--window", default="1000",
                         help="the last N logged rows (1000, default) or the last hours/minutes/days (24h, 30m, 7d)")
    monitor.add_argument("--every", type=parse_every, help="repeat every interval (30s, 10m, 1h) until Ctrl-C")
    monitor.add_argument("--min-rows", type=_positive_int, default=100,
                         help="refuse windows with fewer logged rows (default 100)")
    monitor.add_argument("--no-mlflow", action="store_true", help="do not log the check to MLflow")
    monitor.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    monitor.add_argument("--times", type=_positive_int, help=argparse.SUPPRESS)  # with --every: stop after N checks
    add_retrain_arguments(monitor)
    monitor.set_defaults(handler=cmd_monitor)


def check_once(args: argparse.Namespace) -> dict[str, Any]:
    """One monitor check, printed; returns the JSON payload (with what :data:`AFTER_CHECK` adds)."""
    from automlops.mlops.monitoring import monitor_model, parse_window

    parse_window(args.window)  # a bad window is a usage error before anything is read
    result = monitor_model(args.model, window=args.window, min_rows=args.min_rows,
                           log_to_mlflow=not args.no_mlflow)
    payload = result.to_dict()
    if not args.json:  # the drift report comes first, whatever a later step (a retrain) then refuses
        print(summary(result), flush=True)
    try:
        for step in AFTER_CHECK:
            payload |= step(result, args)
    except AutoMLOpsError as exc:  # the JSON still carries the check, and says what failed; exit 2 follows
        if args.json:
            payload["error"] = str(exc)
            print(json.dumps(payload, default=str), flush=True)
        raise
    if args.json:
        print(json.dumps(payload, default=str), flush=True)
    return payload


def summary(result: MonitorResult) -> str:
    """The check for people: the verdict, one line per column, live numbers, where the report is."""
    report = result.report
    n_drifted = len(report.drifted_columns)
    lines = [f"{result.model} (trained on {result.reference}) · window {result.window}: "
             f"{report.n_current:,} live rows vs {report.n_reference:,} training rows",
             f"drift: {n_drifted} of {len(report.columns)} columns ({report.share_drifted:.0%}) → "
             f"{'DRIFTED' if report.drifted else 'no dataset drift'} (threshold {report.drift_share:.0%})"]
    width = max(len(c.column) for c in report.columns)
    for c in report.columns:
        rule = "≤" if "p_value" in c.method else "≥"
        lines.append(f"  {c.column:<{width}}  {c.method:<26} {c.statistic:9.4f}  (drift if {rule} {c.threshold:g})"
                     f"{'  DRIFTED' if c.drifted else ''}")
    lines += [f"  {name}: skipped" for name in report.skipped]
    for o in result.outcomes:  # the model's answers against its answers on its training rows; true labels, the target
        what = ("the model's answers vs its answers on its training rows" if o.column == "prediction"
                else "true labels vs the training target")
        lines.append(f"{o.column} drift ({what}): {o.method} {o.statistic:.4f}"
                     f"{'  DRIFTED' if o.drifted else ''}")
    if result.live_metrics:
        numbers = " · ".join(f"{k} {v:.3f}" for k, v in result.live_metrics.items())
        lines.append(f"live quality ({result.n_labelled} labelled rows): {numbers}")
    traffic = result.traffic
    if traffic.get("requests"):
        latency = f" · latency p50 {traffic['latency_p50_ms']:.1f} ms" if "latency_p50_ms" in traffic else ""
        lines.append(f"traffic: {traffic['requests']:.0f} requests · {traffic.get('rows_per_hour', 0):.1f} rows/h"
                     f"{latency}")
    lines.append(f"report: {report.report_path}" + (f" · MLflow run {result.run_id}" if result.run_id else ""))
    lines += [f"note: {note}" for note in result.notes[1:]]
    return "\n".join(lines)


def cmd_monitor(args: argparse.Namespace) -> int:
    """Check once, or every ``--every`` until Ctrl-C (cli.main answers 130) or ``--times`` checks."""
    if args.every is None:
        check_once(args)
        return 0
    done = 0
    while True:
        started = time.monotonic()
        try:
            check_once(args)
        except DataError as exc:  # e.g. too few rows yet: say so, keep watching
            print(f"automlops: {time.strftime('%H:%M:%S')} {exc}", file=sys.stderr, flush=True)
        done += 1
        if args.times is not None and done >= args.times:
            return 0
        time.sleep(max(0.0, args.every - (time.monotonic() - started)))
