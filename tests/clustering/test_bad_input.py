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
    assert any(d.topic == "features" and "'site' dropped" in d.message and "constant" in d.message
               for d in result.decisions)


def test_a_missing_reference_column(iris: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="reference column 'variety' is not in the table.*'species'"):
        fit(iris, n_trials=1, reference="variety")


def test_not_a_table() -> None:
    with pytest.raises(DataError, match="needs a table"):
        fit(np.zeros((20, 2)), n_trials=1)  # type: ignore[arg-type]
