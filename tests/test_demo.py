"""The bundled demo datasets seed offline, with the documented targets, and idempotently."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from automlops.config import Settings
from automlops.core.problem import TaskType
from automlops.demo import DEMO_DATASETS, load_demo, seed_demo
from automlops.errors import NotFoundError
from automlops.mlops.lake import DataLake

EXPECTED_SHAPES = {
    "breast_cancer": (569, 31), "wine": (178, 14), "iris": (150, 5),
    "diabetes": (442, 11), "penguins": (344, 8), "cars": (398, 9), "co2": (526, 2),
}


@pytest.fixture
def seeded(settings: Settings) -> tuple[DataLake, list]:
    lake = DataLake(settings=settings)
    return lake, seed_demo(lake)


def test_seed_adds_every_demo_dataset(seeded: tuple[DataLake, list]) -> None:
    lake, versions = seeded
    assert [v.dataset for v in versions] == list(DEMO_DATASETS) == list(EXPECTED_SHAPES)
    for version in versions:
        spec = DEMO_DATASETS[version.dataset]
        assert (version.rows, len(version.columns)) == EXPECTED_SHAPES[version.dataset]
        assert not version.reused and version.version == 1 and lake.verify(version.dataset, 1)
        assert spec.target in version.columns and version.note == spec.note
        assert f"'{spec.target}'" in spec.note  # the note names the target column
        count = int(re.search(r"(\d+) ", spec.note.split(":", 1)[1]).group(1))  # type: ignore[union-attr]
        assert count == version.rows  # and states the real number of rows
    assert [i.name for i in lake.list_datasets()] == sorted(DEMO_DATASETS)


def test_seed_is_idempotent(seeded: tuple[DataLake, list]) -> None:
    lake, first = seeded
    files = sorted(p for p in lake.root.rglob("*") if p.is_file())
    again = seed_demo(lake)
    assert all(v.reused for v in again)
    assert [v.version for v in again] == [v.version for v in first]
    assert sorted(p for p in lake.root.rglob("*") if p.is_file()) == files


def test_class_targets_are_names(seeded: tuple[DataLake, list]) -> None:
    lake, _ = seeded
    assert set(lake.load("breast_cancer")["target"]) == {"malignant", "benign"}
    assert set(lake.load("iris")["target"]) == {"setosa", "versicolor", "virginica"}
    assert set(lake.load("wine")["target"]) == {"class_0", "class_1", "class_2"}
    balance = lake.profile("breast_cancer", target="target").target_balance
    assert balance is not None
    assert balance.set_index("value")["count"].to_dict() == {"benign": 357, "malignant": 212}


def test_loaded_frames_match_the_sources(seeded: tuple[DataLake, list]) -> None:
    lake, _ = seeded
    for name in DEMO_DATASETS:
        pd.testing.assert_frame_equal(lake.load(name), load_demo(name))
    cars = lake.load("cars")
    assert str(cars["Year"].dtype) == "datetime64[ns]" and cars["Miles_per_Gallon"].notna().all()
    assert lake.load("penguins")["sex"].isna().sum() == 11


@pytest.mark.parametrize("name", list(DEMO_DATASETS))
def test_registry_task_matches_the_target(name: str) -> None:
    spec = DEMO_DATASETS[name]
    target = load_demo(name)[spec.target]
    if spec.task is TaskType.CLASSIFICATION:
        assert 2 <= target.nunique() <= 3 and target.dtype == object
    elif spec.task is TaskType.TIMESERIES:  # a regular monthly series, no gap, no missing value
        times = load_demo(name)[spec.time_column]
        assert pd.infer_freq(times) == "MS" and target.notna().all() and times.is_monotonic_increasing
    else:
        assert spec.task is TaskType.REGRESSION
        assert pd.api.types.is_float_dtype(target) and target.nunique() > 50
    loader, target_name, task, note, time_column = spec  # the registry entries unpack as tuples
    assert callable(loader) and target_name == spec.target and task is spec.task
    assert (time_column is not None) == (task is TaskType.TIMESERIES)
    assert note


def test_unknown_demo_name(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="choose one of: breast_cancer"):
        load_demo("titanic")


def test_image_demo_datasets_seed_idempotently(settings: Settings) -> None:
    from automlops.demo import DEMO_IMAGE_DATASETS, seed_image_demo
    from automlops.mlops.image_lake import ImageLake

    lake = ImageLake(settings=settings)
    first = seed_image_demo(lake)
    assert [v.name for v in first] == list(DEMO_IMAGE_DATASETS)
    assert [v.task for v in first] == ["image_classification", "segmentation", "detection"]
    assert first[0].counts == {str(d): 20 for d in range(10)}
    again = seed_image_demo(lake)
    assert all(v.reused for v in again) and [v.version for v in again] == [1, 1, 1]
