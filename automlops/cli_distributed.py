"""``automlops worker``: add a process (on this machine or another) to a named study's search.

    automlops train data.csv --target y --study churn --time-budget 600        # coordinator
    automlops worker --study churn                                              # a second terminal
    automlops worker --study churn --storage postgresql+psycopg2://user:pw@db:5432/optuna --wait 120

The worker reads the study's recipe and data pin (written by ``train --study``), loads that lake
version from its own ``AUTOMLOPS_HOME`` (checking its SHA-256), rebuilds the same engine and runs
trials until ``--n-trials``, ``--time-budget``, Ctrl-C, or the coordinator closing the search. It
never saves a model: the coordinator ensembles and refits what every process found.

With ``--json`` the last stdout line is one JSON object (study, worker, trials_run, completed,
failed, pruned, seconds, stopped_because). Bad input (an unknown study, a bad URL, a missing or
different lake version, a study this studio cannot rebuild) exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import sys
from typing import Any

from automlops.core.jsonable import json_line

__all__ = ["add_commands", "cmd_worker"]


def _seconds(text: str, *, zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value < 0 or (value == 0 and not zero) or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds" if not zero
                                         else "must be a number of seconds ≥ 0")
    return value


def add_commands(sub: Any) -> None:
    """Add the ``worker`` subcommand to the ``automlops`` parser."""
    from automlops.cli_parser import _positive_int

    p = sub.add_parser("worker", help="run trials of a named study that 'automlops train --study' coordinates",
                       description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--study", required=True, help="the study's name (as given to 'automlops train --study')")
    p.add_argument("--storage", help="SQLAlchemy URL of the study storage (default: HPO_STORAGE_URL, else the "
                                     "embedded SQLite file <home>/hpo.db)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--n-trials", type=_positive_int, help="stop after this many trials of this worker")
    budget.add_argument("--time-budget", type=_seconds, help="stop starting trials this many seconds after joining")
    p.add_argument("--wait", type=lambda t: _seconds(t, zero=True), default=0.0,
                   help="wait up to S seconds for the study to appear (a container started before the coordinator)")
    p.add_argument("--json", action="store_true", help="print one JSON summary line last")
    p.set_defaults(handler=cmd_worker)


class _Trials:
    """One stderr line per finished trial of this worker (a worker's log is read in a container's output)."""

    def __call__(self, event: Any) -> None:
        if event.kind != "trial":
            return
        value = f" {event.value:.4f}" if event.value is not None else ""
        best = f" · study best {event.best_score:.4f} ({event.best_model})" if event.best_score is not None else ""
        print(f"{event.message}{value}{best}", file=sys.stderr, flush=True)


def cmd_worker(args: argparse.Namespace) -> int:
    """Join the study and run trials; print what this worker did."""
    from automlops.distributed.worker import run_worker

    report = run_worker(args.study, storage_url=args.storage, n_trials=args.n_trials, time_budget=args.time_budget,
                        wait=args.wait, callbacks=[_Trials()],
                        on_wait=lambda message: print(f"automlops: {message}", file=sys.stderr, flush=True))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    summary = {"study": report.study_name, "worker": worker, **{k: v for k, v in dataclasses.asdict(report).items()
                                                                 if k != "study_name"}}
    summary["seconds"] = round(float(summary["seconds"]), 3)
    if args.json:
        print(json_line(summary))
    else:
        print(f"worker {worker}: {report.trials_run} trial(s) in study '{report.study_name}' ({report.completed} "
              f"complete, {report.pruned} pruned, {report.failed} failed) in {report.seconds:.1f} s; stopped: "
              f"{report.stopped_because}")
    return 0
