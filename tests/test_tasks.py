"""The task catalogue: which engine trains a task, which options it needs or refuses, how a kind answers."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from automlops.errors import ConfigError
from automlops.tasks import (
    ANSWERS,
    ENGINE_TASKS,
    TASK_ENGINES,
    TrainOptions,
    answer_table,
    build_engine,
    metric_direction,
    parse_contamination,
)


@pytest.mark.parametrize(("text", "expected"), [("auto", "auto"), (" AUTO ", "auto"), ("0.05", 0.05), ("0.5", 0.5)])
def test_contamination_is_auto_or_a_share_up_to_one_half(text: str, expected: object) -> None:
    assert parse_contamination(text) == expected


@pytest.mark.parametrize("text", ["0", "-0.1", "0.51", "1", "lots"])
def test_contamination_outside_the_range_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=r"contamination must be"):
        parse_contamination(text)


@pytest.mark.parametrize(("task", "options", "needle"), [
    ("timeseries", TrainOptions(target="y"), "--time-column"),
    ("timeseries", TrainOptions(time_column="t"), "--target"),
    ("timeseries", TrainOptions(target="y", time_column="t", label="odd"), "--label"),
    ("clustering", TrainOptions(target="y"), "--reference"),
    ("clustering", TrainOptions(horizon=3), "--horizon"),
    ("anomaly", TrainOptions(reference="g"), "--label"),
    ("anomaly", TrainOptions(select_by_label=True), "--select-by-label needs --label"),
])
def test_a_missing_or_misplaced_option_names_the_flag(task: str, options: TrainOptions, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("-", r"\-")):
        build_engine(task, options)


def test_each_engine_task_builds_its_engine_with_the_options() -> None:
    assert set(ENGINE_TASKS) == set(TASK_ENGINES.names())
    forecaster = build_engine("timeseries", TrainOptions(target="y", time_column="t", horizon=6, preset="fast"))
    assert (forecaster.name, forecaster.kind) == ("forecasting", "forecasting")
    clusterer = build_engine("clustering", TrainOptions(reference="species"))
    assert (clusterer.name, clusterer.kind) == ("clustering", "clustering")
    detector = build_engine("anomaly", TrainOptions(contamination="0.1", label="odd"))
    assert (detector.name, detector.kind) == ("anomaly", "anomaly")
    for engine in (forecaster, clusterer, detector):  # the presets every surface offers exist in each engine
        assert {"fast", "medium", "best"} <= set(engine.presets.names())


def test_the_libraries_of_the_trials_are_imported_before_the_search() -> None:
    """Imported inside a trial, a library can be cut off mid-import by the trial's deadline."""
    code = ("import sys; from automlops.tasks import build_engine, TrainOptions; "
            "before = 'statsforecast.models' in sys.modules; "
            "build_engine('timeseries', TrainOptions(target='y', time_column='t')); "
            "print(before, 'statsforecast.models' in sys.modules, 'lightgbm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "True", "True"]


def test_directions_follow_the_metric() -> None:
    assert metric_direction("timeseries", None) == "minimize"  # MASE
    assert metric_direction("clustering", None) == "maximize"  # silhouette
    assert metric_direction("clustering", "davies_bouldin") == "minimize"
    assert metric_direction("regression", "rmse") == "minimize"


def test_every_answering_kind_resolves_and_an_unknown_kind_is_refused() -> None:
    for kind in ANSWERS.names():
        module, _, function = ANSWERS.get(kind).partition(":")
        assert callable(getattr(__import__(module, fromlist=[function]), function))
    with pytest.raises(ConfigError, match="unknown model kind 'vision'"):
        answer_table(object(), {"kind": "vision"}, pd.DataFrame({"a": [1]}))
