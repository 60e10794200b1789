"""Real datasets shared by the tabular tests (module-scoped, as each test module had them)."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine

from automlops.demo import load_demo


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


@pytest.fixture(scope="module")
def digits() -> pd.DataFrame:
    return load_digits(as_frame=True).frame  # 1,797 rows: "plenty"


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return load_demo("penguins")  # text columns and missing values
