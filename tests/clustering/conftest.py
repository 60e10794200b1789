"""Shared data and one fitted clustering for the clustering tests (iris, species hidden as the reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from automlops.clustering import ClusteringEngine
from automlops.core.fit import FitResult
from automlops.search.driver import DriverConfig, SearchDriver


@pytest.fixture(scope="session")
def iris() -> pd.DataFrame:
    """Iris measurements with the species as text in a 'species' column."""
    data = load_iris(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["species"] = np.asarray(data.target_names)[data.target]
    return frame


def fit(frame: pd.DataFrame, *, n_trials: int = 8, **engine: object) -> FitResult:
    """Run the clustering engine through the search driver, without tracking."""
    return SearchDriver(ClusteringEngine(**engine), DriverConfig(preset="fast", n_trials=n_trials)).fit(frame)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def iris_result(iris: pd.DataFrame) -> FitResult:
    return fit(iris, n_trials=14, reference="species", models=["kmeans", "gaussian_mixture", "agglomerative"])
