"""HistGradientBoosting and LightGBM split on categories themselves ("native" encoding) instead of reading
target-encoded numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_squared_error

from automlops.core.features import HIGH_CARDINALITY
from automlops.core.problem import infer_problem
from automlops.tabular.encodings import NATIVE_MAX_CATEGORIES
from automlops.tabular.evaluate import build_pipeline
from automlops.tabular.preprocessing import plan_features
from automlops.tabular.search import Candidate
from automlops.tabular.zoo import get_model


def _panel(seed: int, n_firms: int = 60, rows_each: int = 30) -> pd.DataFrame:
    """A drawn panel with a known answer: each firm's target rises or falls with ``x`` (slope ±2), and
    ``x`` is centred on 0, so every firm's *mean* target is ~0 and target encoding cannot tell them apart."""
    rng = np.random.default_rng(seed)
    slope = rng.choice([-2.0, 2.0], n_firms)
    firm = np.repeat(np.arange(n_firms), rows_each)
    x = rng.uniform(-1, 1, len(firm))
    return pd.DataFrame({"firm": [f"firm_{i:03d}" for i in firm], "x": x,
                         "y": slope[firm] * x + rng.normal(0, 0.1, len(firm))})


def _fit(model: str, train: pd.DataFrame) -> tuple:  # type: ignore[type-arg]
    problem = infer_problem(train, "y")
    plan = plan_features(train, problem)
    pipe = build_pipeline(Candidate(model, get_model(model).defaults(problem)), plan, problem, seed=0)
    return pipe.fit(train[plan.input_columns], train["y"]), plan


def test_the_firm_codes_come_first_and_the_model_is_told_they_are_categories() -> None:
    pipe, plan = _fit("hist_gb", _panel(0))
    assert plan.columns(HIGH_CARDINALITY) == ["firm"]  # 60 firms: more than one-hot takes
    assert list(pipe[-1].categorical_features) == [0]
    codes = pipe[0].transform(_panel(0)[plan.input_columns])[:, 0]
    assert set(np.unique(codes)) == set(range(60))  # one integer per firm, not a target mean


@pytest.mark.parametrize("rows_each", [16, 40])  # 960 rows: the searched rounds; 2,400: early-stopped
def test_native_splits_learn_what_target_encoding_cannot(rows_each: int) -> None:
    """XGBoost and LightGBM on 60 target-encoded firms miss each firm's direction; the models that split on
    many categories themselves (HistGradientBoosting, LightGBM XT) find it."""
    train = _panel(0, rows_each=rows_each)
    test = train.sample(frac=1.0, random_state=1).assign(x=np.random.default_rng(2).uniform(-1, 1, len(train)))
    slope = train.groupby("firm").apply(lambda g: np.sign(np.polyfit(g.x, g.y, 1)[0]) * 2, include_groups=False)
    test = test.assign(y=test.firm.map(slope) * test.x)
    errors = {}
    for model in ("xgboost", "lightgbm", "hist_gb", "lightgbm_xt"):
        pipe, plan = _fit(model, train)
        errors[model] = mean_squared_error(test.y, pipe.predict(test[plan.input_columns])) ** 0.5
    for native in ("hist_gb", "lightgbm_xt"):
        assert errors[native] < 0.5 * min(errors["xgboost"], errors["lightgbm"]), errors
        assert errors[native] < 0.5, errors  # the target's spread is ~1.15; measured 0.23-0.43 on 960 rows


def _split_tests(booster: object) -> set[tuple[int, str]]:
    """(feature, test) of every split of a fitted LightGBM: "==" on a set of categories, "<=" on a threshold."""
    found = set()
    for tree in booster.dump_model()["tree_info"]:  # type: ignore[attr-defined]
        stack = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "decision_type" in node:
                found.add((node["split_feature"], node["decision_type"]))
                stack += [node["left_child"], node["right_child"]]
    return found


@pytest.mark.parametrize(("model", "n_firms", "native"), [("lightgbm", 15, True), ("lightgbm", 60, False),
                                                          ("lightgbm_xt", 15, True), ("lightgbm_xt", 60, True)])
def test_each_lightgbm_is_told_which_columns_it_splits_as_categories(model: str, n_firms: int, native: bool) -> None:
    """Both LightGBMs split a column of up to 20 categories on its categories; a column of many is split so by
    LightGBM XT and target-encoded for plain LightGBM (two views for the search to choose from)."""
    pipe, _ = _fit(model, _panel(0, n_firms=n_firms, rows_each=2400 // n_firms))
    splits = _split_tests(pipe[-1].estimator_.booster_)
    if native:
        assert pipe[-1].categorical_features == [0]
        assert (0, "==") in splits and (0, "<=") not in splits
    else:  # the firms' target means come after the numbers, as for the other trees
        assert pipe[-1].categorical_features is None
        assert not any(test == "==" for _, test in splits)


def test_an_unseen_category_is_read_as_missing_and_rare_ones_share_one_code() -> None:
    pipe, plan = _fit("hist_gb", _panel(0))
    new = pd.DataFrame({"firm": ["never_seen", None, "firm_000"], "x": [0.5, 0.5, 0.5]})
    assert np.isfinite(pipe.predict(new)).all()
    assert pipe[0].transform(new)[:2, 0].tolist() == [-1, -1]  # -1: HistGradientBoosting's "missing"

    many = _panel(0, n_firms=NATIVE_MAX_CATEGORIES + 40, rows_each=4)
    pipe, plan = _fit("hist_gb", many)
    codes = pipe[0].transform(many[plan.input_columns])[:, 0]
    assert codes.min() == 0 and codes.max() == NATIVE_MAX_CATEGORIES  # 250 firms kept + one "other", < 255 bins
