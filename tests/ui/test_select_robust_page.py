"""The Train page's model-choice rule (best / robust) and the leaderboard's significance caption."""

from __future__ import annotations

from pathlib import Path

import pytest

from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from automlops.ui.components import significance_caption
from automlops.ui.jobs import TrainRequest
from tests.ui.helpers import assert_clean, new_app, open_page, run_until, texts, training_done


def test_the_form_offers_the_rule_and_a_request_keeps_it(ui_home: Path, iris_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    assert_clean(at)
    choice = at.radio(key="train_select")
    assert choice.options == ["Best score", "Robust (simplest tied with the best)"] and choice.value == "best"
    request = TrainRequest("iris", 1, "target", select="robust")
    assert TrainRequest.from_json(request.to_json()).select == "robust"
    assert TrainRequest.from_json('{"dataset": "iris", "version": 1, "target": "target"}').select == "best"


def test_the_caption_names_the_test_from_the_decisions() -> None:
    lines = ["[result] best single model: knn", "[significance] p_next: two-sided p-value (corrected t-test)"]
    assert significance_caption(lines) == "p_next: two-sided p-value (corrected t-test)"
    assert significance_caption("\n".join(lines)) == "p_next: two-sided p-value (corrected t-test)"
    assert significance_caption(None) is None and significance_caption(["[result] x"]) is None


@pytest.mark.slow
def test_a_robust_training_from_the_dashboard(ui_home: Path, iris_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    at.radio(key="train_selection").set_value("manual").run()
    at.multiselect(key="train_models_classification").set_value(["logistic", "knn"])
    at.number_input(key="train_trials").set_value(2)
    at.radio(key="train_select").set_value("robust")
    at.text_input(key="train_name_iris").set_value("iris_robust")
    at.run()
    at.button(key="train_start").click().run()
    run_until(at, training_done)
    assert_clean(at)
    assert any("Saved model **iris_robust v0001**" in t for t in texts(at.success)), texts(at.error)
    assert any("p_next: two-sided p-value" in t for t in texts(at.caption))  # under the leaderboard
    assert any("robust choice:" in t for t in texts(at.markdown))  # the decisions tab
    (stored,) = ModelStore(settings=iris_lake.settings).list_models()
    assert any("robust choice:" in str(d) for d in stored.meta["decisions"])
    assert {"ci_low", "ci_high", "p_next", "lead"} <= set(stored.meta["leaderboard"][0])
