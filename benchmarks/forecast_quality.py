"""Forecast quality: the studio's forecasting engine against each statsforecast model alone.

What is measured, and why
-------------------------
Ten classic series that ship offline: statsmodels' ``co2`` (weekly CO₂ at Mauna Loa, **resampled
to monthly means** – weekly data would make the season 52 steps long, which ETS cannot model; the
monthly mean of the weeks present is the usual way to read it), ``sunspots`` and ``nile`` (yearly),
three ``macrodata`` columns (``realgdp``, ``cpi``, ``unemp``; quarterly, seasonally adjusted), and
pmdarima's ``airpassengers``, ``wineind`` (monthly) and ``woolyrnq`` (quarterly), whose numbers are
copied in ``benchmarks/data/pmdarima_series.json`` (pmdarima itself is not installed).

For each series the last ``h`` points are the test window (12 for monthly, 8 for quarterly, 10
for yearly data). Contenders, each fitted on everything before the window:

* ``ours`` – ``SearchDriver(ForecastingEngine(target, time, horizon=h), DriverConfig(time_budget=B))``
  with the default preset (``medium``) and ``B = 30`` s (``--quick``: 10 s); the engine keeps the
  same last ``h`` points as its own test window, so its ``test_metrics["mase"]`` is on exactly those;
* ``AutoETS``, ``AutoARIMA``, ``AutoTheta`` – statsforecast's automatic models with the season
  length of the frequency (12, 4, or 1 for yearly data), fitted once with default settings;
* ``SeasonalNaive`` – the value one season ago (the last value for yearly data).

Score: **MASE** on the test window – the mean absolute error divided by the in-sample mean
absolute error of the seasonal naive forecast on the training part (the same
:func:`automlops.forecasting.backtest.naive_scale` for every contender). Targets (the issue's
quality bar): ours ≤ the best single Auto* model, and ours ≤ 0.9 × SeasonalNaive on the seasonal
series (co2, airpassengers, wineind, woolyrnq).

Run-to-run variation: under a time budget the number of trials depends on the machine's speed at
that moment, so the tuned lag models – and the ensemble built from the best few – differ between
runs. Two runs of the same code on the 2-core development machine gave a geometric mean of
ours / best-Auto* of 1.065 and 1.115; read single cells with that in mind. With the statistical
combination as the default choice (see :mod:`automlops.forecasting.ensemble`) two runs gave 1.067
and 1.139: co2 and wineind improve in every run (the combination is shipped), while sunspots and
nile swing with the tuned lag models the search happens to find. Replaying the same searches'
candidates with and without the rule (paired, so the search noise cancels) lowered the ratio by
about 4 % each time (1.048 → 1.008, 1.141 → 1.094, 1.107 → 1.066).

Usage::

    .venv/bin/python benchmarks/forecast_quality.py [--quick] [--budget 30] [--only airpassengers,nile]

prints a markdown table and writes ``benchmarks/results/forecast_quality.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
SEASONAL = {"co2", "airpassengers", "wineind", "woolyrnq"}


def _statsmodels(name: str) -> pd.DataFrame:
    import statsmodels.api as sm

    if name == "co2":
        weekly = sm.datasets.co2.load_pandas().data["co2"]
        monthly = weekly.resample("MS").mean().interpolate()  # a few months have no weekly reading
        return pd.DataFrame({"ds": monthly.index, "y": monthly.to_numpy()})
    if name == "sunspots":
        d = sm.datasets.sunspots.load_pandas().data
        return pd.DataFrame({"ds": pd.to_datetime(d["YEAR"].astype(int).astype(str)), "y": d["SUNACTIVITY"]})
    if name == "nile":
        d = sm.datasets.nile.load_pandas().data
        return pd.DataFrame({"ds": pd.to_datetime(d["year"].astype(int).astype(str)), "y": d["volume"]})
    d = sm.datasets.macrodata.load_pandas().data
    ds = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q")
    return pd.DataFrame({"ds": ds.to_timestamp(), "y": d[name.split(":")[1]]})


def _pmdarima(name: str) -> pd.DataFrame:
    spec = json.loads((ROOT / "data" / "pmdarima_series.json").read_text())["series"][name]
    ds = pd.date_range(spec["start"], periods=len(spec["values"]), freq=spec["freq"])
    return pd.DataFrame({"ds": ds, "y": np.asarray(spec["values"], float)})


# name -> (loader, horizon, season)
SERIES: dict[str, tuple[Callable[[str], pd.DataFrame], int, int]] = {
    "co2": (_statsmodels, 12, 12), "sunspots": (_statsmodels, 10, 1), "nile": (_statsmodels, 10, 1),
    "macro:realgdp": (_statsmodels, 8, 4), "macro:cpi": (_statsmodels, 8, 4), "macro:unemp": (_statsmodels, 8, 4),
    "airpassengers": (_pmdarima, 12, 12), "wineind": (_pmdarima, 12, 12), "woolyrnq": (_pmdarima, 8, 4),
}


def _baselines(frame: pd.DataFrame, h: int, m: int, freq: str) -> dict[str, float]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    from automlops.forecasting.backtest import naive_scale

    train, test = frame.iloc[:-h], frame.iloc[-h:]
    scale = naive_scale(train["y"].to_numpy(), m)
    models = [AutoETS(season_length=m), AutoARIMA(season_length=m), AutoTheta(season_length=m), SeasonalNaive(m)]
    sf = StatsForecast(models=models, freq=freq, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sf.forecast(df=train.assign(unique_id="s"), h=h)
    truth = test["y"].to_numpy()
    return {str(mdl.alias): float(np.mean(np.abs(truth - fc[str(mdl.alias)].to_numpy())) / scale) for mdl in models}


def run_one(name: str, budget: float) -> dict[str, Any]:
    """Our engine and the four baselines on one series' last window."""
    from automlops.forecasting import ForecastingEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    loader, h, m = SERIES[name]
    frame = loader(name.split(":")[0] if loader is _pmdarima else name)
    t0 = time.monotonic()
    result = SearchDriver(ForecastingEngine("y", "ds", horizon=h), DriverConfig(time_budget=budget)).fit(frame)
    wall = time.monotonic() - t0
    freq = str(result.artifact.meta["freq"])
    base = _baselines(frame, h, m, freq)
    best_auto = min(base["AutoETS"], base["AutoARIMA"], base["AutoTheta"])
    ours = float(result.test_metrics["mase"])
    return {"series": name, "n": len(frame), "freq": freq, "h": h, "season": m, "ours": ours,
            "ours_model": result.best_model, "ours_params": json.loads(json.dumps(dict(result.best_params), default=str)),
            "val_mase": result.val_score, "wall_seconds": wall, "n_trials": result.n_trials, **base,
            "best_auto": best_auto, "beats_best_auto": ours <= best_auto + 1e-9,
            "beats_0.9_snaive": (ours <= 0.9 * base["SeasonalNaive"]) if name in SEASONAL else None,
            "coverage_80": result.test_metrics.get("coverage_80"), "coverage_95": result.test_metrics.get("coverage_95")}


def _table(rows: list[dict[str, Any]], budget: float) -> str:
    head = ("| series | n | h | ours (model) | AutoETS | AutoARIMA | AutoTheta | SeasonalNaive | ≤ best Auto* | "
            "≤ 0.9·SNaive | wall s |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        sn = "n/a" if r["beats_0.9_snaive"] is None else ("yes" if r["beats_0.9_snaive"] else "no")
        lines.append(f"| {r['series']} | {r['n']} | {r['h']} | **{r['ours']:.3f}** ({r['ours_model']}) | "
                     f"{r['AutoETS']:.3f} | {r['AutoARIMA']:.3f} | {r['AutoTheta']:.3f} | {r['SeasonalNaive']:.3f} | "
                     f"{'yes' if r['beats_best_auto'] else 'no'} | {sn} | {r['wall_seconds']:.1f} |")
    wins = sum(r["beats_best_auto"] for r in rows)
    seasonal = [r for r in rows if r["beats_0.9_snaive"] is not None]
    lines.append(f"\nLast-window MASE (lower is better), budget {budget:g} s per series, preset medium. "
                 f"Ours ≤ the best single Auto* (picked in hindsight, per series) on {wins}/{len(rows)} series; "
                 f"≤ 0.9 × SeasonalNaive on {sum(bool(r['beats_0.9_snaive']) for r in seasonal)}/{len(seasonal)} "
                 "seasonal series.\n\n| ours vs | series where ours ≤ it | geometric mean of ours / it |\n|---|---|---|")
    for name in ("best_auto", "AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive"):
        ratio = float(np.exp(np.mean([np.log(r["ours"] / r[name]) for r in rows])))
        lines.append(f"| {name} | {sum(r['ours'] <= r[name] + 1e-9 for r in rows)}/{len(rows)} | {ratio:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per series instead of 30 s")
    parser.add_argument("--budget", type=float, default=None, help="seconds per series (default 30)")
    parser.add_argument("--only", default=None, help="comma-separated series names")
    args = parser.parse_args()
    budget = args.budget or (10.0 if args.quick else 30.0)
    names = args.only.split(",") if args.only else list(SERIES)
    rows = []
    for name in names:
        rows.append(run_one(name, budget))
        r = rows[-1]
        print(f"{name}: ours {r['ours']:.3f} ({r['ours_model']}), best Auto* {r['best_auto']:.3f}, "
              f"SeasonalNaive {r['SeasonalNaive']:.3f}, {r['wall_seconds']:.1f} s", flush=True)
    print(_table(rows, budget))
    out = ROOT / "results" / "forecast_quality.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"budget": budget, "rows": rows}, indent=2, default=str))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
