"""The compiled preprocessing path gives exactly the pipeline's answers, or is not used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from automlops.mlops.store import ModelStore
from automlops.serving.fastpath import compile_preprocessor
from automlops.serving.loader import ServedModel, load_served
from automlops.serving.validation import FeatureSchema, prepare_rows
from tests.serving.conftest import BANK


@pytest.mark.parametrize("name", sorted(BANK))
def test_every_trained_model_compiles_and_answers_like_its_pipeline(model_bank: Path, demo_rows, name) -> None:
    served = load_served(ModelStore(model_bank), name, 1)
    assert served.fast is not None
    rows = demo_rows(name, 60)
    for row in rows[::7]:  # unseen categories too
        for f in served.schema.features:
            if f.kind == "categorical":
                row[f.name] = "never-seen"
    frame = pd.DataFrame(rows)
    for f in served.schema.features:
        if f.kind == "datetime":
            frame[f.name] = pd.to_datetime(frame[f.name])
    predictions, proba = served.predict(prepare_rows({"records": rows}, served.schema))
    expected = served.pipeline.predict(frame)
    if served.task == "regression":
        assert np.allclose(predictions, expected)
    else:
        assert predictions == expected.tolist()
        assert np.allclose(proba, served.pipeline.predict_proba(frame))


def test_unknown_structures_keep_the_normal_path(model_bank: Path) -> None:
    loaded = ModelStore(model_bank).load("cancer")
    schema = FeatureSchema.from_meta(loaded.meta)
    plain = make_pipeline(StandardScaler(), LogisticRegression())
    assert compile_preprocessor(plain, schema) is None
    assert compile_preprocessor(loaded.model.steps[-1][1], schema) is None  # not a pipeline


def test_a_compiled_path_that_disagrees_is_not_used(model_bank: Path, monkeypatch) -> None:
    import automlops.serving.fastpath as fastpath

    loaded = ModelStore(model_bank).load("cancer")
    served = ServedModel("cancer", 1, "classification", loaded.meta, FeatureSchema.from_meta(loaded.meta), loaded.model)
    real = fastpath.FastPreprocessor.transform
    monkeypatch.setattr(fastpath.FastPreprocessor, "transform", lambda self, prepared: real(self, prepared) + 1.0)
    assert served.compile() is False and served.fast is None
