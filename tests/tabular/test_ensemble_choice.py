"""``--ensemble``: ``auto`` is the preset's choice, ``none`` turns ensembling off whatever the preset says."""

from __future__ import annotations

import pandas as pd
import pytest

from automlops.tabular import AutoMLRunner

MODELS = ["logistic", "knn", "decision_tree"]


def _ensembles(runner: AutoMLRunner) -> list[str]:
    return [m for m in runner.leaderboard_["model"] if "(" in m]


def test_none_means_no_ensemble_even_with_a_voting_preset(cancer: pd.DataFrame) -> None:
    runner = AutoMLRunner("target", preset="medium", models=MODELS, n_trials=4, ensemble="none").fit(cancer)
    assert _ensembles(runner) == []
    assert not any(d.topic == "ensemble" for d in runner.decisions_)
    assert runner.best_model_name_ in MODELS


@pytest.mark.parametrize("asked", ["auto", None])
def test_auto_is_the_presets_choice_and_the_default(cancer: pd.DataFrame, asked: str | None) -> None:
    kwargs = {"ensemble": asked} if asked else {}
    runner = AutoMLRunner("target", preset="medium", models=MODELS, n_trials=4, **kwargs).fit(cancer)
    assert [e.split("(")[0] for e in _ensembles(runner)] == ["weighted"]  # medium: ensemble selection
    assert any(d.topic == "ensemble" for d in runner.decisions_)
