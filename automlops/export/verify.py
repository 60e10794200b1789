"""Running an exported script the way a stranger would: in a fresh Python, without the studio.

The promise of an exported script is that it stands alone. :func:`run_script` checks that promise
instead of trusting it: it starts a new interpreter in which ``import automlops`` fails
(``sys.modules['automlops'] = None``), runs the script there, and reads the ``test_score=<value>``
its last output line must hold. :func:`compare_scores` says whether that reproduces the recorded
score (to 1e-6, the issue's bar for deterministic models).
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from automlops.errors import ModelError

__all__ = ["TOLERANCE", "ScriptRun", "compare_scores", "run_script"]

TOLERANCE = 1e-6
_LAUNCH = ("import sys, runpy; sys.modules['automlops'] = None; script = sys.argv[1]; sys.argv = sys.argv[1:]; "
           "runpy.run_path(script, run_name='__main__')")


@dataclass(frozen=True)
class ScriptRun:
    """What one run of an exported script printed, and how long it took."""

    test_score: float
    seconds: float
    stdout: str
    stderr: str


def run_script(path: str | Path, *args: str, timeout: float = 600.0, python: str | None = None) -> ScriptRun:
    """Run ``path`` (with ``args``) in a fresh interpreter where the studio cannot be imported."""
    path = Path(path).resolve()
    t0 = time.perf_counter()
    try:
        done = subprocess.run([python or sys.executable, "-c", _LAUNCH, str(path), *args], capture_output=True,
                              text=True, timeout=timeout, cwd=path.parent, check=False)
    except subprocess.TimeoutExpired:
        raise ModelError(f"the exported script {path.name} did not finish within {timeout:g} s") from None
    seconds = time.perf_counter() - t0
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("test_score="):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"the exported script {path.name} failed (exit code {done.returncode}): {tail}")
    return ScriptRun(float(lines[-1].split("=", 1)[1]), seconds, done.stdout, done.stderr)


def compare_scores(script: float, recorded: float | None, tolerance: float = TOLERANCE) -> bool:
    """True when the script's score is the recorded one (both NaN counts as equal)."""
    if recorded is None:
        return False
    if math.isnan(script) and math.isnan(recorded):
        return True
    return abs(script - recorded) <= tolerance
