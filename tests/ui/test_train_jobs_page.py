"""The Train page with worker-process jobs: a queued job shows its place, other jobs can be reopened."""

from __future__ import annotations

from pathlib import Path

import pytest

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from automlops.ui import jobs
from tests.ui.helpers import assert_clean, new_app, open_page, start_tiny_training, texts


def test_a_queued_job_shows_its_position_and_other_jobs_can_be_opened(
        ui_home: Path, iris_lake: DataLake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_TRAINING_JOBS", "1")
    busy = jobs.submit(jobs.TrainRequest("iris", 1, "target", models=("logistic",), n_trials=10_000,
                                         model_name="busy"), settings=Settings())
    try:
        at = open_page(new_app(), "train")
        start_tiny_training(at, name="waiting")
        assert_clean(at)
        assert any("Waiting in the queue, position 1" in t for t in texts(at.info)), texts(at.info)
        at.button(key="train_cancel").click().run()  # leave the queue
        assert_clean(at)
        assert any("Training cancelled before it started" in t for t in texts(at.warning)), texts(at.warning)
        [label] = at.selectbox(key="train_job_pick").options  # the other job of this studio (shown as labels)
        assert label.startswith("busy · iris v0001 · running")
        at.button(key="train_job_open").click().run()
        assert_clean(at)
        assert any("Training 'busy'" in t for t in texts(at.subheader))
        assert at.get("progress") and at.button(key="train_cancel").label == "Cancel"

        fresh = open_page(new_app(), "train")  # another tab, or the same after a dashboard restart
        labels = fresh.selectbox(key="train_job_pick").options
        assert [label.split(" · ")[0] for label in labels] == ["waiting", "busy"]  # newest first
        assert "cancelled" in labels[0] and "running" in labels[1]
    finally:
        busy.cancel(grace_period=0)
        assert busy.join(30)
