"""Running ``automlops`` as a user would: a fresh process and a fresh ``AUTOMLOPS_HOME``, its wall time and peak memory."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _process_memory import TreeMemory  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "automlops"

__all__ = ["CliRun", "forecast_row", "markdown_table", "origin_arguments", "run_cli", "run_origins"]


@dataclass
class CliRun:
    """What one command did: exit code, wall seconds, the process tree's peak memory, its output."""

    returncode: int
    wall_s: float
    peak_mb: float
    stdout: str
    stderr: str
    home: Path

    def last_error(self) -> str:
        return (self.stderr.strip().splitlines() or ["?"])[-1][:300]

    def summary(self) -> dict[str, Any]:
        """The ``--json`` line and the saved model's ``meta.json``, read before :meth:`cleanup`."""
        summary = json.loads(self.stdout.strip().splitlines()[-1])
        return {**summary, "meta": json.loads(Path(summary["model_path"]).with_name("meta.json").read_text())}

    def cleanup(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def markdown_table(rows: list[dict[str, Any]], keys: list[str]) -> str:
    """Rows as a markdown table, with the columns of ``keys`` that some row has."""
    keys = [k for k in keys if any(k in r for r in rows)]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    return "\n".join(lines + ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows])


def run_cli(args: list[str], poll_s: float = 0.1, root: Path = ROOT) -> CliRun:
    """``automlops ARGS...`` with the code of checkout ``root`` (default: this one), polled for memory
    (:class:`TreeMemory`) until it exits."""
    home = Path(tempfile.mkdtemp(prefix="automlops-bench-"))
    env = {**os.environ, "AUTOMLOPS_HOME": str(home), "PYTHONPATH": str(root)}
    started = time.monotonic()
    proc = subprocess.Popen([str(CLI), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = TreeMemory(psutil.Process(proc.pid))
    while proc.poll() is None:
        tree.sample()
        time.sleep(poll_s)
    stdout, stderr = proc.communicate()
    return CliRun(proc.returncode, time.monotonic() - started, tree.peak_bytes / 2**20, stdout, stderr, home)


def forecast_row(run: CliRun, budget: float, origin: str) -> dict[str, Any]:
    """One forecasting run as a table row (exit code, wall ÷ budget, peak, model, trials, test MASE); cleans up."""
    row: dict[str, Any] = {"origin": origin, "rc": run.returncode, "wall_s": round(run.wall_s, 1),
                           "wall_over_budget": round(run.wall_s / budget, 2), "peak_mb": round(run.peak_mb)}
    if run.returncode != 0:
        row["error"] = run.last_error()
    else:
        summary = run.summary()
        trials = summary["meta"].get("trials") or []
        row.update({"model": summary["best_model"], "trials": len(trials),
                    "completed": sum(t.get("state") == "COMPLETE" for t in trials),
                    "test_mase": round(float(summary["test_score"]), 4)})
    run.cleanup()
    return row


def origin_arguments(doc: str, budget: float) -> argparse.Namespace:
    """``--quick`` (two origins), ``--budget`` and ``--origins`` of a rolling-origin benchmark; ``n_origins`` set."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two origins")
    parser.add_argument("--budget", type=float, default=budget)
    parser.add_argument("--origins", type=int, default=6)
    args = parser.parse_args()
    args.n_origins = 2 if args.quick else args.origins
    return args


def run_origins(ends: list[Any], run_one: Callable[[Any, Path], dict[str, Any]]) -> list[dict[str, Any]]:
    """``run_one(end, folder)`` for each origin in a shared temporary folder, printing each row as it comes."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for end in ends:
            rows.append(run_one(end, Path(folder)))
            print(json.dumps(rows[-1]), flush=True)
    return rows
