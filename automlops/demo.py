"""Real datasets to learn with, seeded into the lake without any network access.

Each demo dataset ships inside an installed package (scikit-learn, palmerpenguins,
vega_datasets), so ``automlops demo`` works offline, in CI and in a classroom. They were chosen
to cover the cases a student meets first: a binary task (breast cancer), multi-class tasks
with only numbers (wine, iris) or with text and missing values (penguins), and regressions
with a handful of features (diabetes) or with text and a date column (cars).
:data:`DEMO_DATASETS` tells other code (CLI, benchmarks, tests) each dataset's target and task.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from automlops.core.problem import TaskType
from automlops.errors import NotFoundError
from automlops.mlops.lake import DataLake, DatasetVersion

__all__ = ["DEMO_DATASETS", "DEMO_IMAGE_DATASETS", "DemoDataset", "load_demo", "seed_demo", "seed_image_demo"]


class DemoDataset(NamedTuple):
    """How to build one demo table, which column to predict, and what kind of task it is."""

    loader: Callable[[], pd.DataFrame]
    target: str
    task: TaskType
    note: str
    time_column: str | None = None  # forecasting: the column that says when


def _sklearn(loader_name: str, *, class_names: bool) -> Callable[[], pd.DataFrame]:
    """A loader for a bundled scikit-learn dataset; class labels as names when asked."""

    def load() -> pd.DataFrame:
        from sklearn import datasets

        bunch = getattr(datasets, loader_name)(as_frame=True)
        frame: pd.DataFrame = bunch.frame.copy()
        if class_names:
            names = list(bunch.target_names)
            frame["target"] = frame["target"].map(lambda code: names[int(code)])
        return frame

    return load


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    frame: pd.DataFrame = load_penguins()
    return frame


def _cars() -> pd.DataFrame:
    from vega_datasets import local_data

    frame: pd.DataFrame = local_data.cars()
    # 8 cars have no fuel economy: a regression target cannot be missing, so drop them here.
    frame = frame.dropna(subset=["Miles_per_Gallon"]).reset_index(drop=True)
    frame["Year"] = pd.to_datetime(frame["Year"])
    return frame


def _co2() -> pd.DataFrame:
    """Monthly mean CO₂ at Mauna Loa from statsmodels' weekly series (5 empty months interpolated)."""
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate()
    return pd.DataFrame({"month": monthly.index, "co2": monthly.to_numpy()})


DEMO_DATASETS: dict[str, DemoDataset] = {
    "breast_cancer": DemoDataset(
        _sklearn("load_breast_cancer", class_names=True), "target", TaskType.CLASSIFICATION,
        "Breast cancer Wisconsin (sklearn): 569 tumours, 30 measurements; target 'target' "
        "(malignant/benign) — binary classification"),
    "wine": DemoDataset(
        _sklearn("load_wine", class_names=True), "target", TaskType.CLASSIFICATION,
        "Wine (sklearn): 178 Italian wines, 13 chemical measurements; target 'target' "
        "(class_0/class_1/class_2 cultivar) — multi-class classification"),
    "iris": DemoDataset(
        _sklearn("load_iris", class_names=True), "target", TaskType.CLASSIFICATION,
        "Iris (sklearn): 150 flowers, 4 petal/sepal sizes in cm; target 'target' "
        "(setosa/versicolor/virginica) — multi-class classification"),
    "diabetes": DemoDataset(
        _sklearn("load_diabetes", class_names=False), "target", TaskType.REGRESSION,
        "Diabetes (sklearn): 442 patients, 10 standardised measurements; target 'target' "
        "(disease progression after one year) — regression"),
    "penguins": DemoDataset(
        _penguins, "species", TaskType.CLASSIFICATION,
        "Palmer penguins: 344 penguins, bill/flipper/mass, island and sex with missing values; "
        "target 'species' (Adelie/Chinstrap/Gentoo) — multi-class classification"),
    "cars": DemoDataset(
        _cars, "Miles_per_Gallon", TaskType.REGRESSION,
        "Cars (vega_datasets): 398 cars from 1970-1982 (8 without MPG dropped), engine, weight, "
        "origin and a 'Year' date; target 'Miles_per_Gallon' — regression"),
    "co2": DemoDataset(
        _co2, "co2", TaskType.TIMESERIES,
        "Mauna Loa CO2 (statsmodels): 526 monthly means 1958-2001, time column 'month'; target 'co2' "
        "(ppm; a trend and a yearly season) — time-series forecasting", time_column="month"),
}


def load_demo(name: str) -> pd.DataFrame:
    """The demo table ``name`` as a fresh DataFrame (no lake involved)."""
    try:
        spec = DEMO_DATASETS[name]
    except KeyError:
        raise NotFoundError(
            f"no demo dataset named '{name}'; choose one of: {', '.join(DEMO_DATASETS)}"
        ) from None
    return spec.loader()


def seed_demo(lake: DataLake, names: list[str] | None = None) -> list[DatasetVersion]:
    """Add every demo dataset (or only ``names``) to ``lake`` as a raw version.

    Idempotent: seeding twice returns the same versions with ``reused=True``.
    """
    return [lake.add(name, load_demo(name), note=DEMO_DATASETS[name].note, filename=f"{name}.csv")
            for name in (names or list(DEMO_DATASETS))]


# Image datasets with known answers for the Vision page (automlops/vision/samples.py): name -> (writer, note)
DEMO_IMAGE_DATASETS: dict[str, tuple[str, str]] = {
    "digits_images": ("digits", "scikit-learn's handwritten digits 0-9, 20 per class, 32 px (ImageFolder) — "
                                "image classification"),
    "shapes_masks": ("segmentation", "48 drawn squares and circles with exact masks, 64 px — segmentation"),
    "shapes_boxes": ("detection", "48 drawn squares and circles with exact boxes (COCO), 64 px — detection"),
}


def seed_image_demo(lake: Any, names: list[str] | None = None) -> list[Any]:
    """Add the demo image datasets to an :class:`~automlops.mlops.image_lake.ImageLake` (idempotent)."""
    import tempfile

    from automlops.vision import samples

    writers = {"digits": lambda d: samples.write_digits_imagefolder(d, per_class=20, size=32),
               "segmentation": lambda d: samples.write_shapes_segmentation(d, n=48, size=64),
               "detection": lambda d: samples.write_shapes_detection(d, n=48, size=64)}
    added = []
    with tempfile.TemporaryDirectory(prefix="automlops-demo-") as tmp:
        for name in names or list(DEMO_IMAGE_DATASETS):
            kind, note = DEMO_IMAGE_DATASETS[name]
            folder = writers[kind](Path(tmp) / name)
            added.append(lake.add_archive(name, samples.zip_folder(folder, Path(tmp) / f"{name}.zip"), note=note))
    return added
