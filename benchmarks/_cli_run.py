"""Running ``automlops`` as a user would: a fresh process and a fresh ``AUTOMLOPS_HOME``, its wall time and peak memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _process_memory import TreeMemory  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "automlops"

__all__ = ["CliRun", "markdown_table", "run_cli"]


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


def run_cli(args: list[str], poll_s: float = 0.1) -> CliRun:
    """``automlops ARGS...`` with this checkout's code, polled for memory (:class:`TreeMemory`) until it exits."""
    home = Path(tempfile.mkdtemp(prefix="automlops-bench-"))
    env = {**os.environ, "AUTOMLOPS_HOME": str(home), "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.Popen([str(CLI), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree = TreeMemory(psutil.Process(proc.pid))
    while proc.poll() is None:
        tree.sample()
        time.sleep(poll_s)
    stdout, stderr = proc.communicate()
    return CliRun(proc.returncode, time.monotonic() - started, tree.peak_bytes / 2**20, stdout, stderr, home)
