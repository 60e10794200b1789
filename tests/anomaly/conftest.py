"""Planted anomalies at known rows: breast_cancer with the malignant class subsampled to 5 %."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer


def planted_breast_cancer(seed: int = 0) -> pd.DataFrame:
    d = load_breast_cancer(as_frame=True).frame
    benign, malignant = d[d.target == 1], d[d.target == 0]
    malignant = malignant.sample(int(round(0.05 / 0.95 * len(benign))), random_state=seed)
    frame = pd.concat([benign, malignant]).sample(frac=1, random_state=seed).reset_index(drop=True)
    frame["anomaly"] = (frame.pop("target") == 0).astype(int)
    return frame


@pytest.fixture(scope="session")
def planted() -> pd.DataFrame:
    return planted_breast_cancer(0)


@pytest.fixture(scope="session")
def labels(planted: pd.DataFrame) -> np.ndarray:
    return planted["anomaly"].to_numpy()
