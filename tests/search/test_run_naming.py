"""Runs are named after the model version they saved; cancelled runs are tagged and end KILLED.

Real MLflow store (SQLite in a temporary studio home).
"""

from __future__ import annotations

from automlops.config import Settings
from automlops.core.problem import Problem, TaskType
from automlops.mlops.tracking import Tracker
from automlops.search.tracking_sink import CANCELLED_TAG, TrackingSink, mark_cancelled, name_run


def test_a_run_is_renamed_after_its_model_version(settings: Settings) -> None:
    tracker = Tracker(settings=settings)
    run_id = tracker.start_run("iris", tags={"automlops.kind": "automl"})
    tracker.end_run(run_id)
    name_run(tracker, run_id, "iris-v3")
    assert tracker.get_run(run_id).run_name == "iris-v3"
    assert tracker.search_runs()["run_name"].tolist() == ["iris-v3"]


def test_a_cancelled_run_is_tagged_and_killed_even_after_it_finished(settings: Settings) -> None:
    tracker = Tracker(settings=settings)
    run_id = tracker.start_run("iris")
    tracker.end_run(run_id, "FINISHED")  # the search ended normally after the stop request
    mark_cancelled(tracker, run_id)
    run = tracker.get_run(run_id)
    assert run.status == "KILLED" and run.tags[CANCELLED_TAG] == "true"


def test_the_sink_tags_a_run_interrupted_by_a_cancel(settings: Settings) -> None:
    tracker = Tracker(settings=settings)
    problem = Problem(task=TaskType.CLASSIFICATION, target="y", metric="accuracy", direction="maximize")
    sink = TrackingSink(tracker, run_name="iris", problem=problem, dataset=None)
    sink.start({"preset": "fast"})
    run_id = sink.run_id.result(timeout=60)
    assert run_id is not None
    sink.fail(KeyboardInterrupt())
    run = tracker.get_run(run_id)
    assert run.status == "KILLED" and run.tags[CANCELLED_TAG] == "true"
