"""Each validation mode picks the right scikit-learn splitter, and splits honour it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    TimeSeriesSplit,
)

from automlops.core.problem import Problem, infer_problem
from automlops.demo import load_demo
from automlops.errors import ConfigError, DataError
from automlops.tabular import AutoMLRunner
from automlops.tabular.validation import (
    SMALL_DATA_ROWS,
    choose_validation,
    prefers_cross_validation,
    split_test,
    training_target,
)


def _problem(frame: pd.DataFrame, target: str = "target", **kw) -> tuple[Problem, pd.Series]:  # type: ignore[no-untyped-def]
    return infer_problem(frame, target, **kw), frame[target]





@pytest.fixture(scope="module")
def diabetes_x3(diabetes: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([diabetes] * 3, ignore_index=True)  # 1,326 rows


def test_auto_small_classification_is_stratified_kfold(wine: pd.DataFrame) -> None:
    plan = choose_validation(*_problem(wine), mode="auto")
    assert plan.kind == "stratified" and plan.n_splits == 5
    assert isinstance(plan.splitter(0), StratifiedKFold)
    assert "178 rows" in plan.reason and "stratified" in plan.reason


def test_auto_small_regression_is_kfold(diabetes: pd.DataFrame) -> None:
    plan = choose_validation(*_problem(diabetes), mode="auto")
    assert plan.kind == "kfold" and isinstance(plan.splitter(0), KFold)
    assert not isinstance(plan.splitter(0), StratifiedKFold)


def test_auto_large_data_for_the_budget_is_holdout(digits: pd.DataFrame, diabetes_x3: pd.DataFrame) -> None:
    # digits: 1,797 rows × 64 columns = 115k cells; a 30 s budget affords 83k cells of CV.
    assert len(digits) >= SMALL_DATA_ROWS and len(diabetes_x3) >= SMALL_DATA_ROWS
    cls = choose_validation(*_problem(digits), mode="auto", n_columns=64, time_budget=30)
    assert cls.kind == "holdout_stratified" and isinstance(cls.splitter(0), StratifiedShuffleSplit)
    reg = choose_validation(*_problem(diabetes_x3), mode="auto", n_columns=10, time_budget=1)
    assert reg.kind == "holdout" and isinstance(reg.splitter(0), ShuffleSplit)
    assert reg.is_single_split and "holdout" in reg.reason and "1 s budget" in reg.reason
    assert len(reg.splits(diabetes_x3, diabetes_x3["target"], 0)) == 1


def test_auto_cross_validates_what_the_budget_affords(digits: pd.DataFrame) -> None:
    """The same table is cross-validated with a larger budget (or none) and held out with a smaller one."""
    problem, y = _problem(digits)  # 1,797 rows × 64 columns × 10 classes = 1.15M cells
    small = choose_validation(problem, y, n_columns=64, time_budget=450)  # < 1.25M cells
    assert small.kind == "stratified" and "cells is small" in small.reason
    assert choose_validation(problem, y, n_columns=64, time_budget=400).kind == "holdout_stratified"  # ≥ 1.11M
    no_budget = choose_validation(problem, y, n_columns=64)
    assert no_budget.kind == "stratified" and "without a time budget" in no_budget.reason
    big = pd.Series(np.arange(120_000) % 2)
    assert choose_validation(problem, big, n_columns=2, time_budget=3600).kind == "holdout_stratified"


def test_each_class_multiplies_the_cost_of_cross_validation() -> None:
    """Boosting grows one tree per class each round: 12 classes cost 12 times the cells of two."""
    assert prefers_cross_validation(2_600, 10, 60)[0]  # 26k cells < 167k
    assert prefers_cross_validation(2_600, 10, 60, n_classes=2)[0]
    many, why = prefers_cross_validation(2_600, 10, 60, n_classes=12)  # 312k cells
    assert not many and "× 12 classes = 312,000 cells" in why
    assert prefers_cross_validation(2_600, 10, 120, n_classes=12)[0]  # 312k < 333k


def test_a_many_class_table_with_a_rare_class_is_cross_validated(digits: pd.DataFrame) -> None:
    """Like a binary table with few positives, a table whose rarest class would have only a handful of
    rows in the holdout is cross-validated while that costs at most five times the affordable cells:
    eight rows of a class cannot tell models (or ensemble weights) apart. With more than two classes
    the bar is 20 rows, not the 100 of a binary table's rarer class."""
    rare, why = prefers_cross_validation(2_600, 10, 60, rarest_class=40, n_classes=12)  # 8 in the holdout
    assert rare and "only 8 rows of the rarest class (< 20)" in why
    assert not prefers_cross_validation(2_600, 10, 60, rarest_class=130, n_classes=12)[0]  # 26 in it
    assert prefers_cross_validation(2_600, 10, 60, rarest_class=130, n_classes=2)[0]  # < 100 of two classes
    assert not prefers_cross_validation(2_600, 40, 60, rarest_class=40, n_classes=12)[0]  # 1.25M > 5 × 167k
    digit = digits[digits["target"].isin(range(9))]
    few_nines = pd.concat([digit, digits[digits["target"] == 9].head(60)], ignore_index=True)  # 12 in a holdout
    plan = choose_validation(*_problem(few_nines), n_columns=10, time_budget=60)  # 167k cells ≥ 167k, < 833k
    assert plan.kind == "stratified" and "rarest class" in plan.reason
    # ~36 of each digit in a holdout: enough
    assert choose_validation(*_problem(digits), n_columns=10, time_budget=60).kind == "holdout_stratified"


def test_auto_with_time_column_is_timeseries(diabetes: pd.DataFrame) -> None:
    problem, y = _problem(diabetes, time_column="bmi")
    plan = choose_validation(problem, y, mode="auto")
    assert plan.kind == "timeseries" and isinstance(plan.splitter(0), TimeSeriesSplit)
    assert "bmi" in plan.reason


@pytest.mark.parametrize(("mode", "splitter"), [("kfold", KFold), ("stratified", StratifiedKFold),
                                                ("holdout", StratifiedShuffleSplit),
                                                ("timeseries", TimeSeriesSplit)])
def test_manual_modes_classification(wine: pd.DataFrame, mode: str, splitter: type) -> None:
    plan = choose_validation(*_problem(wine), mode=mode)
    assert type(plan.splitter(0)) is splitter
    assert "chosen by the user" in plan.reason


@pytest.mark.parametrize(("mode", "splitter"), [("kfold", KFold), ("holdout", ShuffleSplit),
                                                ("timeseries", TimeSeriesSplit)])
def test_manual_modes_regression(diabetes: pd.DataFrame, mode: str, splitter: type) -> None:
    plan = choose_validation(*_problem(diabetes), mode=mode)
    assert type(plan.splitter(0)) is splitter


def test_stratified_regression_is_a_config_error(diabetes: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="stratified validation needs a classification target"):
        choose_validation(*_problem(diabetes), mode="stratified")


def test_unknown_mode(wine: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="unknown validation 'loo'"):
        choose_validation(*_problem(wine), mode="loo")


def test_stratified_folds_keep_class_shares(wine: pd.DataFrame) -> None:
    problem, y = _problem(wine)
    plan = choose_validation(problem, y, mode="stratified")
    overall = y.value_counts(normalize=True).sort_index()
    splits = plan.splits(wine, y, 0)
    assert len(splits) == 5
    covered = np.sort(np.concatenate([va for _, va in splits]))
    assert np.array_equal(covered, np.arange(len(wine)))  # every row scored exactly once
    for train, val in splits:
        assert np.intersect1d(train, val).size == 0
        shares = y.iloc[val].value_counts(normalize=True).sort_index()
        assert np.allclose(shares.to_numpy(), overall.to_numpy(), atol=0.05)


def test_folds_shrink_for_a_rare_class(wine: pd.DataFrame) -> None:
    rare = pd.concat([wine[wine.target != 2], wine[wine.target == 2].head(3)])
    plan = choose_validation(*_problem(rare), mode="stratified")
    assert plan.n_splits == 3 and "smallest class has 3 rows" in plan.reason
    with pytest.raises(DataError, match="at least 2 rows"):
        choose_validation(*_problem(pd.concat([wine[wine.target != 2], wine[wine.target == 2].head(1)])),
                          mode="stratified")


def test_test_split_is_stratified() -> None:
    frame = load_breast_cancer(as_frame=True).frame
    problem = infer_problem(frame, "target")
    train, test, why = split_test(frame, problem, test_size=0.2, random_state=0)
    assert len(test) == pytest.approx(0.2 * len(frame), abs=1)
    assert set(train.index).isdisjoint(test.index)
    assert test["target"].mean() == pytest.approx(frame["target"].mean(), abs=0.01)
    assert "stratified" in why
    with pytest.raises(ConfigError):
        split_test(frame, problem, test_size=0.95, random_state=0)


def test_test_split_refuses_singleton_classes(wine: pd.DataFrame) -> None:
    frame = pd.concat([wine[wine.target != 2], wine[wine.target == 2].head(1)])
    with pytest.raises(DataError, match="single row"):
        split_test(frame, infer_problem(frame, "target"), test_size=0.2, random_state=0)


def test_the_validation_preview_sees_the_rows_training_keeps(wine: pd.DataFrame) -> None:
    """The Train page previews the validation plan on the rows the engine will learn from: here the
    test split leaves class 3 one training row, so training drops it, and so must the preview."""
    frame = wine.copy()
    frame.loc[[0, 1], "target"], frame.loc[[60, 61], "target"], frame.loc[[130, 131], "target"] = 3, 4, 5
    problem, y = _problem(frame)
    kept = training_target(y, problem)
    assert 3 not in set(kept) and kept.value_counts()[[4, 5]].tolist() == [2, 2]
    assert len(kept) == len(frame) - 36 - 1  # the test rows (20 %) and class 3's training row
    plan = choose_validation(problem, kept, mode="stratified")
    assert plan.n_splits == 2 and "smallest class has 2 rows" in plan.reason


def test_time_test_split_is_the_last_rows(diabetes: pd.DataFrame) -> None:
    frame = diabetes.sort_values("bmi").reset_index(drop=True)
    problem = replace(infer_problem(frame, "target"), time_column="bmi")
    train, test, why = split_test(frame, problem, test_size=0.2, random_state=0)
    assert train["bmi"].max() <= test["bmi"].min()
    assert "last 20%" in why


def test_timeseries_splits_learn_on_the_past(diabetes: pd.DataFrame) -> None:
    problem, y = _problem(diabetes, time_column="bmi")
    plan = choose_validation(problem, y, mode="timeseries")
    for train, val in plan.splits(diabetes, y, 0):
        assert train.max() < val.min()


# --------------------------------------------------------------------- through the runner

@pytest.fixture(scope="module")
def cars() -> pd.DataFrame:
    frame = load_demo("cars")  # ordered by model year, like a log file
    frame["row_order"] = np.arange(len(frame)) + 0.5  # a float, so it is kept as a feature
    return frame


def test_runner_with_time_column_respects_time_order(cars: pd.DataFrame) -> None:
    shuffled = cars.sample(frac=1.0, random_state=0)  # the runner must sort by time itself
    runner = AutoMLRunner("Miles_per_Gallon", preset="fast", models=["ridge"], n_trials=1,
                          validation="auto", time_column="Year").fit(shuffled)
    assert runner.validation_.kind == "timeseries"
    X = runner.evaluator_.X
    for train, val in runner.evaluator_.splits:
        assert X["Year"].iloc[train].max() <= X["Year"].iloc[val].min()
    assert any("last 20%" in str(d) for d in runner.decisions_)


def test_runner_timeseries_without_time_column_keeps_file_order(cars: pd.DataFrame) -> None:
    """The decision log promises "rows are taken in their file order as time": keep that promise."""
    runner = AutoMLRunner("Miles_per_Gallon", preset="fast", models=["ridge"], n_trials=1,
                          validation="timeseries").fit(cars)
    assert runner.validation_.kind == "timeseries"
    assert "file order" in runner.validation_.reason
    X = runner.evaluator_.X
    for train, val in runner.evaluator_.splits:
        assert X["row_order"].iloc[train].max() < X["row_order"].iloc[val].min(), \
            "a time-series fold learned from rows that come after its validation rows"


def test_auto_cross_validates_a_binary_table_whose_holdout_would_hold_few_positives(cancer: pd.DataFrame) -> None:
    """Same size, same budget: a balanced table is held out, one with 3 % positives is cross-validated
    (its holdout would score ROC-AUC on a dozen positives)."""
    balanced = pd.concat([cancer] * 4, ignore_index=True)  # 2,276 rows, 37 % malignant
    malignant, benign = balanced[balanced["target"] == 0], balanced[balanced["target"] == 1]
    rare = pd.concat([benign, benign, malignant.head(70)], ignore_index=True)  # 2,926 rows, 2.4 % malignant
    budget = 20.0  # 30 columns: both tables are above the 56k cells a 20 s budget affords
    plain = choose_validation(*_problem(balanced), n_columns=30, time_budget=budget)
    assert plain.kind == "holdout_stratified"
    skewed = choose_validation(*_problem(rare), n_columns=30, time_budget=budget)
    assert skewed.kind == "stratified" and "rarest class" in skewed.reason
    # beyond five times the affordable cells, a holdout it is anyway
    huge = pd.concat([rare] * 2, ignore_index=True)
    assert choose_validation(*_problem(huge), n_columns=30, time_budget=10).kind == "holdout_stratified"
