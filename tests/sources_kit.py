"""Helpers for the model-source tests (upload, retrain): real data, real tiny models, real files.

Everything here is small on purpose: iris (150 rows) from the lake, a logistic regression in
a scaling pipeline (~10 ms to fit), a studio search of one trial when a test needs a model the
studio saved itself.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from automlops.config import Settings
from automlops.mlops.lake import DataLake, DatasetVersion
from automlops.mlops.store import StoredModel

TARGET = "target"


class Shifter(TransformerMixin, BaseEstimator):
    """A harmless custom transformer: a type no allow-list of the studio knows."""

    def fit(self, X: Any, y: Any = None) -> Shifter:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X, dtype=float) + 1.0


class OpensAFile:
    """Unpickling this *runs code*: it creates ``path`` (stands in for anything worse)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def iris_lake(settings: Settings) -> tuple[DataLake, DatasetVersion]:
    """The lake with the demo iris dataset as v1 (150 rows, four numbers, a text label)."""
    from automlops.demo import seed_demo

    lake = DataLake(settings=settings)
    return lake, seed_demo(lake, ["iris"])[0]


def newer_iris(lake: DataLake) -> DatasetVersion:
    """iris v2: 140 rows, measurements moved a little (a later collection of the same flowers)."""
    frame = lake.load("iris", 1).sample(140, random_state=3).reset_index(drop=True)
    numbers = frame.columns.drop(TARGET)
    frame[numbers] = (frame[numbers] * 1.05).round(3)
    return lake.add("iris", frame, note="a newer collection")


def fit_logistic(frame: pd.DataFrame, target: str = TARGET, *, extra: Any = None) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [extra] if extra is not None else []
    model = make_pipeline(*steps, StandardScaler(), LogisticRegression(max_iter=500))
    return model.fit(frame.drop(columns=target), frame[target])


def write_model(model: Any, folder: Path, filename: str) -> Path:
    """``model`` saved as ``filename``: .skops with skops, .joblib with joblib, .pkl with pickle."""
    path = folder / filename
    if filename.endswith(".skops"):
        import skops.io

        skops.io.dump(model, path)
    elif filename.endswith(".joblib"):
        import joblib

        joblib.dump(model, path)
    else:
        path.write_bytes(pickle.dumps(model))
    return path


def studio_model(settings: Settings, lake: DataLake, entry: DatasetVersion, name: str = "iris") -> StoredModel:
    """A model the studio trained and saved itself: one trial of the logistic regression."""
    from automlops.mlops.store import ModelStore
    from automlops.tabular.persist import save_model
    from automlops.tabular.runner import AutoMLRunner

    frame = lake.load(entry.dataset, entry.version)
    runner = AutoMLRunner(TARGET, preset="fast", models=["logistic"], n_trials=1, validation="holdout", seed=0)
    result = runner.fit(frame).result_
    return save_model(result, ModelStore(settings=settings), name, dataset=entry.lineage(), register=False)


def tree(folder: Path) -> list[str]:
    """Every path under ``folder`` (relative), to assert that nothing was written."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []
