"""The model card says what a clustering, an anomaly detector and a forecaster *are*, not only their scores.

Each model is trained for real by its engine (a few trials), saved to a real model store, and its
card built from what the store holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from automlops.mlops.model_card import build_model_card
from automlops.mlops.store import ModelStore, StoredModel
from automlops.search.driver import DriverConfig, SearchDriver
from automlops.tabular.persist import save_model
from automlops.tasks import TrainOptions, build_engine
from tests.anomaly.conftest import planted_breast_cancer


def _saved(tmp_path: Path, task: str, options: TrainOptions, frame: pd.DataFrame, n_trials: int = 3) -> StoredModel:
    result = SearchDriver(build_engine(task, options), DriverConfig(preset="fast", n_trials=n_trials)).fit(frame)
    return save_model(result, ModelStore(tmp_path / "models"), task)


def _details(stored: StoredModel) -> dict[str, str]:
    return dict(build_model_card(stored).details)


def test_a_clustering_card_gives_its_clusters_their_sizes_and_the_reference(tmp_path: Path) -> None:
    data = load_iris(as_frame=True)
    frame = data.frame.drop(columns="target").assign(species=np.asarray(data.target_names)[data.target])
    stored = _saved(tmp_path, "clustering", TrainOptions(preset="fast", reference="species", models=("kmeans",)),
                    frame)
    details, sizes = _details(stored), stored.meta["cluster_sizes"]
    assert details["clusters"].startswith(f"{len(sizes)}, of sizes {sizes[0]} (")
    assert sum(sizes) == stored.meta["n_train_rows"]
    assert details["new rows"] == "assigned by the fitted model itself"  # KMeans predicts; no assigner
    assert details["reference"].startswith("agreement with 'species' (never used to choose): ARI 0.")
    text = build_model_card(stored).to_markdown()
    assert "## About this model" in text and text.index("## About this model") < text.index("## Scores")
    assert "SHAP values are computed for classification and regression models only." in text
    assert "open *Explain*" not in text  # the Models page has no Explain button for a clustering


def test_an_anomaly_card_gives_its_threshold_contamination_and_flagged_rows(tmp_path: Path) -> None:
    frame = planted_breast_cancer(0)
    stored = _saved(tmp_path, "anomaly", TrainOptions(preset="fast", contamination=0.05, label="anomaly",
                                                      models=("iforest",)), frame, n_trials=2)
    meta, details = stored.meta, _details(stored)
    assert details["threshold"].startswith(f"a row is flagged when its score is above {meta['threshold']:.4f}")
    assert details["contamination"].startswith("given: 0.05")
    assert details["flagged"].startswith(f"{meta['n_flagged']} of {meta['n_rows']} training rows (")
    assert details["detectors"] == ", ".join(meta["detectors"])
    assert "'anomaly' marks the known anomalies" in details["label"]
    low, high = meta["label_metrics_interval"]["roc_auc"]
    assert details["test ROC-AUC"] == f"95 % bootstrap interval {low:.3f}–{high:.3f}"


def _monthly(n_months: int = 72) -> pd.DataFrame:
    """A monthly series with a yearly season and a trend (a known shape the season finder must see)."""
    t = np.arange(n_months)
    y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, n_months)
    return pd.DataFrame({"month": pd.date_range("2015-01-01", periods=n_months, freq="MS"), "sales": y})


def test_a_forecaster_card_gives_its_horizon_frequency_season_and_intervals(tmp_path: Path) -> None:
    options = TrainOptions(preset="fast", target="sales", time_column="month", horizon=6,
                           models=("seasonal_naive", "ridge"))
    stored = _saved(tmp_path, "timeseries", options, _monthly(), n_trials=3)
    meta: dict[str, Any] = stored.meta
    details = _details(stored)
    assert details["horizon"].startswith(f"6 steps of frequency {meta['freq']} (")
    assert details["season"] == "12 steps"
    assert details["series"] == "1"
    assert details["exogenous"] == "none"
    assert details["intervals"] in ("from the model's own forecast distribution",
                                    "conformal: from the backtest's forecast errors")


@pytest.mark.parametrize(("meta", "expected"), [
    ({"task": "classification", "classes": ["no", "yes"]}, {"classes": "2: no, yes"}),
    ({"task": "classification", "classes": list(range(11))}, {"classes": "11: 0, 1, 2, 3, 4, 5, 6, 7, … and 3 more"}),
    ({"task": "regression"}, {}),
    ({"task": "image_classification"}, {}),
])
def test_tasks_without_facts_of_their_own_add_nothing(meta: dict[str, Any], expected: dict[str, str]) -> None:
    from automlops.mlops.card_details import card_details

    assert dict(card_details(meta)) == expected
