"""The Models page's Explain section (AppTest): a tree model and a linear one, on their lake data."""

from __future__ import annotations

from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from tests.ui.helpers import assert_clean, new_app, open_page, texts


def _save(lake: DataLake, name: str, model: str) -> None:
    from automlops.tabular import AutoMLRunner
    from automlops.tabular.persist import save_model

    version = lake.get_version("iris")
    runner = AutoMLRunner("target", preset="fast", models=[model], n_trials=1, ensemble="none",
                          refit_full=False).fit(lake.load("iris"))
    save_model(runner.result_, ModelStore(settings=lake.settings), name, dataset=version.lineage())


def test_explain_draws_bar_beeswarm_and_waterfall(iris_lake: DataLake) -> None:
    _save(iris_lake, "iris_trees", "lightgbm")
    _save(iris_lake, "iris_linear", "logistic")
    at = open_page(new_app(), "models")
    assert_clean(at)
    at.selectbox(key="models_pick").set_value("iris_trees@v1").run()
    charts_before = len(at.get("plotly_chart"))
    at.button(key="models_explain").click().run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == charts_before + 3  # bar, beeswarm, waterfall
    caption = next(t for t in texts(at.caption) if "exact tree SHAP" in t)
    assert "150 rows of iris v1" in caption and "score before the softmax" in caption
    bar = at.get("plotly_chart")[charts_before].proto.spec
    assert "petal" in bar  # iris' strongest features lead the bar chart

    at.number_input(key="models_explain_row").set_value(120).run()  # another row: still drawn, no error
    assert_clean(at)
    assert len(at.get("plotly_chart")) == charts_before + 3

    at.selectbox(key="models_pick").set_value("iris_linear@v1").run()  # a new model: explain on demand again
    assert len(at.get("plotly_chart")) == charts_before
    at.button(key="models_explain").click().run()
    assert_clean(at)
    assert any("sampled permutation SHAP" in t and "probability" in t for t in texts(at.caption))
    assert len(at.get("plotly_chart")) == charts_before + 3
