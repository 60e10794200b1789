"""SourceWriter: live objects back to source that rebuilds them (no training, no subprocess: fast)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_iris
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

from automlops.core.problem import Problem, TaskType
from automlops.export import runtime
from automlops.export.source import ExportError, SourceWriter
from automlops.tabular.encodings import build_preprocessor
from automlops.tabular.preprocessing import FeaturePlan, FeatureSpec
from automlops.tabular.validation import split_test


def _run(writer: SourceWriter, expression: str) -> Any:
    """Execute the writer's imports and definitions, then evaluate ``expression``, in a clean namespace."""
    namespace: dict[str, Any] = {"__name__": "exported"}
    code = "from __future__ import annotations\n" + "\n".join(writer.imports) + "\n\n" + "\n\n".join(
        writer.definitions) + "\n" + "\n".join(f"{k} = {v}" for k, v in writer.constants.items())
    exec(compile(code, "exported", "exec"), namespace)  # noqa: S102 - the code under test is generated here
    return eval(expression, namespace)  # noqa: S307


def _same_params(a: Any, b: Any) -> None:
    """Every (nested) constructor parameter is equal; functions and classes compare by name."""
    def shown(value: Any) -> str:
        return re.sub(r" at 0x[0-9a-f]+", "", repr(value))

    pa, pb = a.get_params(deep=True), b.get_params(deep=True)
    assert set(pa) == set(pb)
    for key, value in pa.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, pb[key])
        else:
            assert shown(value) == shown(pb[key]), key


def test_a_set_is_written_in_the_same_order_in_every_process() -> None:
    """String hashes are salted per process, so a set iterates in another order each run; the script
    must not change with it (8 items: by chance in sorted order once in 40,320 runs)."""
    extensions = frozenset({".gif", ".tiff", ".png", ".bmp", ".webp", ".jpeg", ".tif", ".jpg"})
    written = SourceWriter().expression(extensions)
    assert written == "frozenset(['.bmp', '.gif', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp'])"
    assert SourceWriter().expression({"b", "a"}) == "set(['a', 'b'])"

def test_plain_values_round_trip() -> None:
    writer = SourceWriter()
    values = [None, True, 3, 0.1, float("nan"), float("inf"), "text", (1,), [1, (2, 3)], {"a": [1.5]},
              np.float64(2.5), np.int64(7), np.array([[1.0, 2.0]]), np.dtype("float32"), frozenset({1})]
    for value in values:
        back = _run(writer, writer.expression(value))
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(back)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(back, value)
            assert back.dtype == value.dtype
        else:
            assert back == value and type(back) is type(value.item() if isinstance(value, np.generic) else value)


def test_a_studio_preprocessor_is_rebuilt_with_its_copied_helpers() -> None:
    plan = FeaturePlan([FeatureSpec("x", "numeric", "float64", True, missing=9),
                        FeatureSpec("colour", "categorical", "object", False, ("blue", "red")),
                        FeatureSpec("city", "high_cardinality", "object", False),
                        FeatureSpec("when", "datetime", "datetime64[ns]", False)])
    original = build_preprocessor(plan, scale=True, encoding="onehot")
    writer = SourceWriter()
    rebuilt = _run(writer, writer.model_expression(original))
    _same_params(original, rebuilt)
    source = "\n".join(writer.definitions)
    assert "class DatetimeParts" in source and "class TopCategories" in source and "def _as_text" in source
    assert "MISSING = '__missing__'" in source  # a module constant a copied function reads
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0] * 5, "colour": ["red", "blue"] * 10,
                          "city": [f"c{i % 7}" for i in range(20)],
                          "when": pd.date_range("2024-01-01", periods=20, freq="D")})
    y = np.arange(20) % 2
    np.testing.assert_allclose(clone(original).fit_transform(frame, y), rebuilt.fit_transform(frame, y))


def test_only_changed_parameters_are_written_and_arrays_survive() -> None:
    writer = SourceWriter()
    model = TransformedTargetRegressor(regressor=RidgeCV(alphas=np.logspace(-3, 3, 13)), transformer=StandardScaler())
    source = writer.expression(model)
    assert "fit_intercept" not in source and "np.array([" in source and "0.001," in source
    _same_params(model, _run(writer, source))
    assert "from sklearn.linear_model import RidgeCV" in writer.imports  # the public module, not _ridge
    assert writer.expression(OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)).count("=") == 2


def test_long_column_lists_are_named_once() -> None:
    writer = SourceWriter()
    writer.name_list("INPUT_COLUMNS", ["a", "b", "c", "d"])
    source = writer.model_expression([["a", "b", "c", "d"], ["a", "b", "c", "d", "e"], ["x"]])
    assert source == "[INPUT_COLUMNS, COLUMNS_2, ['x']]"
    assert _run(writer, source)[1] == ["a", "b", "c", "d", "e"]


def test_objects_that_cannot_be_written_are_refused() -> None:
    with pytest.raises(ExportError, match="cannot"):
        SourceWriter().expression(lambda x: x)
    with pytest.raises(ExportError, match="plain Python"):
        SourceWriter().expression(object())


@pytest.mark.parametrize("classify", [True, False])
def test_the_scripts_split_is_the_studios(classify: bool) -> None:
    frame = load_iris(as_frame=True).frame
    if classify:
        frame["target"] = frame["target"].map({0: "a", 1: "b", 2: "c"})
    problem = Problem(TaskType.CLASSIFICATION if classify else TaskType.REGRESSION, "target",
                      "accuracy" if classify else "rmse", "maximize" if classify else "minimize")
    train, test, _ = split_test(frame, problem, test_size=0.2, random_state=3)
    for size in (0.2, len(test)):  # the share, or the recorded count of test rows: the same rows
        mine_train, mine_test = runtime.split_supervised(frame, "target", classify=classify, test_size=size, seed=3,
                                                         ordered=False)
        assert list(mine_test.index) == list(test.index)
        pd.testing.assert_frame_equal(mine_train, train.reset_index(drop=True))
    ordered_train, ordered_test, _ = split_test(frame, problem, test_size=0.2, random_state=3, ordered=True)
    mine_train, mine_test = runtime.split_supervised(frame, "target", classify=classify, test_size=0.2, seed=3,
                                                     ordered=True)
    assert list(mine_test.index) == list(ordered_test.index) and len(mine_train) == len(ordered_train)


def test_sha256_check_stops_on_other_bytes(tmp_path: Any) -> None:
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    import hashlib

    runtime.check_sha256(data, hashlib.sha256(data.read_bytes()).hexdigest(), skip=False)
    with pytest.raises(SystemExit, match="SHA-256"):
        runtime.check_sha256(data, "f" * 64, skip=False)


def test_a_time_ordered_table_is_cleaned_like_training() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01", "2024-04-01"]),
                          "y": [1.0, None, 3.0, 4.0]})
    cleaned = runtime.clean_supervised(frame, "y", "when")
    assert list(cleaned["y"]) == [3.0, 1.0, 4.0] and cleaned.index.tolist() == [0, 1, 2]
    with pytest.raises(SystemExit, match="'nope'"):
        runtime.clean_supervised(frame, "nope", None)
    rows = runtime.split_random_rows(10, test_size=0.2, seed=0, min_train=8)
    assert len(rows[0]) == 8 and sorted([*rows[0], *rows[1]]) == list(range(10))
    _ = train_test_split  # (imported for the reader: what split_supervised wraps)
