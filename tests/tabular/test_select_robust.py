"""The variance-aware leaderboard and ``select="robust"`` on real searches of bundled data."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier

from automlops.errors import ConfigError
from automlops.search.significance import corrected_t_test
from automlops.search.trials import LEADERBOARD_COLUMNS
from automlops.tabular.runner import AutoMLRunner


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


def _decisions(runner: AutoMLRunner, topic: str) -> list[str]:
    return [d.message for d in runner.decisions_ if d.topic == topic]


@pytest.fixture(scope="module")
def robust_run(cancer: pd.DataFrame) -> AutoMLRunner:
    """Extra trees narrowly beat k-NN on breast_cancer (ROC-AUC 0.9953 vs 0.9917): a tie."""
    return AutoMLRunner("target", preset="fast", models=["extra_trees", "knn"], n_trials=2, ensemble="none",
                        select="robust").fit(cancer)


def test_robust_ships_the_simpler_model_tied_with_the_best(robust_run: AutoMLRunner) -> None:
    board = robust_run.leaderboard_
    assert board.iloc[0]["model"] == "extra_trees"  # the best validation score ...
    assert robust_run.best_model_name_ == "knn"  # ... but knn is tied with it, simpler and faster
    assert robust_run.val_score_ == pytest.approx(board.iloc[1]["score"])
    (why,) = _decisions(robust_run, "selection")
    assert why.startswith("robust choice: chose knn: tied with extra_trees (p=")
    assert "2 tuned hyperparameter(s) instead of 3" in why and "faster to fit and predict" in why
    assert "Nadeau–Bengio corrected resampled t-test over 5 folds" in why
    assert isinstance(robust_run.best_estimator_.named_steps["model"], KNeighborsClassifier)


def test_the_leaderboard_shows_spread_and_significance(robust_run: AutoMLRunner) -> None:
    board = robust_run.leaderboard_
    assert list(board.columns) == LEADERBOARD_COLUMNS
    assert (board["ci_low"] < board["score"]).all() and (board["score"] < board["ci_high"]).all()
    assert (board["ci_high"] <= 1.0).all()  # clipped to what a ROC-AUC can be (the t-interval is symmetric)
    assert list(board["lead"]) == ["tie", ""] and math.isnan(board["p_next"].iloc[1])
    # the p-value is the corrected t-test on the two best trials' fold scores (5-fold CV: ratio ≈ 1/4)
    trials = {t.number: t for t in robust_run.study_.trials}
    folds = [trials[int(board.iloc[i]["best_trial"])].user_attrs["fold_scores"] for i in (0, 1)]
    splits = robust_run.evaluator_.splits
    ratio = np.mean([len(v) for _, v in splits]) / np.mean([len(t) for t, _ in splits])
    assert board["p_next"].iloc[0] == pytest.approx(corrected_t_test(*folds, test_train_ratio=ratio).p_value)
    (caption,) = _decisions(robust_run, "significance")
    assert "p_next: two-sided p-value" in caption and "corrected resampled t-test over 5 folds" in caption


def test_a_holdout_is_tested_with_a_paired_bootstrap(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", models=["logistic", "decision_tree"], n_trials=2,
                          validation="holdout", ensemble="none", select="robust").fit(cancer)
    board = runner.leaderboard_
    (caption,) = _decisions(runner, "significance")
    assert "paired bootstrap over the 91 validation rows" in caption
    assert board.iloc[0]["lead"] in ("significant", "tie") and 0 < board.iloc[0]["p_next"] <= 1
    assert (board["ci_low"] <= board["score"]).all() and (board["score"] <= board["ci_high"]).all()
    assert "paired bootstrap" in _decisions(runner, "selection")[0]


def test_an_ensemble_row_is_compared_on_its_out_of_fold_scores(iris: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", models=["logistic", "knn"], n_trials=2, ensemble="voting"
                          ).fit(iris)
    board = runner.leaderboard_
    row = board[board["model"].str.startswith("voting(")].iloc[0]
    assert math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])
    assert "fold_scores" not in board and "payload" not in board  # evidence for the tests, never shown
    assert (board["lead"].iloc[:-1] != "n/a").all()


def test_robust_ships_a_preset_ensemble_only_when_it_is_significantly_better(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="medium", models=["logistic", "knn"], n_trials=2, select="robust"
                          ).fit(cancer)
    verdicts = [m for m in _decisions(runner, "selection") if "weighted(" in m or "ensemble" in m]
    assert verdicts, _decisions(runner, "selection")
    shipped_ensemble = runner.best_model_name_.startswith("weighted(")
    assert ("so the ensemble is shipped" in verdicts[-1]) is shipped_ensemble
    if not shipped_ensemble:
        assert "the simpler single model is shipped" in verdicts[-1]


def test_select_best_is_the_default_and_unknown_rules_are_refused(iris: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="fast", models=["logistic", "knn"], n_trials=2).fit(iris)
    assert runner.best_model_name_ == runner.leaderboard_.iloc[0]["model"]
    assert not _decisions(runner, "selection")
    with pytest.raises(ConfigError, match="unknown model choice 'simplest'; choose one of: best, robust"):
        AutoMLRunner("target", preset="fast", n_trials=1, select="simplest").fit(iris)


def test_cli_select_robust_end_to_end(home: Path, empty_db: Path, cancer: pd.DataFrame,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from automlops.cli import main

    shutil.copy(empty_db, home / "mlflow.db")  # a tracked run, without ~1.5 s of MLflow migrations
    cancer.to_csv(home / "cancer.csv", index=False)
    code = main(["train", str(home / "cancer.csv"), "--target", "target", "--preset", "fast", "--models",
                 "extra_trees,knn", "--n-trials", "2", "--ensemble", "none", "--select", "robust", "--no-refit-full"])
    out, err = capsys.readouterr()
    assert code == 0, err
    table = out.splitlines()
    assert table[0].split() == ["rank", "model", "score", "std", "ci_low", "ci_high", "p_next", "lead", "trials",
                                "pruned"]
    assert table[1].split()[1] == "extra_trees" and table[1].split()[7] == "tie"
    assert any(line.startswith("ci_low–ci_high: 95 % interval") for line in table)
    meta = json.loads((home / "models" / "cancer" / "v0001" / "meta.json").read_text())
    assert meta["best_model"] == "knn" and meta["leaderboard"][0]["lead"] == "tie"
    assert any("robust choice: chose knn: tied with extra_trees" in str(d) for d in meta["decisions"])
    assert main(["train", str(home / "cancer.csv"), "--task", "clustering", "--select", "robust", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [
        "automlops: error: --select robust applies to classification and regression only; --task clustering ships "
        "its best model (its leaderboard still shows each score's spread and significance)"]
