"""The prediction log: every prediction lands in SQLite, and logging never slows or fails a request."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import automlops.mlops.monitor as monitor
from automlops.mlops.monitor import PredictionLog, PredictionRecord, read_predictions
from tests.serving.conftest import AUTH


def _record(i: int, **kw) -> PredictionRecord:
    return PredictionRecord(ts=kw.pop("ts", time.time()), request_id=f"r{i}", model_name="m", model_version=1,
                            columns=("a", "b"), rows=[(i, "x"), (float("nan"), None)], predictions=[1.5, 2.5], **kw)


def test_every_prediction_is_logged_with_inputs_outputs_and_version(serve, demo_rows) -> None:
    client = serve("penguins")
    rows = demo_rows("penguins", 3)
    answer = client.post("/predict", json={"records": rows}, headers=AUTH).json()
    log = client.app.state.serving.prediction_log
    assert log.flush()
    frame = read_predictions(path=client.home / "predictions.db")
    assert len(frame) == 3 and set(frame["request_id"]) == {answer["request_id"]}
    assert frame["model_name"].tolist() == ["penguins"] * 3 and frame["model_version"].tolist() == [1] * 3
    assert frame["prediction"].tolist() == answer["predictions"]
    assert frame["probabilities"][0] == dict(zip(answer["classes"], answer["probabilities"][0], strict=True))
    assert frame["island"].tolist() == [r["island"] for r in rows]
    assert frame["bill_length_mm"].tolist()[:3] == pytest.approx([r["bill_length_mm"] for r in rows])
    assert isinstance(frame["time"][0], datetime)


def test_read_predictions_since_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    with PredictionLog(path) as log:
        for i in range(5):
            log.submit(_record(i, ts=1000.0 + i))
        assert log.flush()
    everything = read_predictions(path=path, limit=None)
    assert len(everything) == 10 and everything["a"].isna().sum() == 5  # NaN is stored as null
    assert read_predictions(path=path, since=1002.5, limit=None)["request_id"].unique().tolist() == ["r3", "r4"]
    newest = read_predictions(path=path, limit=3)
    assert newest["request_id"].tolist() == ["r3", "r4", "r4"]
    assert read_predictions(path=path, since=datetime.fromtimestamp(1003.5, UTC))["request_id"].tolist() == ["r4", "r4"]
    assert read_predictions(path=tmp_path / "none.db").empty


def test_a_full_queue_drops_and_counts_but_the_request_succeeds(serve, demo_rows, tmp_path: Path) -> None:
    client = serve("cancer")
    stalled = PredictionLog(tmp_path / "stalled.db", max_queue=1)  # never started: nothing drains it
    client.app.state.serving.prediction_log = stalled
    for _ in range(3):
        assert client.post("/predict", json={"records": demo_rows("cancer", 1)}, headers=AUTH).status_code == 200
    assert stalled.dropped == 2 and stalled.pending == 1


def test_slow_or_failing_writes_never_slow_or_fail_requests(serve, demo_rows, monkeypatch) -> None:
    real_write = PredictionLog._write

    def slow_write(self, conn, batch):
        time.sleep(0.3)
        real_write(self, conn, batch)

    monkeypatch.setattr(PredictionLog, "_write", slow_write)
    monkeypatch.setattr(monitor, "_INSERT", "INSERT INTO no_such_table VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    client = serve("cancer")
    started = time.perf_counter()
    for _ in range(5):
        assert client.post("/predict", json={"records": demo_rows("cancer", 2)}, headers=AUTH).status_code == 200
    assert time.perf_counter() - started < 1.0
    log = client.app.state.serving.prediction_log
    assert log.flush(timeout=10)
    assert log.failed == 10 and log.written == 0


def test_logging_can_be_switched_off(serve, demo_rows) -> None:
    client = serve("cancer", prediction_log_enabled=False)
    assert client.post("/predict", json={"records": demo_rows("cancer", 1)}, headers=AUTH).status_code == 200
    assert client.app.state.serving.prediction_log is None
    assert not (client.home / "predictions.db").exists()


def test_read_predictions_without_expanding_inputs(tmp_path: Path) -> None:
    with PredictionLog(tmp_path / "p.db") as log:
        log.submit(_record(0))
        log.flush()
    frame = read_predictions(path=tmp_path / "p.db", expand=False)
    assert list(frame.columns) == ["time", "request_id", "model_name", "model_version", "prediction", "probabilities"]
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
