"""Helpers that used to exist in several copies now have one definition, used everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from automlops.core.features import FEATURE_KINDS
from automlops.core.jsonable import jsonable
from automlops.core.problem import Problem, TaskType
from automlops.core.redact import URL_USERINFO

PACKAGE = Path(__file__).resolve().parent.parent / "automlops"
# Not folded yet (files owned by other changes): reports._safe() and ui/jobs.py's stored_uri should call
# automlops.core.redact.redact (or URL_USERINFO.sub); drop them from this set when they do.


def test_the_url_credential_pattern_is_written_once() -> None:
    copies = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
              if URL_USERINFO.pattern in p.read_text(encoding="utf-8")}
    assert copies == {"core/redact.py"}


def test_both_writers_of_json_results_use_the_core_helper() -> None:
    from automlops.mlops import persist
    from automlops.search import tracking_sink
    from automlops.tabular import diagnostics

    assert persist.jsonable is jsonable and diagnostics.jsonable is jsonable and tracking_sink.jsonable is jsonable
    defined = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
               if "def _jsonable" in p.read_text(encoding="utf-8") or "def jsonable" in p.read_text(encoding="utf-8")}
    assert defined == {"core/jsonable.py"}
    assert jsonable({"a": np.float64(0.5), "b": (1, 2)}) == {"a": 0.5, "b": [1, 2]}


def test_every_kind_training_writes_is_one_serving_accepts() -> None:
    """plan_features (training) and FeatureSchema (the API) share one list of kinds."""
    from automlops.serving.validation import KINDS, FeatureSchema
    from automlops.tabular.preprocessing import plan_features

    n = 60
    frame = pd.DataFrame({
        "x": np.linspace(0, 1, n), "colour": ["red", "green", "blue"] * (n // 3),
        "city": [f"c{i % 30}" for i in range(n)], "when": pd.date_range("2024-01-01", periods=n // 2, freq="D").repeat(2),
        "y": [0, 1] * (n // 2),
    })
    plan = plan_features(frame, Problem(TaskType.CLASSIFICATION, "y", "accuracy", "maximize", classes=(0, 1)))
    assert {f.kind for f in plan.features} == set(FEATURE_KINDS)
    schema = FeatureSchema.from_meta({"feature_schema": plan.schema(), "input_columns": plan.input_columns})
    assert {f.name: f.kind for f in schema.features} == {f.name: f.kind for f in plan.features}
    assert KINDS is FEATURE_KINDS
