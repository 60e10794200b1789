"""How long does a drift check take? :func:`automlops.mlops.drift.detect_drift` on 10k × 20 rows.

The table is synthetic but shaped like real traffic: 16 numeric columns (normal, log-normal,
integer counts) and 4 categorical ones, 10,000 reference rows and 10,000 current rows with a
shift planted in 3 columns. With more than 1,000 reference rows Evidently uses Wasserstein
(numeric) and Jensen-Shannon (categorical) distances. Each size is timed as the median of 3
runs after one warm-up (Evidently's ~5 s import is reported apart), without and with the HTML
report, and 1k × 20 (K-S / chi-square) for comparison. Results go to
``benchmarks/results/drift_speed.json``.

    python benchmarks/drift_speed.py            # 1k and 10k rows, with and without HTML (~1 min)
    python benchmarks/drift_speed.py --quick    # 10k rows without HTML only
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from automlops.mlops.drift import detect_drift  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "drift_speed.json"


def table(rows: int, seed: int, shift: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(8):
        data[f"num{i}"] = rng.normal(10 * i, 1 + i, rows)
    for i in range(4):
        data[f"skew{i}"] = rng.lognormal(1, 0.5, rows)
    for i in range(4):
        data[f"count{i}"] = rng.poisson(3 + i, rows)
    for i in range(4):
        data[f"cat{i}"] = rng.choice([f"c{k}" for k in range(3 + i)], rows)
    frame = pd.DataFrame(data)
    if shift:
        frame["num0"] += 1.0
        frame["skew1"] *= 1.5
        frame["cat2"] = np.where(rng.random(rows) < 0.4, "c0", frame["cat2"])
    return frame


def timed(reference: pd.DataFrame, current: pd.DataFrame, html: Path | None, repeats: int = 3) -> tuple[float, int]:
    detect_drift(reference, current, html_path=html)  # warm-up
    times, drifted = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        report = detect_drift(reference, current, html_path=html)
        times.append(time.perf_counter() - started)
        drifted = len(report.drifted_columns)
    return statistics.median(times), drifted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    import evidently  # noqa: F401 - the import cost, measured once

    import_s = time.perf_counter() - started
    cases = [(10_000, False)] if args.quick else [(1_000, False), (10_000, False), (10_000, True)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, html in cases:
            reference, current = table(n, 0, False), table(n, 1, True)
            seconds, drifted = timed(reference, current, Path(tmp) / "report.html" if html else None)
            rows.append({"rows": n, "columns": 20, "html": html, "median_s": round(seconds, 3),
                         "drifted_columns": drifted})
    print(f"evidently import: {import_s:.2f} s (once per process)")
    print(f"{'reference × current':<22}{'columns':>8}{'HTML':>6}{'median of 3 (s)':>17}{'drifted':>9}")
    for r in rows:
        print(f"{r['rows']:>8,} × {r['rows']:<11,}{r['columns']:>8}{'yes' if r['html'] else 'no':>6}"
              f"{r['median_s']:>17.2f}{r['drifted_columns']:>9}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"import_s": round(import_s, 2), "runs": rows}, indent=2) + "\n")
    # 10k rows (distances): exactly the three planted shifts. 1k rows (p-values at 5 %): at least those three,
    # and p-value tests also flag a column or two by chance (5 % of 17 unshifted columns each time).
    ok = all(r["drifted_columns"] == 3 if r["rows"] > 1000 else r["drifted_columns"] >= 3 for r in rows)
    if not ok:
        print("unexpected: the planted shifts were not found as expected", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
