"""What a finished clustering tells people: the JSON-able ``artifact.meta`` and the files beside it.

``meta`` carries everything the dashboard, the API and ``predict_table`` need, as plain lists,
dicts, numbers and strings (the model store writes it to ``meta.json``): the number of clusters and
their sizes, the share of noise rows, the per-cluster profile, a sampled 2-D projection, the internal
scores on the training rows and – when a reference column was given – ARI/NMI against it on the
training rows (fit labels), on the test rows (assigned by ``predict``) and on both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from automlops.clustering.metrics import reference_scores, score_all
from automlops.clustering.profile import cluster_profile, cluster_sizes, projection
from automlops.core.features import CATEGORICAL, DATETIME, HIGH_CARDINALITY, NUMERIC
from automlops.search.engine import DecisionLog

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from automlops.clustering.engine import ClusteringEngine

__all__ = ["build_files", "build_meta"]


def _finite(value: float) -> float | None:
    return round(float(value), 6) if np.isfinite(value) else None


def _reference(engine: ClusteringEngine, train_labels: np.ndarray, test_labels: np.ndarray,
               log: DecisionLog) -> dict[str, Any] | None:
    if engine.truth is None:
        return None
    truth = np.asarray(engine.truth, dtype=object)
    train, test = truth[engine.train_rows], truth[engine.test_rows]
    both = reference_scores(np.concatenate([train, test]), np.concatenate([train_labels, test_labels]))
    out: dict[str, Any] = {"column": engine.reference, "ari": _finite(both["ari"]), "nmi": _finite(both["nmi"]),
                           "train": {k: _finite(v) for k, v in reference_scores(train, train_labels).items()},
                           "test": {k: _finite(v) for k, v in reference_scores(test, test_labels).items()}}
    log("reference", f"agreement with '{engine.reference}' (reported only, never used to choose): ARI {out['ari']}, "
                     f"NMI {out['nmi']} on all rows (test rows: ARI {out['test']['ari']})")
    return out


def build_meta(engine: ClusteringEngine, pipe: Pipeline, train_labels: np.ndarray, test_labels: np.ndarray,
               assigner: str | None, log: DecisionLog) -> dict[str, Any]:
    """The JSON-able description of the fitted clustering (see the module docstring)."""
    ids, sizes, noise = cluster_sizes(train_labels)
    plan = engine.plan
    numeric = plan.columns(NUMERIC)
    categorical = plan.columns(CATEGORICAL) + plan.columns(HIGH_CARDINALITY)
    dates = plan.columns(DATETIME)
    model = pipe.steps[-1][1]
    return {
        "task": "clustering", "model": type(getattr(model, "estimator", model)).__name__,
        "metric": engine.metric, "n_clusters": len(ids), "clusters": ids, "cluster_sizes": sizes,
        "noise_count": noise, "noise_share": round(noise / max(len(train_labels), 1), 4),
        "profile": cluster_profile(engine.train, train_labels, numeric, categorical, dates),
        "profile_columns": {"numeric": numeric, "categorical": categorical, "datetime": dates},
        "projection": projection(engine.Xt, train_labels, seed=engine.seed),
        "train_scores": {k: _finite(v) for k, v in score_all(engine.Xt, train_labels, seed=engine.seed,
                                                               sample=engine.silhouette_rows).items()},
        "reference_scores": _reference(engine, train_labels, test_labels, log),
        "assigner": assigner, "input_columns": list(plan.input_columns), "feature_schema": plan.schema(),
        "n_train_rows": int(len(train_labels)), "n_test_rows": int(len(test_labels)),
        "silhouette_rows": int(engine.silhouette_rows),  # the silhouette's sample (the exported script reads it)
    }


def build_files(meta: dict[str, Any]) -> dict[str, str]:
    """``projection.html`` (plotly, loading plotly.js from its CDN) and ``profile.csv``."""
    import pandas as pd

    from automlops.clustering.plots import figures

    html = figures(meta)["projection"].to_html(include_plotlyjs="cdn", full_html=True)
    return {"projection.html": html, "profile.csv": pd.DataFrame(meta["profile"]).to_csv(index=False)}
