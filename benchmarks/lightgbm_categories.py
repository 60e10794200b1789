"""LightGBM on category columns: ordinal codes / target encoding against its own categorical splits.

The zoo hands LightGBM (and LightGBM XT) every text column as integer codes it splits on itself
("native" encoding, ``zoo_boosting.LIGHTGBM_CATEGORIES``). This benchmark is the measurement behind
that choice: each model at the zoo's defaults (early-stopped as in a search), fitted on the same
80 % of a table and scored on the other 20 %, three seeded splits, mean of the three, for

* ``codes``  - the "ordinal" preprocessing the other trees get: codes, target encoding above 20 categories;
* ``native_lgbm`` - native splits of every category column with LightGBM's own guards (100 rows a group,
  smoothing 10);
* ``native_zoo``  - the same with the zoo's guards (``LIGHTGBM_CATEGORIES``): LightGBM XT's encoding;
* ``few_zoo`` - native splits of the columns of up to 20 categories, target encoding above
  ("native_few"), the zoo's guards: plain LightGBM's encoding.

Tables: the mid-size and fresh suites' tables (``_midsize.py``) with a column of 3 or more categories.
Lower is better for every metric shown (RMSE, log-loss) except ROC-AUC.

    .venv/bin/python benchmarks/lightgbm_categories.py            # 10 tables, ~4 min
    .venv/bin/python benchmarks/lightgbm_categories.py --quick    # sumhes_gdp and males_industry, ~20 s
    .venv/bin/python benchmarks/lightgbm_categories.py --tables wage_wage --models lightgbm_xt

writes ``benchmarks/results/lightgbm_categories.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import _midsize  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TABLES = ("sumhes_gdp", "males_industry", "wage_wage", "star_tmathssk", "car_choice", "bikeshare_bikers",
          "happiness_happy", "census2000_lweekinc", "weather_temp", "diamonds_price")
QUICK_TABLES = ("sumhes_gdp", "males_industry")
LIGHTGBM_OWN_GUARDS = {"min_data_per_group": 100, "cat_smooth": 10.0}
SEEDS = (0, 1, 2)


def _score(pipe: Any, X: Any, y: np.ndarray, regression: bool) -> float:
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    if regression:
        return float(mean_squared_error(y, pipe.predict(X)) ** 0.5)
    proba = pipe.predict_proba(X)
    if len(pipe.classes_) == 2:
        return float(roc_auc_score(y == pipe.classes_[1], proba[:, 1]))
    return float(log_loss(y, proba, labels=pipe.classes_))


def measure(table: str, model_name: str) -> dict[str, Any]:
    """Mean test score, rounds and fit seconds of each variant over the seeded splits."""
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from automlops.core.problem import TaskType, infer_problem
    from automlops.tabular.encodings import build_preprocessor, native_categorical_count
    from automlops.tabular.preprocessing import plan_features
    from automlops.tabular.zoo import get_model
    from automlops.tabular.zoo_boosting import LIGHTGBM_CATEGORIES

    frame = _midsize.load_table(table)
    target = _midsize.ALL_TABLES[table].target
    problem = infer_problem(frame, target)
    regression = problem.task is TaskType.REGRESSION
    spec = get_model(model_name)
    variants: dict[str, tuple[str, dict[str, Any]]] = {
        "codes": ("ordinal", {}), "native_lgbm": ("native", LIGHTGBM_OWN_GUARDS),
        "native_zoo": ("native", LIGHTGBM_CATEGORIES), "few_zoo": ("native_few", LIGHTGBM_CATEGORIES)}
    runs: dict[str, list[tuple[float, int, float]]] = {v: [] for v in variants}
    for seed in SEEDS:
        train, test = train_test_split(frame, test_size=0.2, random_state=seed,
                                       stratify=None if regression else frame[target])
        plan = plan_features(train, problem)
        for variant, (encoding, guards) in variants.items():
            model = spec.build(dict(spec.defaults(problem)), problem, seed)
            if encoding != "ordinal":
                model.set_params(categorical_features=list(range(native_categorical_count(plan, encoding))) or None,
                                 **{f"estimator__{k}": v for k, v in guards.items()})
            pipe = Pipeline([("prep", build_preprocessor(plan, scale=False, encoding=encoding, native_missing=True)),
                             ("model", model)])
            started = time.perf_counter()
            pipe.fit(train.drop(columns=[target]), train[target].to_numpy())
            seconds = time.perf_counter() - started
            score = _score(pipe, test.drop(columns=[target]), test[target].to_numpy(), regression)
            runs[variant].append((score, int(model.n_rounds_), seconds))
    metric = "rmse" if regression else ("roc_auc" if frame[target].nunique() == 2 else "log_loss")
    return {"table": table, "model": model_name, "rows": len(frame), "metric": metric,
            **{v: {"score": float(np.mean([s for s, _, _ in r])), "rounds": float(np.mean([n for _, n, _ in r])),
                   "seconds": float(np.mean([t for *_, t in r]))} for v, r in runs.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_TABLES)}")
    parser.add_argument("--tables", help="comma-separated tables (default: the 10 with categories)")
    parser.add_argument("--models", default="lightgbm,lightgbm_xt", help="zoo entries (default: both LightGBMs)")
    args = parser.parse_args(argv)
    tables = args.tables.split(",") if args.tables else list(QUICK_TABLES if args.quick else TABLES)
    if unknown := [t for t in tables if t not in _midsize.ALL_TABLES]:
        print(f"lightgbm_categories: unknown table {', '.join(unknown)} (see automl_quality.py --list)",
              file=sys.stderr)
        return 2
    _midsize.ensure_benchdata()
    warnings.filterwarnings("ignore")
    rows = []
    print("| model | table | rows | metric | codes | native, LightGBM's guards | native, the zoo's guards "
          "| native up to 20 categories, the zoo's guards |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for model_name in args.models.split(","):
        for table in tables:
            row = measure(table, model_name)
            rows.append(row)
            cells = " | ".join(f"{row[v]['score']:.4f} ({row[v]['rounds']:.0f} r)"
                               for v in ("codes", "native_lgbm", "native_zoo", "few_zoo"))
            print(f"| {model_name} | {table} | {row['rows']:,} | {row['metric']} | {cells} |", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lightgbm_categories.json").write_text(json.dumps({"seeds": list(SEEDS), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
