"""Forecasting's choice rule, replayed: the same search, several ways to choose what ships.

Why a replay
------------
Under a time budget the forecasting search differs from run to run (which trials finish, which
lag models it finds), and that noise is larger than the effect of the rule that picks what ships
from the finished trials. So this benchmark runs **one** search per series, keeps its ranked
candidates, and applies every rule to the *same* candidates; each rule's choice is then fitted on
everything before the test window and scored there (MASE). The differences between columns are
the rules' alone.

Rules compared (see :mod:`automlops.forecasting.ensemble`):

* ``studio`` – what the engine ships: the statistical combination (M4 "comb") unless an option
  backtests ≥ 10 % better **and** its gain per cut-off is larger than its standard error;
* ``margin`` – the 10 % margin alone (the rule before the standard-error check);
* ``comb`` – always the combination;
* ``every-cutoff`` – the margin, and better than the combination at every cut-off.

Series: the nine of ``forecast_quality.py`` (the rule was designed on them), and eleven more from
R's ``datasets`` package as pydataset ships them (nottem, UKgas, USAccDeaths, JohnsonJohnson,
UKDriverDeaths, austres, lynx, LakeHuron, WWWusage, BJsales, nhtemp; read from pydataset's archive
in the benchmark-data environment of the mid-size suite, created on first use): a check that a
rule is not fitted to the nine. The score of each column is the geometric mean of MASE relative
to the best single statsforecast Auto* model on that window (picked in hindsight).

Usage::

    .venv/bin/python benchmarks/forecast_choice_replay.py [--quick] [--budget 30] [--only nile,lynx]

``--quick``: 10 s per series, four series. Prints a markdown table and writes
``benchmarks/results/forecast_choice_replay.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import forecast_quality as fq  # noqa: E402  (a sibling benchmark: its series and baselines)

# R series: name -> (periods a year, 0 = a plain index; horizon; season)
R_SERIES: dict[str, tuple[int, int, int]] = {
    "nottem": (12, 12, 12), "UKgas": (4, 8, 4), "USAccDeaths": (12, 12, 12), "JohnsonJohnson": (4, 8, 4),
    "UKDriverDeaths": (12, 12, 12), "austres": (4, 8, 4), "lynx": (1, 10, 1), "LakeHuron": (1, 10, 1),
    "WWWusage": (0, 10, 1), "BJsales": (0, 10, 1), "nhtemp": (1, 10, 1)}
QUICK = ("nile", "airpassengers", "lynx", "UKgas")
RULES = ("studio", "margin", "comb", "every-cutoff")


def load_r_series(name: str) -> pd.DataFrame:
    """One of R's ``datasets`` series from pydataset's archive, as ``ds`` (month/quarter/year starts) + ``y``."""
    from _midsize import ensure_benchdata

    per_year = R_SERIES[name][0]
    with tarfile.open(ensure_benchdata() / "pydataset" / "resources.tar.gz") as tar:
        handle = tar.extractfile(f"resources/rdata/csv/datasets/{name}.csv")
        if handle is None:
            raise FileNotFoundError(name)
        raw = pd.read_csv(handle)
    y = raw.iloc[:, 2].to_numpy(float)
    if per_year == 0:  # a plain index: yearly steps stand in for it (season 1)
        return pd.DataFrame({"ds": pd.date_range("1900-01-01", periods=len(y), freq="YS"), "y": y})
    t = raw["time"].to_numpy(float)
    year = np.floor(t + 1e-6).astype(int)
    month = 1 + np.round((t - year) * per_year).astype(int) * (12 // per_year)
    return pd.DataFrame({"ds": pd.to_datetime({"year": year, "month": month, "day": 1}), "y": y})


def _series(name: str) -> tuple[pd.DataFrame, int, int]:
    if name in R_SERIES:
        return load_r_series(name), R_SERIES[name][1], R_SERIES[name][2]
    loader, h, m = fq.SERIES[name]
    return loader(name.split(":")[0] if loader is fq._pmdarima else name), h, m


def _rule_choice(engine: Any, ranked: Sequence[Any], rule: str) -> Any:
    """What ``rule`` would ship from the search's ranked trials (the ensemble module's own building blocks)."""
    from automlops.forecasting import ensemble as ens
    from automlops.forecasting.engine import FORECAST_PRESETS

    bt, size = engine.backtester, FORECAST_PRESETS.get(engine.preset).ensemble_size
    frames = {o.model: bt.decode(o.payload) for o in ranked if o.payload}
    usable = [o for o in ranked if o.model in frames]
    records = [bt.record(o.model, frames[o.model]) for o in usable]
    quiet: Callable[[str, str], None] = lambda topic, message: None  # noqa: E731
    if rule == "studio":
        return ens._choose(usable, frames, records, bt, size, quiet)
    comb = ens._comb_option(usable, frames, bt)
    if comb is None:
        return ens._choose(usable, frames, records, bt, size, quiet)
    if rule == "comb":
        return ens._ensemble_choice(comb, usable[0], records, bt, quiet)
    options = ens._options(usable, frames, bt, size) if len(usable) > 1 else []
    leads, value, frame = ens._leader(options, usable[0], frames)
    clearly = value <= (1 - ens.MARGIN) * comb.value
    if rule == "every-cutoff":
        clearly = clearly and bool((ens._fold_gains(comb, frame, bt) > 0).all())
    if not clearly:
        return ens._ensemble_choice(comb, usable[0], records, bt, quiet)
    if leads:
        return ens._ensemble_choice(options[0], usable[0], records, bt, quiet)
    return ens._choose([usable[0]], frames, records, bt, size, quiet)  # the single best model


def replay_one(name: str, budget: float) -> dict[str, Any]:
    """One search on ``name``; every rule's choice scored on the test window."""
    from automlops.forecasting.engine import ForecastingEngine
    from automlops.forecasting.finalize import _test_metrics, build_forecaster
    from automlops.search.driver import DriverConfig, SearchDriver

    kept: dict[str, Any] = {}

    class KeepingRanked(ForecastingEngine):
        def choose(self, ranked: Sequence[Any], log: Any, budget: Any) -> Any:
            kept["ranked"] = list(ranked)
            return super().choose(ranked, log, budget)

    frame, h, m = _series(name)
    engine = KeepingRanked("y", "ds", horizon=h)
    result = SearchDriver(engine, DriverConfig(time_budget=budget)).fit(frame)
    base = fq._baselines(frame, h, m, str(result.artifact.meta["freq"]))
    row: dict[str, Any] = {"series": name, "n": len(frame), "h": h, "trials": result.n_trials,
                           "best_auto": min(base["AutoETS"], base["AutoARIMA"], base["AutoTheta"])}
    for rule in RULES:
        choice = _rule_choice(engine, kept["ranked"], rule)
        fitted = build_forecaster(choice.recipe, engine.rest, engine.ctx, engine.data.season, engine.h, rule)
        row[rule] = _test_metrics(fitted, engine)["mase"]
        row[f"{rule}_members"] = "+".join(c.model for c in choice.recipe.members)
    return row


def _table(rows: list[dict[str, Any]], budget: float) -> str:
    lines = ["| series | trials | " + " | ".join(RULES) + " | best Auto* | studio ships |",
             "|---|---:|" + "---:|" * len(RULES) + "---:|---|"]
    for r in rows:
        lines.append(f"| {r['series']} | {r['trials']} | " + " | ".join(f"{r[k]:.3f}" for k in RULES)
                     + f" | {r['best_auto']:.3f} | {r['studio_members']} |")
    groups = {"forecast_quality's series": [r for r in rows if r["series"] not in R_SERIES],
              "R's series": [r for r in rows if r["series"] in R_SERIES]}
    lines.append(f"\nTest-window MASE; one search per series at {budget:g} s, every rule applied to its trials. "
                 "Geometric mean of MASE / best Auto*:\n\n| series | " + " | ".join(RULES) + " |\n|---|"
                 + "---:|" * len(RULES))
    for label, group in groups.items():
        if group:
            ratios = [np.exp(np.mean([np.log(r[k] / r["best_auto"]) for r in group])) for k in RULES]
            lines.append(f"| {label} ({len(group)}) | " + " | ".join(f"{v:.3f}" for v in ratios) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"10 s per series, {len(QUICK)} series")
    parser.add_argument("--budget", type=float, default=None, help="seconds per series (default 30)")
    parser.add_argument("--only", default=None, help="comma-separated series names")
    args, _ = parser.parse_known_args()
    budget = args.budget or (10.0 if args.quick else 30.0)
    names = args.only.split(",") if args.only else list(QUICK) if args.quick else [*fq.SERIES, *R_SERIES]
    rows = []
    started = time.monotonic()
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows.append(replay_one(name, budget))
        r = rows[-1]
        print(f"{name}: " + ", ".join(f"{k} {r[k]:.3f}" for k in RULES) + f" (best Auto* {r['best_auto']:.3f})",
              flush=True)
    print(_table(rows, budget))
    out = ROOT / "results" / "forecast_choice_replay.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"budget": budget, "seconds": time.monotonic() - started, "rows": rows}, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
