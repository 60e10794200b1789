"""Anomaly detection quality: the studio's engine against every PyOD detector at default settings.

What is measured
----------------
Real tables with **planted anomalies at known rows** (the label column is removed before the
engine sees the table: no label is used for fitting or for selection):

* ``breast_cancer`` – all benign tumours plus malignant ones subsampled to 5 % of the rows
  (a different random subsample per repeat);
* ``wine`` – 5 % of the rows of one (random) cultivar pushed 5 standard deviations along a random
  direction (per column standard deviations), the classic "injected outliers" set-up;
* ``digits`` (extra, harder) – the 8×8 digits 1–9 as normal rows and 3 % zeros as anomalies.

For each table and repeat: every detector of the engine's registry at PyOD defaults, fitted on all
rows after the same preprocessing (standardised columns), scored on all rows (transductive, as in
the ODDS / ADBench benchmarks); and ``SearchDriver(AnomalyEngine(), time_budget=B)`` fitted on the
same table, its shipped model (refitted on every row) scoring every row. ROC-AUC against the
planted labels. ``best single`` is the best default detector chosen *with hindsight* (with the
labels) – an oracle the unsupervised engine has to be compared with honestly.

``--select-by-label`` measures the other mode the engine offers: the planted labels are given as a
label column with ``select_by_label=True``, so the search chooses the detector and its settings by
ROC-AUC on its training rows (80 %). Two comparisons are reported: on every row (the labels of the
training rows helped choose; the oracle saw every label) and on the engine's 20 % test rows only,
whose labels nothing of ours has read, against each default detector's scores on those same rows
(the oracle still chosen with hindsight on them).

Run: ``.venv/bin/python benchmarks/anomaly_quality.py [--quick] [--budget 30] [--repeats 3] [--select-by-label]``;
writes ``benchmarks/results/anomaly_quality.json`` (``anomaly_quality_label.json`` with ``--select-by-label``).
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
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from automlops.anomaly import DETECTORS, AnomalyEngine  # noqa: E402
from automlops.anomaly.detectors import fit_detector  # noqa: E402
from automlops.search.driver import DriverConfig, SearchDriver  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
REQUIRED = ("iforest", "ecod", "copod", "lof", "knn", "ocsvm", "hbos")


def breast_cancer(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer(as_frame=True).frame
    benign, malignant = d[d.target == 1], d[d.target == 0]
    malignant = malignant.sample(int(round(0.05 / 0.95 * len(benign))), random_state=seed)
    frame = pd.concat([benign, malignant]).sample(frac=1, random_state=seed).reset_index(drop=True)
    y = (frame.pop("target") == 0).astype(int).to_numpy()
    return frame, y


def wine(seed: int, shift: float = 5.0, share: float = 0.05) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_wine

    d = load_wine(as_frame=True).frame
    cls = d.pop("target").to_numpy()
    X = d.to_numpy(float)
    rng = np.random.default_rng(seed)
    n = int(round(share * len(X)))
    rows = rng.choice(np.flatnonzero(cls == rng.integers(3)), n, replace=False)
    u = rng.normal(size=(n, X.shape[1]))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    X[rows] += shift * u * X.std(axis=0)
    y = np.zeros(len(X), dtype=int)
    y[rows] = 1
    return pd.DataFrame(X, columns=d.columns), y


def digits(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(seed)
    normal = np.flatnonzero(d.target != 0)
    zeros = rng.choice(np.flatnonzero(d.target == 0), int(round(0.03 * len(normal))), replace=False)
    rows = rng.permutation(np.concatenate([normal, zeros]))
    frame = pd.DataFrame(d.data[rows], columns=[f"px{i}" for i in range(64)])
    return frame, (d.target[rows] == 0).astype(int)


DATASETS = {"breast_cancer": breast_cancer, "wine": wine, "digits": digits}


def default_scores(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every registered detector at PyOD defaults, fitted on every (standardised) row: its scores."""
    from sklearn.preprocessing import StandardScaler

    X = frame.loc[:, frame.std() > 0].to_numpy(float)
    Xs = StandardScaler().fit_transform(X)
    out = {}
    for name in DETECTORS.names():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, out[name] = fit_detector(DETECTORS.get(name), {}, Xs, seed=0)
    return out


def aucs(scores: dict[str, np.ndarray], y: np.ndarray, rows: np.ndarray | None = None) -> dict[str, float]:
    """ROC-AUC of each detector's scores on ``rows`` (all rows by default)."""
    pick = slice(None) if rows is None else rows
    return {name: float(roc_auc_score(y[pick], s[pick])) for name, s in scores.items()}


LABEL = "planted"  # the label column given in --select-by-label mode


def ours(frame: pd.DataFrame, y: np.ndarray, budget: float, seed: int, select_by_label: bool = False) -> dict[str, Any]:
    t0 = time.monotonic()
    engine = (AnomalyEngine(seed=seed, label=LABEL, select_by_label=True) if select_by_label
              else AnomalyEngine(seed=seed))
    data = frame.assign(**{LABEL: y}) if select_by_label else frame
    result = SearchDriver(engine, DriverConfig(preset="medium", time_budget=budget, seed=seed)).fit(data)
    wall = time.monotonic() - t0
    scores = result.artifact.obj.score_samples(frame)
    test = result.test_rows
    tested = result.artifact.tested_obj.score_samples(frame.iloc[test])
    test_auc = float(roc_auc_score(y[test], tested)) if 0 < y[test].sum() < len(test) else float("nan")
    return {"auc": float(roc_auc_score(y, scores)), "test_auc": test_auc, "test_rows": np.asarray(test), "wall": wall,
            "model": result.best_model, "trials": result.n_trials,
            "flagged_share": float(result.artifact.meta["flagged_share"]), "true_share": float(y.mean())}


def markdown(frame: pd.DataFrame) -> str:
    """A markdown table (floats with 3 decimals) without the optional ``tabulate`` package."""
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat per table, 10 s budget")
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--select-by-label", action="store_true",
                        help="give ours the planted labels to select with (see the module docstring)")
    args = parser.parse_args()
    budget, repeats = (10.0, 1) if args.quick else (args.budget, args.repeats)
    rows = []
    for name, make in DATASETS.items():
        for seed in range(1 if name == "digits" else repeats):
            frame, y = make(seed)
            scores = default_scores(frame)
            defaults = aucs(scores, y)
            mine = ours(frame, y, budget, seed, args.select_by_label)
            best = max(defaults, key=lambda k: defaults[k])
            best_req = max(REQUIRED, key=lambda k: defaults[k])
            test = mine["test_rows"]
            on_test = aucs(scores, y, test) if 0 < y[test].sum() < len(test) else {}
            rows.append({"dataset": name, "seed": seed, "n": len(frame), "anomalies": int(y.sum()),
                         "ours": mine["auc"], "ours_test_rows": mine["test_auc"], **defaults,
                         "best_single": defaults[best], "best_name": best,
                         "median_single": float(np.median(list(defaults.values()))),
                         "best_required": defaults[best_req], "best_required_name": best_req,
                         "best_single_test_rows": max(on_test.values(), default=float("nan")),
                         "test_anomalies": int(y[test].sum()),
                         "wall_s": mine["wall"], "trials": mine["trials"], "flagged": mine["flagged_share"],
                         "shipped": mine["model"]})
            print(f"{name} seed {seed}: ours {mine['auc']:.3f} vs best single {best} {defaults[best]:.3f} "
                  f"({mine['wall']:.1f} s, {mine['trials']} trials)", flush=True)
    table = pd.DataFrame(rows)
    cols = ["dataset", "seed", "ours", *DETECTORS.names(), "median_single", "best_single", "best_name", "wall_s",
            "flagged"]
    print()
    print(markdown(table[cols]))
    summary = table.assign(gap=table.ours - table.best_single, gap_req=table.ours - table.best_required,
                           gap_test_rows=table.ours_test_rows - table.best_single_test_rows)
    print()
    means = summary.groupby("dataset", sort=False)[["ours", "median_single", "best_single", "best_required",
                                                    "gap", "gap_req", "ours_test_rows", "best_single_test_rows",
                                                    "gap_test_rows", "wall_s"]].mean().reset_index()
    print(markdown(means))
    RESULTS.mkdir(exist_ok=True)
    out = "anomaly_quality_label.json" if args.select_by_label else "anomaly_quality.json"
    (RESULTS / out).write_text(json.dumps({"budget": budget, "select_by_label": args.select_by_label,
                                           "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
