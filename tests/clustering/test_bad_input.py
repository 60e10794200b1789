"""Clustering refuses what it cannot use with a message naming the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.errors import DataError
from tests.clustering.conftest import fit


@pytest.mark.parametrize("rows", [1, 9])
def test_too_few_rows(iris: pd.DataFrame, rows: int) -> None:
    with pytest.raises(DataError, match=f"at least 10 rows.*has {rows}"):
        fit(iris.drop(columns="species").head(rows), n_trials=1)


def test_all_constant_columns_are_named() -> None:
    frame = pd.DataFrame({"colour": ["red"] * 30, "size": [3.0] * 30})
    with pytest.raises(DataError, match="constant: 'colour', 'size'"):
        fit(frame, n_trials=1)


def test_a_constant_column_among_others_is_dropped_with_a_decision(iris: pd.DataFrame) -> None:
    frame = iris.drop(columns="species").assign(site="lab-1")
    result = fit(frame, n_trials=2, models=["kmeans"])
    assert "site" not in result.input_columns
    assert any(d.topic == "features" and "dropped 'site'" in d.message and "constant" in d.message
               for d in result.decisions)


def test_a_missing_reference_column(iris: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="reference column 'variety' is not in the table.*'species'"):
        fit(iris, n_trials=1, reference="variety")


def test_not_a_table() -> None:
    with pytest.raises(DataError, match="needs a table"):
        fit(np.zeros((20, 2)), n_trials=1)  # type: ignore[arg-type]


def test_a_tiny_table_still_clusters() -> None:
    frame = pd.DataFrame({"x": [0.0, 0.1, 0.2, 0.1, 0.0, 5.0, 5.1, 5.2, 5.1, 5.0, 0.15, 5.15],
                          "y": [1.0, 1.1, 0.9, 1.0, 1.2, 7.0, 7.1, 6.9, 7.2, 7.0, 1.05, 7.05]})
    result = fit(frame, n_trials=3, models=["kmeans"])
    assert result.artifact.meta["n_train_rows"] == 10 and result.artifact.meta["n_clusters"] >= 2
    labels = result.artifact.obj.predict(frame)
    assert not set(labels[frame["x"] < 1]) & set(labels[frame["x"] > 4])  # the two far-apart groups never mix
