"""Cancel: the search stops after the running trial and nothing is refitted, tested or published."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from automlops.config import Settings
from automlops.core.results import ProgressEvent
from automlops.errors import Cancelled
from automlops.mlops.tracking import Tracker
from automlops.search.tracking_sink import CANCELLED_TAG
from automlops.tabular import AutoMLRunner


def test_a_cancelled_search_ships_nothing(settings: Settings, empty_db: Path) -> None:
    shutil.copyfile(empty_db, settings.home / "mlflow.db")
    tracker = Tracker(settings=settings)
    stop = threading.Event()
    events: list[ProgressEvent] = []

    def cancel_after_two(event: ProgressEvent) -> None:
        events.append(event)
        if event.kind == "trial" and (event.trial or 0) >= 2:
            stop.set()

    runner = AutoMLRunner("target", preset="fast", models=["logistic", "knn"], n_trials=50, tracker=tracker,
                          callbacks=[cancel_after_two], stop_event=stop)
    with pytest.raises(Cancelled, match="nothing was refitted or saved"):
        runner.fit(load_breast_cancer(as_frame=True).frame)
    assert not hasattr(runner, "best_estimator_")  # no final model was fitted
    assert sum(e.kind == "trial" for e in events) <= 3  # stopped after the running trial
    run_id = next(e.extra["run_id"] for e in events if e.extra.get("run_id"))
    run = tracker.client.get_run(run_id)
    assert run.info.status == "KILLED" and run.data.tags.get(CANCELLED_TAG) == "true"
