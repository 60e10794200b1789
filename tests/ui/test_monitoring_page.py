"""The Monitoring page (AppTest): empty states, a drift check from the button, its history and traffic."""

from __future__ import annotations

from pathlib import Path

from automlops.config import Settings
from tests.mlops.monitorkit import FEATURES, log_traffic, saved_model, use_mlflow_template, wine
from tests.ui.helpers import assert_clean, new_app, open_page, texts


def _drifted_wine_traffic(settings: Settings, empty_db: Path) -> None:
    """A saved wine model and 120 logged live rows with four columns shifted."""
    use_mlflow_template(settings, empty_db)
    saved_model(settings)
    live = wine()[FEATURES].sample(120, random_state=0).reset_index(drop=True)
    log_traffic(settings, live.assign(alcohol=live["alcohol"] + 2.0, proline=live["proline"] * 2.0,
                                      ash=live["ash"] + 0.8, magnesium=live["magnesium"] + 30))


def test_empty_states_say_what_to_do(ui_home: Path, settings: Settings) -> None:
    at = open_page(new_app(), "monitoring")
    assert_clean(at)
    assert texts(at.title) == ["Monitoring"]
    assert any("No saved models yet" in t for t in texts(at.info))
    saved_model(settings)
    at.run()
    assert_clean(at)
    assert at.selectbox(key="monitor_model").value == "wine"
    assert any("No traffic yet for **wine**" in t for t in texts(at.info))
    assert at.button(key="monitor_check").disabled


def test_check_drift_now_shows_the_verdict_columns_history_and_traffic(ui_home: Path, settings: Settings,
                                                                        empty_db: Path) -> None:
    _drifted_wine_traffic(settings, empty_db)
    at = open_page(new_app(), "monitoring")
    assert_clean(at)
    assert any("No drift check yet" in t for t in texts(at.info))
    at.number_input(key="monitor_min_rows").set_value(500)
    at.button(key="monitor_check").click().run()
    assert any("only 120 logged predictions of wine" in t for t in texts(at.error))  # the engine's message
    at.number_input(key="monitor_min_rows").set_value(50)
    at.button(key="monitor_check").click().run()
    assert_clean(at)
    verdict = texts(at.error)
    assert any(t.startswith("Drift detected — **wine@v1**") and "120 live rows" in t for t in verdict), verdict
    table = at.dataframe[0].value
    assert table["column"].tolist() == FEATURES and bool(table.set_index("column").loc["alcohol", "drifted"])
    assert any("the version that served most of the window" in t for t in texts(at.caption))
    assert any("120 rows in 12 requests" in t and "median latency 2.5 ms" in t for t in texts(at.caption))
    assert len(at.get("plotly_chart")) == 2  # drift over time, traffic
    at.button(key="monitor_check").click().run()
    assert_clean(at)
    from automlops.mlops.monitoring import drift_history

    assert len(drift_history("wine", settings=settings)) == 2
    assert at.get("download_button")


def test_retrain_on_drift_toggle_runs_the_retrain_step(ui_home: Path, settings: Settings, empty_db: Path) -> None:
    _drifted_wine_traffic(settings, empty_db)
    at = open_page(new_app(), "monitoring")
    assert at.toggle(key="monitor_auto_promote").disabled  # only meaningful with retraining on
    at.toggle(key="monitor_retrain").set_value(True)
    at.number_input(key="monitor_min_rows").set_value(50)
    at.button(key="monitor_check").click().run()
    assert_clean(at)
    # drift, but no true labels were sent back: the retrain step says so and trains nothing
    assert any("No retraining: drift, but only 0 labelled live rows" in t for t in texts(at.info)), texts(at.info)
