"""The training-time SHAP summary: logged with a tracked run when cheap, skipped (and said) otherwise."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from automlops.config import Settings
from automlops.mlops.store import ModelStore
from automlops.mlops.tracking import Tracker
from automlops.search.budget import TimeBudget
from automlops.search.engine import DecisionLog, Finalized
from automlops.tabular import AutoMLRunner, explain_fit
from automlops.tabular.persist import save_model


def _messages(runner: AutoMLRunner) -> list[str]:
    return [d.message for d in runner.decisions_ if d.topic == "explain"]


def test_a_tracked_run_logs_the_summary_and_meta_keeps_the_top_features(
        settings: Settings, empty_db: Path, cancer: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    monkeypatch.setattr(explain_fit, "BUDGET_SHARE", 100.0)  # no time budget here: make "cheap" certain
    leak = cancer.assign(leak=cancer["target"] * 2.0 + pd.Series(range(len(cancer))) % 3 * 0.1)
    tracker = Tracker(settings=settings)
    runner = AutoMLRunner("target", preset="fast", models=["lightgbm"], n_trials=1, ensemble="none",
                          tracker=tracker, run_name="shap-test").fit(leak)
    (message,) = _messages(runner)
    assert message.startswith("SHAP summary (tree, ") and "leak" in message
    meta = runner.result_.artifact.meta
    assert meta["shap_top_features"][0]["feature"] == "leak"
    assert meta["shap_explained"] == {"method": "tree", "output": "log-odds", "class_name": "1",
                                      "rows": meta["shap_explained"]["rows"]}
    run = tracker.get_run(runner.run_id_)
    assert {"explanations/shap_summary.json", "explanations/shap_bar.svg"} <= set(run.artifacts)
    local = tracker.client.download_artifacts(runner.run_id_, "explanations/shap_summary.json", str(settings.home))
    summary = json.loads(Path(local).read_text())
    assert summary["features"][0]["feature"] == "leak" and summary["output"] == "log-odds"
    svg = Path(tracker.client.download_artifacts(runner.run_id_, "explanations/shap_bar.svg", str(settings.home)))
    bars = ET.fromstring(svg.read_text()).iterfind(".//{http://www.w3.org/2000/svg}rect[@class='bar']")
    assert next(bars)[0].text.startswith("leak: ")  # the largest bar, at the top
    stored = save_model(runner.result_, ModelStore(settings=settings), "shap_model")
    assert stored.meta["shap_top_features"][0]["feature"] == "leak"  # what the model card shows


def test_untracked_runs_and_small_budgets_skip_it_and_say_so(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", models=["decision_tree"], n_trials=1, ensemble="none").fit(cancer)
    assert any("not tracked in MLflow" in m for m in _messages(runner))
    assert "shap_top_features" not in runner.result_.artifact.meta
    assert not any(name.startswith("explanations/") for name in runner.result_.artifact.files)

    log = DecisionLog(lambda event: None, lambda: 0.0, lambda: 10.0)
    final = Finalized(runner.result_.artifact, {}, 0.0, 0.0)
    same = explain_fit.explain_final(runner.engine_, final, log, TimeBudget(10.0), tracked=True)
    assert same is final
    assert "too little" in log.items[-1].message
    assert explain_fit.explain_reserve(True, 10.0) == 0.0 and explain_fit.explain_reserve(False, 600.0) == 0.0
    assert explain_fit.explain_reserve(True, 60.0) == pytest.approx(3.0)  # 5 % kept back, 10 % allowed


def test_a_model_of_thousands_of_boosted_trees_is_not_explained_when_the_explainer_alone_would_overrun(
        cancer: pd.DataFrame) -> None:
    """SHAP's TreeExplainer reads every tree before it explains a row (~1 ms a tree), and C++ code
    cannot be interrupted: a 6,000-tree model is skipped up front, with the reason, instead of
    spending seconds past the allowance."""
    from sklearn.base import clone

    runner = AutoMLRunner("target", preset="fast", models=["lightgbm"], n_trials=1, ensemble="none").fit(cancer)
    many = clone(runner.best_estimator_).set_params(model__estimator__n_estimators=6000,
                                                    model__estimator__learning_rate=0.01)
    many.fit(cancer.drop(columns="target"), cancer["target"])
    log = DecisionLog(lambda event: None, lambda: 0.0, lambda: 60.0)
    final = Finalized(replace(runner.result_.artifact, obj=many), {}, 0.0, 0.0)
    same = explain_fit.explain_final(runner.engine_, final, log, TimeBudget(60.0), tracked=True)
    assert same is final
    assert "building the explainer for 6000 boosted trees" in log.items[-1].message
