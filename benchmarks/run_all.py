"""Run every benchmark in this folder, one after the other (``make bench``).

A benchmark is any ``benchmarks/*.py`` except this file and helpers whose name starts with ``_``.
Each runs as its own process with this interpreter, in name order, never in parallel (timings
need a quiet machine); the command-line arguments given here are passed to each of them
unchanged, so every benchmark accepts the shared flags such as ``--quick``. ``--only NAME[,NAME]``
(consumed here) runs a subset. The exit code is non-zero when any benchmark failed.

    .venv/bin/python benchmarks/run_all.py            # everything, full size
    .venv/bin/python benchmarks/run_all.py --quick    # every benchmark's quick mode
    .venv/bin/python benchmarks/run_all.py --only automl_quality --quick
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def discover() -> list[Path]:
    me = Path(__file__).resolve().name
    return sorted(p for p in BENCH_DIR.glob("*.py") if p.name != me and not p.name.startswith("_"))


def _split_only(argv: Sequence[str]) -> tuple[set[str] | None, list[str]]:
    """Take ``--only A,B`` (or ``--only=A,B``) out of argv; the rest is passed through."""
    only: set[str] | None = None
    rest: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg == "--only" or arg.startswith("--only="):
            value = arg.partition("=")[2] if "=" in arg else next(items, "")
            only = (only or set()) | {v.strip().removesuffix(".py") for v in value.split(",") if v.strip()}
        else:
            rest.append(arg)
    return only, rest


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("benchmarks found: " + (", ".join(p.stem for p in discover()) or "none"))
        return 0
    only, passthrough = _split_only(argv)
    scripts = [p for p in discover() if only is None or p.stem in only]
    if only is not None and (unknown := only - {p.stem for p in scripts}):
        print(f"run_all: no benchmark named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if not scripts:
        print("run_all: no benchmark found", file=sys.stderr)
        return 2
    outcomes: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"\n===== {script.stem} {' '.join(passthrough)}".rstrip() + " =====", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *passthrough])
        outcomes.append((script.stem, code, time.perf_counter() - started))
    print("\n===== summary =====")
    for name, code, seconds in outcomes:
        print(f"{name:<24} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:7.1f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
