"""The model card: built from a real saved version, the real MLflow registry and a drift record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from automlops.config import Settings
from automlops.errors import NotFoundError
from automlops.mlops.model_card import build_model_card, model_card_for
from automlops.mlops.registry import ModelRegistry
from automlops.mlops.store import ModelStore, StoredModel

META = {"task": "classification", "target": "target", "metric": "accuracy", "best_model": "logistic",
        "val_score": 0.9533, "val_std": 0.0211, "validation": "5-fold stratified", "test_score": 0.9667,
        "n_test_rows": 30, "test_metrics": {"accuracy": 0.9667, "f1_macro": 0.9665},
        "dataset": {"name": "iris", "version": 2, "sha256": "ab" * 32, "rows": 150},
        "shap_top_features": [{"feature": "sepal width (cm)", "mean_abs": 0.2},
                              {"feature": "petal length (cm)", "mean_abs": 1.7}]}


@pytest.fixture
def saved(settings: Settings, empty_db: Path) -> StoredModel:
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    return ModelStore(settings=settings).save("iris", model, {**META, "input_columns": list(X.columns)})


def test_card_of_a_promoted_version_tells_its_story(saved: StoredModel, settings: Settings) -> None:
    registry = ModelRegistry(settings=settings)
    registry.register(saved)
    registry.promote("iris", saved.version, "staging", reason="looks good", who="ana")
    registry.promote("iris", saved.version, "production", reason="beat v0 on fresh rows", who="bo")
    registry.note("iris", saved.version, "a challenger lost: 0.91 vs 0.95", action="challenge", who="monitor")

    card = model_card_for("iris", saved.version, settings=settings, registry=registry)
    text = card.to_markdown()

    assert card.stage == "production"
    assert [(h["action"], h["stage"], h["who"]) for h in card.history if h["action"] == "promote"] == [
        ("promote", "staging", "ana"), ("promote", "production", "bo")]
    assert "0.9533 ± 0.0211 (5-fold stratified)" in text and "0.9667 on 30 untouched rows" in text
    assert text.index("petal length (cm)") < text.index("sepal width (cm)")  # largest mean |SHAP| first
    assert "`iris` v0002" in text and "ab" * 32 in text
    assert "beat v0 on fresh rows" in text
    assert card.history[-1]["action"] == "challenge" and "| challenge |  | monitor | a challenger lost" in text
    assert registry.version_at("iris", "production") == saved.version  # a note moves no stage
    assert "Not checked yet" in text  # no monitor run so far


def test_drift_and_unreadable_sources_are_shown(saved: StoredModel) -> None:
    card = build_model_card(saved, drift={"share_drifted": 0.6, "drifted": True, "n_current": 412,
                                          "time": "2026-12-01 10:00"},
                            notes=["stage and history unavailable: the MLflow server at http://x:5000 is down"])
    text = card.to_markdown()
    assert "**drift detected**: 60% of columns drifted (412 live rows" in text
    assert "is down" in text and "No transitions yet." in text


def test_missing_version_is_named(saved: StoredModel, settings: Settings) -> None:
    with pytest.raises(NotFoundError, match="no version v9"):
        model_card_for("iris", 9, settings=settings)
