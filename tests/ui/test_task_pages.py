"""The Train page for forecasting, clustering and anomaly detection: the form adapts, a training runs
in its worker process, and the results show the engine's plots and tables (also on the Models page)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from automlops.mlops.lake import DataLake
from automlops.mlops.store import ModelStore
from tests.ui.helpers import assert_clean, new_app, open_page, run_until, texts, training_done


@pytest.fixture
def demo_lake(lake: DataLake) -> DataLake:
    from automlops.demo import seed_demo

    seed_demo(lake, ["co2", "iris"])
    return lake


def _start(at, task: str, dataset: str, name: str, trials: int = 3):  # type: ignore[no-untyped-def]
    at.selectbox(key="train_dataset").set_value(dataset).run()
    at.radio(key="train_task").set_value(task).run()
    at.number_input(key="train_trials").set_value(trials)
    at.number_input(key=f"eng_budget_{task}").set_value(0)  # the trial count bounds it: no deadline on a busy CI
    at.text_input(key=f"train_name_{dataset}").set_value(name)
    return at


def _results_tab(at):  # type: ignore[no-untyped-def]
    labels = [t.label for t in at.tabs]
    assert labels == ["Leaderboard", "Test metrics", "Optimisation", "Results", "Decisions"], labels
    return at.tabs[3]


def test_forecasting_form_training_and_results(ui_home: Path, demo_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    _start(at, "timeseries", "co2", "co2_forecast")
    assert_clean(at)
    assert at.selectbox(key="ts_time_co2").value == "month"  # the only column that reads as dates
    assert at.selectbox(key="ts_target_co2").options == ["co2"]
    assert at.selectbox(key="ts_series_co2").value == "(none)"
    assert not [r for r in at.radio if r.key == "train_selection"]  # no tabular ensemble builder here
    assert any("backtest" in t.lower() for t in texts(at.caption))
    at.number_input(key="ts_horizon").set_value(12)
    at.run()
    at.button(key="train_start").click().run()
    run_until(at, training_done, timeout=240)
    assert_clean(at)
    assert any("Saved model **co2_forecast v0001**" in t for t in texts(at.success)), texts(at.error)
    results = _results_tab(at)
    assert len(results.get("plotly_chart")) >= 1  # history + forecast with its intervals
    assert any("Horizon 12 steps" in t for t in texts(results.caption))
    stored = ModelStore(settings=demo_lake.settings).load("co2_forecast")
    assert stored.meta["kind"] == "forecasting" and stored.meta["horizon"] == 12

    open_page(at, "experiments")  # the run is in MLflow like any other
    assert_clean(at)
    assert "co2_forecast" in at.selectbox(key="exp_run").format_func(at.selectbox(key="exp_run").value)

    open_page(at, "models")  # the same plots for the saved version, and predicting future months
    assert_clean(at)
    assert len(at.get("plotly_chart")) >= 1
    future = pd.DataFrame({"month": pd.date_range("2002-01-01", periods=4, freq="MS")}).to_csv(index=False)
    at.file_uploader(key="models_predict_upload").upload("future.csv", future.encode(), "text/csv")
    at.run()
    assert_clean(at)
    assert any("4 predictions from co2_forecast@v1" in t for t in texts(at.success)), texts(at.error)


def test_a_dataset_without_dates_cannot_be_forecast(ui_home: Path, demo_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    _start(at, "timeseries", "iris", "nope")
    assert_clean(at)
    assert at.button(key="train_start").disabled
    assert any("reads as dates or times" in t for t in texts(at.warning))


def test_clustering_with_a_reference_column(ui_home: Path, demo_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    _start(at, "clustering", "iris", "iris_groups", trials=4)
    assert_clean(at)
    assert not [s for s in at.selectbox if s.key == "train_target_iris"]  # clustering has no target
    at.selectbox(key="cl_reference_iris").set_value("target").run()
    at.number_input(key="cl_k_iris").set_value(4).run()  # a known number of clusters
    at.button(key="train_start").click().run()
    run_until(at, training_done, timeout=240)
    assert_clean(at)
    assert any("Saved model **iris_groups v0001**" in t for t in texts(at.success)), texts(at.error)
    results = _results_tab(at)
    assert len(results.get("plotly_chart")) >= 1  # the PCA projection coloured by cluster
    assert any("ARI vs the reference" in t for t in texts(results.caption))
    meta = ModelStore(settings=demo_lake.settings).load("iris_groups").meta
    assert "target" not in meta["input_columns"] and meta["reference_scores"]
    assert meta["n_clusters"] == 4  # the silhouette alone prefers two on iris


def test_anomaly_detection_with_a_given_share(ui_home: Path, demo_lake: DataLake) -> None:
    at = open_page(new_app(), "train")
    _start(at, "anomaly", "iris", "odd_flowers")
    assert at.slider(key="an_contamination").disabled  # automatic share by default
    at.checkbox(key="an_contamination_auto").uncheck().run()
    at.slider(key="an_contamination").set_value(0.1).run()
    assert at.checkbox(key="an_select_by_label").disabled  # no label column chosen
    at.button(key="train_start").click().run()
    run_until(at, training_done, timeout=240)
    assert_clean(at)
    assert any("Saved model **odd_flowers v0001**" in t for t in texts(at.success)), texts(at.error)
    results = _results_tab(at)
    assert len(results.get("plotly_chart")) >= 1  # the score histogram with its threshold
    assert any("rows flagged" in t for t in texts(results.caption))
    meta = ModelStore(settings=demo_lake.settings).load("odd_flowers").meta
    assert meta["contamination"] == pytest.approx(0.1) and meta["top_anomalies"]


def test_the_name_field_follows_the_task_until_the_user_types_one(ui_home: Path, demo_lake: DataLake) -> None:
    """iris is a classifier's name; clustering it proposes iris_clusters, anomaly detection iris_anomalies, and
    a name the user typed stays whatever the task."""
    at = open_page(new_app(), "train")
    at.selectbox(key="train_dataset").set_value("iris").run()
    assert at.text_input(key="train_name_iris").value == "iris"
    at.radio(key="train_task").set_value("clustering").run()
    assert at.text_input(key="train_name_iris").value == "iris_clusters"
    at.radio(key="train_task").set_value("anomaly").run()
    assert at.text_input(key="train_name_iris").value == "iris_anomalies"
    at.text_input(key="train_name_iris").set_value("flowers").run()
    at.radio(key="train_task").set_value("clustering").run()
    assert at.text_input(key="train_name_iris").value == "flowers"
    assert_clean(at)
