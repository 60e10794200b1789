"""SHAP explanations of saved-style tabular pipelines on real data (automlops.tabular.explain)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from automlops.core.problem import TaskType, infer_problem
from automlops.errors import DataError, ModelError
from automlops.search.engine import Candidate
from automlops.tabular.encodings import build_preprocessor
from automlops.tabular.ensemble import EnsembleConfig, build_ensemble
from automlops.tabular.evaluate import build_pipeline
from automlops.tabular.explain import explain_global, explain_rows, fold_map, make_explainer
from automlops.tabular.preprocessing import plan_features


def _problem(df: pd.DataFrame, target: str) -> Any:
    problem = infer_problem(df, target)
    if problem.task is TaskType.CLASSIFICATION:
        problem = replace(problem, classes=tuple(sorted(df[target].unique().tolist())))
    return problem


def _meta(plan: Any, problem: Any) -> dict[str, Any]:
    return {"task": problem.task.value, "kind": "tabular", "input_columns": plan.input_columns,
            "feature_schema": plan.schema(), "classes": list(problem.classes)}


def fit(df: pd.DataFrame, target: str, model: str, **params: Any) -> tuple[Pipeline, dict[str, Any]]:
    """A pipeline exactly as the engine builds it (preprocessing + zoo model), fitted on ``df``."""
    df = df.dropna(subset=[target])
    problem = _problem(df, target)
    plan = plan_features(df, problem)
    pipe = build_pipeline(Candidate(model, params), plan, problem, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(df[plan.input_columns], df[target])
    return pipe, _meta(plan, problem)


def test_boosted_binary_is_additive_in_log_odds(cancer: pd.DataFrame) -> None:
    pipe, meta = fit(cancer, "target", "xgboost", n_estimators=40)
    explainer = make_explainer(pipe, meta, None)  # tree SHAP needs no background
    assert (explainer.method, explainer.output) == ("tree", "log-odds")
    rows = cancer.head(20)
    base, values, outputs = explainer.shap_values(rows)
    proba = pipe.predict_proba(rows[meta["input_columns"]])
    np.testing.assert_allclose(outputs[:, 1], logit(proba[:, 1]), atol=1e-4)  # xgboost works in float32
    np.testing.assert_allclose(base + values.sum(axis=1), outputs)
    one = explain_rows(explainer, rows.head(3), top_k=None)
    for i, row in enumerate(one):
        k = meta["classes"].index(row.prediction)
        assert row.class_name == row.prediction
        total = row.base_value + sum(c.contribution for c in row.contributions)
        assert total == pytest.approx(float(logit(proba[i, k])), abs=1e-4)


def test_multiclass_margin_and_forest_probability(penguins: pd.DataFrame) -> None:
    pipe, meta = fit(penguins, "species", "lightgbm", n_estimators=30)
    explainer = make_explainer(pipe, meta, None)
    assert explainer.output == "margin"
    rows = penguins.dropna(subset=["species"]).head(15)
    _, _, outputs = explainer.shap_values(rows)
    X = pipe[:-1].transform(rows[meta["input_columns"]])
    raw = pipe.steps[-1][1].estimator_.predict(X, raw_score=True)
    np.testing.assert_allclose(outputs, raw, atol=1e-6)

    forest, fmeta = fit(penguins, "species", "random_forest", n_estimators=25)
    fexplainer = make_explainer(forest, fmeta, None)
    assert fexplainer.output == "probability"
    _, _, foutputs = fexplainer.shap_values(rows)
    np.testing.assert_allclose(foutputs, forest.predict_proba(rows[fmeta["input_columns"]]), atol=1e-8)


@pytest.mark.parametrize(("table", "target", "output"), [("cancer", "target", "log-odds"),
                                                          ("penguins", "species", "margin")])
def test_catboost_is_explained_by_tree_shap_in_its_raw_units(table: str, target: str, output: str,
                                                             request: pytest.FixtureRequest) -> None:
    pytest.importorskip("catboost")
    df = request.getfixturevalue(table)
    pipe, meta = fit(df, target, "catboost", n_estimators=30)
    explainer = make_explainer(pipe, meta, None)
    assert (explainer.method, explainer.output) == ("tree", output)
    rows = df.dropna(subset=[target]).head(15)
    base, values, outputs = explainer.shap_values(rows)
    X = pipe[:-1].transform(rows[meta["input_columns"]])
    raw = np.asarray(pipe.steps[-1][1].estimator_.predict(X, prediction_type="RawFormulaVal"), dtype=float)
    if output == "log-odds":  # one margin for two classes: the log-odds of classes[1]
        np.testing.assert_allclose(outputs[:, 1], raw, atol=1e-6)
    else:
        np.testing.assert_allclose(outputs - outputs.mean(axis=1, keepdims=True),
                                   raw - raw.mean(axis=1, keepdims=True), atol=1e-6)  # softmax ignores a shift
    np.testing.assert_allclose(base + values.sum(axis=1), outputs, atol=1e-6)


def test_regression_is_additive_in_the_target_units(diabetes: pd.DataFrame) -> None:
    pipe, meta = fit(diabetes, "target", "hist_gb", max_iter=40)
    explainer = make_explainer(pipe, meta, None)
    assert explainer.method == "tree"  # the zoo's subclass of scikit-learn's model (hist_gb.py) is a tree model
    rows = diabetes.head(10)
    (row,) = explain_rows(explainer, rows.head(1), top_k=3)
    assert row.class_name is None and row.output == "value"
    assert len(row.contributions) == 3
    sizes = [abs(c.contribution) for c in row.contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert row.contributions[0].value == pytest.approx(float(rows.iloc[0][row.contributions[0].feature]))
    _, _, outputs = explainer.shap_values(rows)
    np.testing.assert_allclose(outputs[:, 0], pipe.predict(rows[meta["input_columns"]]), atol=1e-8)


def test_one_hot_columns_fold_back_to_their_feature(penguins: pd.DataFrame) -> None:
    """A forest on one-hot columns (as an uploaded pipeline could be): 'island' is three columns, one feature."""
    import shap

    df = penguins.dropna(subset=["species"])
    problem = _problem(df, "species")
    plan = plan_features(df, problem)
    prep = build_preprocessor(plan, scale=False, encoding="onehot")
    pipe = Pipeline([("prep", prep), ("model", RandomForestClassifier(30, random_state=0))])
    pipe.fit(df[plan.input_columns], df["species"])
    names = list(prep.get_feature_names_out())
    island = [i for i, n in enumerate(names) if n.startswith("island_")]
    assert len(island) == 3
    folded = fold_map(prep, len(names))
    assert {folded[i] for i in island} == {"island"} and set(folded) == set(plan.input_columns)

    explainer = make_explainer(pipe, _meta(plan, problem), None)
    rows = df.head(8)
    _, values, outputs = explainer.shap_values(rows)
    assert values.shape == (8, len(plan.input_columns), 3)  # original features, not the 13 encoded ones
    raw = np.asarray(shap.TreeExplainer(pipe.steps[-1][1]).shap_values(prep.transform(rows[plan.input_columns])))
    np.testing.assert_allclose(values[:, plan.input_columns.index("island"), :], raw[:, island, :].sum(axis=1))
    np.testing.assert_allclose(outputs, pipe.predict_proba(rows[plan.input_columns]), atol=1e-8)


def test_fold_map_names_every_encoded_part(penguins: pd.DataFrame) -> None:
    """Missing-value flags, date parts and per-class target encodings all go back to their column."""
    df = penguins.dropna(subset=["species"]).copy()
    df.loc[df.index[:12], "bill_length_mm"] = np.nan  # enough missing values to earn a flag
    df["seen"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(len(df)) % 97, unit="D")
    df["tag"] = [f"t{i % 37}" for i in range(len(df))]  # high cardinality: target-encoded per class
    problem = _problem(df, "species")
    plan = plan_features(df, problem)
    prep = build_preprocessor(plan, scale=True, encoding="onehot").fit(df[plan.input_columns], df["species"])
    names = list(prep.get_feature_names_out())
    folded = fold_map(prep, len(names))
    assert set(folded) == set(plan.input_columns)
    assert folded[names.index("missingindicator_bill_length_mm")] == "bill_length_mm"
    assert folded.count("tag") == 3 and folded.count("seen") >= 6
    with pytest.raises(ModelError, match="cannot map"):
        fold_map(prep, len(names) + 1)


def test_a_planted_leak_has_the_largest_mean_abs_shap(cancer: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    df = cancer.assign(leak=cancer["target"] + rng.normal(0, 0.3, len(cancer)))
    pipe, meta = fit(df, "target", "lightgbm", n_estimators=40)
    summary = explain_global(pipe, meta, df, max_rows=200)
    assert summary.features[0] == "leak"
    assert summary.mean_abs[0] > 2 * summary.mean_abs[1]
    assert summary.class_name == "1" and summary.method == "tree"
    assert summary.values.shape == (200, len(meta["input_columns"]))
    assert list(summary.data.columns) == list(summary.features)
    assert summary.top(2)[0] == {"feature": "leak", "mean_abs": summary.mean_abs[0]}


def test_model_agnostic_path_for_a_linear_model(penguins: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    df = penguins.drop(columns="species").assign(label=rng.choice(["no", "yes"], len(penguins)))
    df["leak"] = df["label"].str.upper().where(rng.random(len(df)) > 0.05, "N/A")  # text, nearly the label
    pipe, meta = fit(df, "label", "logistic")
    with pytest.raises(DataError, match="background"):
        make_explainer(pipe, meta, None)
    explainer = make_explainer(pipe, meta, df)
    assert (explainer.method, explainer.output) == ("permutation", "probability")
    rows = df.sample(6, random_state=0)
    base, values, outputs = explainer.shap_values(rows)
    np.testing.assert_allclose(outputs, pipe.predict_proba(rows[meta["input_columns"]]), atol=1e-9)
    np.testing.assert_allclose(base, pipe.predict_proba(explainer.background).mean(axis=0), atol=1e-12)
    summary = explain_global(pipe, meta, df, max_rows=40, explainer=explainer)
    assert summary.features[0] == "leak" and summary.method == "permutation"
    assert summary.class_name == "yes"  # binary: the positive class


def test_an_ensemble_goes_the_model_agnostic_way(diabetes: pd.DataFrame) -> None:
    problem = _problem(diabetes, "target")
    plan = plan_features(diabetes, problem)
    members = [(m, build_pipeline(Candidate(m, p), plan, problem, 0))
               for m, p in (("ridge", {}), ("lightgbm", {"n_estimators": 20}))]
    model = build_ensemble(EnsembleConfig(kind="voting"), members, problem, 0)
    model.fit(diabetes[plan.input_columns], diabetes["target"])
    explainer = make_explainer(model, _meta(plan, problem), diabetes)
    assert explainer.method == "permutation"
    (row,) = explain_rows(explainer, diabetes.head(1), top_k=None)
    total = row.base_value + sum(c.contribution for c in row.contributions)
    assert total == pytest.approx(float(model.predict(diabetes.head(1)[plan.input_columns])[0]))


def test_the_synthetic_rows_reach_the_model_in_bounded_calls_with_the_same_values(penguins: pd.DataFrame) -> None:
    """Each explained row builds up to ``batch_rows`` synthetic rows; the model sees them ``predict_rows`` at a
    time (every pipeline step copies its input: one big call was a training's memory peak), and the values
    are those of a single call."""
    df = penguins.dropna(subset=["sex"])
    pipe, meta = fit(df, "species", "logistic")
    rows = df.sample(3, random_state=0)
    whole = make_explainer(pipe, meta, df)
    whole.predict_rows = 10**9
    expected = whole.shap_values(rows)

    calls: list[int] = []
    predict_proba = pipe.predict_proba

    def recording(frame: pd.DataFrame) -> np.ndarray:
        calls.append(len(frame))
        return predict_proba(frame)

    pipe.predict_proba = recording  # type: ignore[method-assign]
    chunked = make_explainer(pipe, meta, df)
    chunked.predict_rows = 97
    for got, want in zip(chunked.shap_values(rows), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert max(calls) <= 97 and len(calls) > 3 * len(rows)  # many bounded calls per explained row


def test_kinds_without_classes_or_values_are_refused(cancer: pd.DataFrame) -> None:
    pipe, meta = fit(cancer, "target", "decision_tree", max_depth=3)
    with pytest.raises(ModelError, match="classification and regression"):
        make_explainer(pipe, {**meta, "task": "clustering"}, cancer)
    explainer = make_explainer(pipe, meta, None)
    with pytest.raises(DataError, match="lack column"):
        explainer.shap_values(cancer.drop(columns=["mean radius"]).head(2))


def test_a_wide_tables_synthetic_rows_are_built_a_block_at_a_time() -> None:
    """64 pixel columns: each explained row walks 10 orders × 64 steps × 50 background rows = 32,000
    synthetic rows of 64 numbers (16 MB). They are built and scored a block of ``predict_rows`` rows at a
    time, so explaining a row holds a few MB (tracemalloc sees numpy's and pandas' buffers), with the
    values of one big batch: additive, and the same as a run with blocks of another size."""
    import tracemalloc

    from sklearn.datasets import load_digits

    digits = load_digits(as_frame=True).frame.sample(600, random_state=0)
    pipe, meta = fit(digits, "target", "logistic")
    row = digits.drop(columns="target").head(1)
    explainer = make_explainer(pipe, meta, digits)
    explainer.predict_rows = 1_024
    tracemalloc.start()
    try:
        base, values, outputs = explainer.shap_values(row)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"explaining one row held {peak / 2**20:.1f} MB"
    np.testing.assert_allclose(base + values.sum(axis=1), outputs, atol=1e-9)
    np.testing.assert_allclose(outputs[0], pipe.predict_proba(row)[0], atol=1e-9)
    other = make_explainer(pipe, meta, digits)
    other.predict_rows = 10**6  # one block per order
    np.testing.assert_allclose(other.shap_values(row)[1], values, atol=1e-12)


EXPLAIN_NATIVELY = """
import json, sys
from automlops.demo import load_demo
from automlops.tabular.explain import explain_global, make_explainer
from tests.tabular.test_explain import fit

df = load_demo("penguins")
pipe, meta = fit(df, "species", sys.argv[1], n_estimators=30)
found = explain_global(pipe, meta, df.dropna(subset=["species"]), explainer=make_explainer(pipe, meta, None))
print(json.dumps({"method": found.method, "top": found.features[0],
                  "loaded": sorted(m for m in ("shap", "numba", "llvmlite") if m in sys.modules)}))
"""


@pytest.mark.parametrize("library", ["lightgbm", "catboost"])
def test_a_boosted_model_is_explained_without_loading_shap(library: str) -> None:
    """LightGBM (``pred_contrib``) and CatBoost (``ShapValues``) compute TreeSHAP themselves, so explaining
    their models must not import shap, which loads numba and LLVM (+100 MB on top of a training process's
    libraries: the peak of a 60 s training on caravan)."""
    out = subprocess.run([sys.executable, "-c", EXPLAIN_NATIVELY, library], capture_output=True, text=True,
                         check=True, timeout=110, cwd=Path(__file__).resolve().parents[2])  # the module's fit()
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["method"] == "tree"
    assert found["top"]  # a real summary was drawn
    assert found["loaded"] == [], f"explaining a {library} model loaded {found['loaded']}"
