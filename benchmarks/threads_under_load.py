"""One thread or every core? A boosting fit's speed while other programs use the machine.

The studio gives a LightGBM fit on 10k rows or more (and every CatBoost fit) a thread per core, but
only while a core is idle (:mod:`automlops.core.cores`). This benchmark measures the rule's reason
and its threshold: the same fit on one thread and on every core while *other processes* keep
0, 0.25, 0.5, 0.75, 1 or 2 cores busy (each a loop that spins that share of every 20 ms), and what
:func:`automlops.core.cores.idle_cores` reads meanwhile (the rule gives threads from
:data:`~automlops.core.cores.MIN_IDLE_CORES`).

Run on an otherwise idle machine: ``.venv/bin/python benchmarks/threads_under_load.py [--repeats 3]``;
writes ``benchmarks/results/threads_under_load.json``. Medians of the repeats, seconds per fit.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(__file__).resolve().parent / "results"
PERIOD = 0.02  # seconds: a competitor spins `share` of each period and sleeps the rest


def _compete(share: float, stop: Any) -> None:
    while not stop.is_set():
        start = time.monotonic()
        while time.monotonic() - start < share * PERIOD:
            pass
        if share < 1.0:
            time.sleep((1.0 - share) * PERIOD)


def _competitors(busy_cores: float) -> tuple[list[mp.Process], Any]:
    """Processes keeping ``busy_cores`` cores busy in all: whole spinners plus one partial one."""
    stop = mp.Event()
    shares = [1.0] * int(busy_cores) + ([busy_cores - int(busy_cores)] if busy_cores % 1 else [])
    procs = [mp.Process(target=_compete, args=(s, stop), daemon=True) for s in shares]
    for p in procs:
        p.start()
    return procs, stop


def _fit_seconds(library: str, threads: int, X: np.ndarray, y: np.ndarray) -> float:
    t0 = time.perf_counter()
    if library == "lightgbm":
        import lightgbm as lgb

        lgb.LGBMRegressor(n_estimators=300, learning_rate=0.05, n_jobs=threads, verbosity=-1).fit(X, y)
    else:
        import catboost as cb

        cb.CatBoostRegressor(iterations=300, learning_rate=0.1, depth=6, thread_count=threads, verbose=0).fit(X, y)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--loads", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0, 2.0])
    parser.add_argument("--libraries", nargs="+", default=["lightgbm", "catboost"])
    args = parser.parse_args()
    from sklearn.datasets import make_friedman1

    from automlops.core import cores

    X, y = make_friedman1(n_samples=args.rows, n_features=20, random_state=0)
    every = min(cores.cores(), 4)
    rows: list[dict[str, Any]] = []
    print(f"{cores.cores()} cores; threshold MIN_IDLE_CORES = {cores.MIN_IDLE_CORES}")
    print("| library | other programs' cores | idle_cores() | rule | 1 thread s | "
          f"{every} threads s | {every} threads / 1 |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for busy in args.loads:
        procs, stop = _competitors(busy)
        try:
            time.sleep(1.0)
            cores._last.clear()
            cores.idle_cores()
            time.sleep(2.0)
            idle = cores.idle_cores()
            for library in args.libraries:
                one, many = [], []
                for _ in range(args.repeats):
                    one.append(_fit_seconds(library, 1, X, y))
                    many.append(_fit_seconds(library, every, X, y))
                row = {"library": library, "busy_elsewhere": busy, "idle_cores": idle,
                       "rule": "threads" if idle >= cores.MIN_IDLE_CORES else "one thread",
                       "one_thread_s": statistics.median(one), "every_core_s": statistics.median(many)}
                rows.append(row)
                print(f"| {library} | {busy:g} | {idle:.2f} | {row['rule']} | {row['one_thread_s']:.2f} | "
                      f"{row['every_core_s']:.2f} | {row['every_core_s'] / row['one_thread_s']:.2f} |", flush=True)
        finally:
            stop.set()
            for p in procs:
                p.join(timeout=5)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "threads_under_load.json").write_text(json.dumps({"rows": args.rows, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
