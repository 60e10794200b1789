"""Monitoring a served model: real lake version, real saved model, traffic through the real log."""

from __future__ import annotations

from pathlib import Path

import pytest

from automlops.config import Settings
from automlops.errors import ConfigError, DataError, NotFoundError
from automlops.mlops.feedback import FeedbackItem, record_feedback
from automlops.mlops.monitoring import Window, drift_history, monitor_model, parse_window
from tests.mlops.monitorkit import FEATURES, log_traffic, saved_model, use_mlflow_template, wine


@pytest.mark.parametrize(("text", "window"), [
    ("1000", Window("1000", rows=1000)), ("24h", Window("24h", seconds=86400.0)),
    (" 30m ", Window("30m", seconds=1800.0)), ("7D", Window("7d", seconds=604800.0)), (50, Window("50", rows=50)),
])
def test_windows(text: str | int, window: Window) -> None:
    assert parse_window(text) == window


@pytest.mark.parametrize("text", ["", "0", "-5", "1.5h", "24 hours", "h", "10w"])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="invalid window"):
        parse_window(text)


def test_drifted_traffic_is_detected_logged_and_kept_in_the_history(settings: Settings, empty_db: Path) -> None:
    from mlflow.tracking import MlflowClient

    use_mlflow_template(settings, empty_db)
    model = saved_model(settings)
    live = wine()[FEATURES].sample(120, random_state=0).reset_index(drop=True)
    calm_ids = log_traffic(settings, live, ts=1.0)  # long ago: outside a 1h window
    shifted = live.assign(alcohol=live["alcohol"] + 2.0, proline=live["proline"] * 2.0, ash=live["ash"] + 0.8,
                          magnesium=live["magnesium"] + 30)
    ids = log_traffic(settings, shifted, predictions=[0] * 120)  # the model now answers class 0 only
    record_feedback([FeedbackItem(ids[0], label, row) for row, label in enumerate([0, 1, 2, 0, 0, 0, 0, 0, 0, 0])]
                    + [FeedbackItem(rid, 0, row) for rid in ids[1:4] for row in range(10)]  # 40 labels in all
                    + [FeedbackItem(calm_ids[0], 1, 0)], settings=settings)  # outside the window: not counted

    result = monitor_model("wine", window="1h", min_rows=50, settings=settings)
    report = result.report
    assert result.model == model.ref == "wine@v1" and result.reference == "wine@v1" and result.window == "1h"
    assert report.n_current == 120 and report.n_reference == 178
    assert {"alcohol", "proline", "ash", "magnesium"} <= set(report.drifted_columns) and report.drifted
    assert [c.column for c in report.columns] == FEATURES  # the model's inputs only, not the target
    assert result.n_labelled == 40 and result.live_metrics["accuracy"] == pytest.approx(0.95)  # 38 of 40 right
    outcome = result.to_dict()
    assert outcome["prediction_drift"]["drifted"] and outcome["target_drift"]["drifted"]  # all 0 vs a third 0
    assert result.traffic["requests"] == 12 and result.traffic["latency_p50_ms"] == pytest.approx(2.5)
    assert "the version that served most of the window" in result.notes[0]
    assert Path(report.report_path).is_file()

    client = MlflowClient(settings.resolved_tracking_uri)
    run = client.get_run(result.run_id)
    assert run.data.metrics["share_drifted"] == report.share_drifted and run.data.metrics["n_current"] == 120
    assert run.data.metrics["drift.alcohol"] == report.columns[0].statistic
    assert run.data.metrics["live_accuracy"] == pytest.approx(0.95) and run.data.tags["model_ref"] == "wine@v1"
    assert run.data.metrics["prediction_drift"] == outcome["prediction_drift"]["statistic"]
    assert client.get_experiment(run.info.experiment_id).name == "monitoring"
    assert [a.path for a in client.list_artifacts(result.run_id, "drift")] == [
        f"drift/{Path(report.report_path).name}"]

    rows = monitor_model("wine", window="240", min_rows=50, settings=settings, log_to_mlflow=False)
    assert rows.report.n_current == 240 and rows.run_id is None  # the last 240 rows reach back to the calm ones
    history = drift_history("wine", settings=settings)
    assert history["n_current"].tolist() == [120, 240] and history["window"].tolist() == ["1h", "240"]
    assert history["share_drifted"].tolist() == [report.share_drifted, rows.report.share_drifted]
    assert bool(history["drifted.alcohol"].iloc[0]) and history["stat.alcohol"].iloc[0] == report.columns[0].statistic
    assert history.attrs["columns"] == FEATURES and history["live_accuracy"].iloc[0] == pytest.approx(0.95)


def test_too_few_rows_unknown_models_and_models_without_lineage(settings: Settings) -> None:
    saved_model(settings)
    log_traffic(settings, wine()[FEATURES].head(30))
    with pytest.raises(DataError, match=r"only 30 logged predictions of wine in the window 1000; drift needs at "
                                        r"least 100"):
        monitor_model("wine", settings=settings, log_to_mlflow=False)
    with pytest.raises(NotFoundError, match="no model named 'nobody'"):
        monitor_model("nobody", settings=settings, log_to_mlflow=False)
    with pytest.raises(ConfigError, match="invalid model name"):
        monitor_model("../etc", settings=settings, log_to_mlflow=False)
    from automlops.mlops.store import ModelStore

    bare = ModelStore(settings=settings).load("wine").model
    ModelStore(settings=settings).save("orphan", bare, {"task": "classification", "input_columns": FEATURES})
    log_traffic(settings, wine()[FEATURES].head(20), name="orphan")
    with pytest.raises(DataError, match="does not record the lake version"):
        monitor_model("orphan", min_rows=10, settings=settings, log_to_mlflow=False)
    assert drift_history("wine", settings=settings).empty


def test_the_version_that_served_is_monitored_unless_production_says_otherwise(settings: Settings,
                                                                              empty_db: Path) -> None:
    """Regression model, traffic served by v1 only: v1 is monitored (what the API served), not the newest v2;
    once v2 holds the registry's production alias, v2 is."""
    saved_model(settings, task="regression")
    saved_model(settings, task="regression")  # v2, trained on lake v1 again (same content)
    frame = wine()
    log_traffic(settings, frame[FEATURES], version=1, predictions=[1.0] * len(frame))
    ids = log_traffic(settings, frame[FEATURES].head(2), version=1, batch=2, predictions=[1.0, 1.0])
    record_feedback([FeedbackItem(ids[0], 0.0, 0), FeedbackItem(ids[0], 3.0, 1)], settings=settings)
    result = monitor_model("wine", window="1000", min_rows=100, settings=settings, log_to_mlflow=False)
    assert result.model == "wine@v1" and not result.report.drifted
    assert result.live_metrics == {"mae": pytest.approx(1.5), "rmse": pytest.approx(2.5 ** 0.5)}
    assert result.to_dict()["target_drift"] is None  # 2 labels: too few to test
    assert result.to_dict()["prediction_drift"]["drifted"]  # always 1.0, while the training target spreads 0-2
    from automlops.mlops.registry import ModelRegistry
    from automlops.mlops.store import ModelStore

    use_mlflow_template(settings, empty_db)
    registry = ModelRegistry(settings=settings)
    registry.sync(ModelStore(settings=settings), "wine")
    registry.promote("wine", 2, "production", reason="test")
    promoted = monitor_model("wine", window="1000", min_rows=100, settings=settings, log_to_mlflow=False)
    assert promoted.model == "wine@v2" and "production" in promoted.notes[0]


def test_prediction_drift_compares_the_answers_with_the_models_own_answers_on_its_rows(settings: Settings) -> None:
    """A regression's answers on unchanged traffic are not distributed like its target (wine's classes 0, 1, 2
    against continuous predictions): compared with the target, every window showed "prediction drift"."""
    from automlops.mlops.store import ModelStore

    saved_model(settings, task="regression")
    live = wine()[FEATURES].sample(120, random_state=0).reset_index(drop=True)
    answers = ModelStore(settings=settings).load("wine").model.predict(live).tolist()
    log_traffic(settings, live, predictions=answers)
    result = monitor_model("wine", window="1000", min_rows=100, settings=settings, log_to_mlflow=False)
    assert not result.to_dict()["prediction_drift"]["drifted"] and not result.report.drifted
