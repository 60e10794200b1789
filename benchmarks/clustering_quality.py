"""Clustering quality: does the studio's default clustering find the known classes as well as KMeans told the true k?

For iris, wine, penguins (palmerpenguins; rows with a missing value dropped, so both sides see the
same complete rows) and breast_cancer, the class column is hidden from the features and given as
the engine's ``reference`` (reported only, never used to choose). Ours: ``ClusteringEngine()`` with
the ``medium`` preset (60 trials over every algorithm, selection by silhouette). The peer: a default
``KMeans(n_clusters=true k, random_state=0)`` fitted on exactly our features – the same preprocessor
(median imputation, standardisation, one-hot categories) fitted on the same training rows. The ARI
is measured on every row: training rows by their fit labels, the 20 % test rows as each model assigns
them with ``predict``.

Two runs of ours per table: **k found** (the default: the search chooses k as well, so it competes
with less information than the peer, which is told the true k) and **k given** (``n_clusters=true k``,
the CLI's ``--clusters``: the same information as the peer; the search still chooses the algorithm and
its settings). The ARI in ``meta.json`` is rounded to 6 decimals, so "ours ≥ peer" allows 1e-6.

Usage: ``.venv/bin/python benchmarks/clustering_quality.py [--quick] [--metric silhouette] [--seeds 0 1 2]``
(``--quick``: the fast preset). Prints a markdown table and writes ``benchmarks/results/clustering_quality[_METRIC].json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def _sklearn(loader: Callable[..., object]) -> Callable[[], tuple[pd.DataFrame, str]]:
    def load() -> tuple[pd.DataFrame, str]:
        frame = loader(as_frame=True).frame.rename(columns={"target": "label"})  # type: ignore[attr-defined]
        return frame, "label"

    return load


def _penguins() -> tuple[pd.DataFrame, str]:
    from palmerpenguins import load_penguins

    return load_penguins().dropna().reset_index(drop=True), "species"


def datasets() -> dict[str, Callable[[], tuple[pd.DataFrame, str]]]:
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine

    return {"iris": _sklearn(load_iris), "wine": _sklearn(load_wine), "penguins": _penguins,
            "breast_cancer": _sklearn(load_breast_cancer)}


def _baseline_ari(result: object, frame: pd.DataFrame, reference: str, seed: int) -> float:
    """Default KMeans with the true k on our preprocessing, fitted on our training rows."""
    from sklearn.base import clone
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.pipeline import Pipeline

    test = np.asarray(result.test_rows)  # type: ignore[attr-defined]
    train = np.setdiff1d(np.arange(len(frame)), test)
    columns = list(result.input_columns)  # type: ignore[attr-defined]
    k = frame[reference].nunique()
    pipe = Pipeline([("prep", clone(result.artifact.obj[:-1])),  # type: ignore[attr-defined]
                     ("model", KMeans(n_clusters=k, random_state=seed))]).fit(frame.iloc[train][columns])
    labels = np.concatenate([pipe[-1].labels_, pipe.predict(frame.iloc[test][columns])])
    truth = np.concatenate([frame[reference].to_numpy()[train], frame[reference].to_numpy()[test]])
    return float(adjusted_rand_score(truth.astype(str), labels))


TOLERANCE = 1e-6  # meta.json's ARI is rounded to 6 decimals


def _fit(frame: pd.DataFrame, reference: str, preset: str, metric: str, seed: int,
         n_clusters: int | None) -> tuple[object, float]:
    from automlops.clustering import ClusteringEngine
    from automlops.search.driver import DriverConfig, SearchDriver

    started = time.perf_counter()
    engine = ClusteringEngine(reference=reference, metric=metric, preset=preset, seed=seed, n_clusters=n_clusters)
    result = SearchDriver(engine, DriverConfig(preset=preset, seed=seed)).fit(frame)
    return result, time.perf_counter() - started


def run_one(name: str, preset: str, metric: str, seed: int) -> dict[str, object]:
    frame, reference = datasets()[name]()
    true_k = int(frame[reference].nunique())
    result, seconds = _fit(frame, reference, preset, metric, seed, None)
    told, _ = _fit(frame, reference, preset, metric, seed, true_k)
    meta = result.artifact.meta  # type: ignore[attr-defined]
    ours = float(meta["reference_scores"]["ari"])
    given = float(told.artifact.meta["reference_scores"]["ari"])  # type: ignore[attr-defined]
    base = _baseline_ari(result, frame, reference, seed)
    return {"dataset": name, "seed": seed, "rows": len(frame), "true_k": true_k,
            "model": result.best_model, "k": meta["n_clusters"], "noise_share": meta["noise_share"],  # type: ignore[attr-defined]
            "silhouette": round(result.val_score, 4), "ari": round(ours, 4), "nmi": meta["reference_scores"]["nmi"],  # type: ignore[attr-defined]
            "model_given_k": told.best_model, "ari_given_k": round(given, 4),  # type: ignore[attr-defined]
            "kmeans_true_k_ari": round(base, 4), "passes": bool(ours >= base - TOLERANCE),
            "passes_given_k": bool(given >= base - TOLERANCE), "seconds": round(seconds, 1)}


def _summary(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Per data set: mean ARI of ours and of the peer over the seeds, and how often ours was at least as good."""
    frame = pd.DataFrame(rows)
    out = []
    for name, group in frame.groupby("dataset", sort=False):
        out.append({"dataset": name, "seeds": len(group), "ari": round(float(group["ari"].mean()), 4),
                    "ari_given_k": round(float(group["ari_given_k"].mean()), 4),
                    "kmeans_true_k_ari": round(float(group["kmeans_true_k_ari"].mean()), 4),
                    "wins": int(group["passes"].sum()), "wins_given_k": int(group["passes_given_k"].sum()),
                    "seconds": round(float(group["seconds"].mean()), 1)})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the fast preset instead of medium")
    parser.add_argument("--metric", default="silhouette")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2 3 4 (--quick: 0)")
    parser.add_argument("--datasets", nargs="+", default=list(datasets()))
    args = parser.parse_args()
    preset = "fast" if args.quick else "medium"
    seeds = args.seeds if args.seeds is not None else ([0] if args.quick else [0, 1, 2, 3, 4])
    rows = [run_one(name, preset, args.metric, seed) for seed in seeds for name in args.datasets]
    header = ["dataset", "seed", "rows", "true_k", "model", "k", "noise_share", "silhouette", "ari",
              "model_given_k", "ari_given_k", "kmeans_true_k_ari", "passes", "passes_given_k", "seconds"]
    print(f"preset {preset}, selection by {args.metric}\n")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in header) + " |")
    summary = _summary(rows)
    print("\n| dataset | seeds | mean ARI (ours, k found) | mean ARI (ours, k given) | mean ARI (KMeans, true k) "
          "| k found ≥ peer | k given ≥ peer | mean seconds |\n|---|---|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['dataset']} | {s['seeds']} | {s['ari']:.4f} | {s['ari_given_k']:.4f} | {s['kmeans_true_k_ari']:.4f} | "
              f"{s['wins']}/{s['seeds']} | {s['wins_given_k']}/{s['seeds']} | {s['seconds']:.1f} |")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("clustering_quality.json" if args.metric == "silhouette" else f"clustering_quality_{args.metric}.json")
    out.write_text(json.dumps({"preset": preset, "metric": args.metric, "rows": rows, "summary": summary}, indent=2))
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
