"""Preprocessing stays inside the budget and the artifacts stay proportionate (issue 8).

* the leakage check (one cross-validated tree per feature) checks at most
  ``AUTOMLOPS_LEAKAGE_MAX_FEATURES`` features within its share of the time budget, and says what
  it skipped;
* a high-cardinality text column keeps only its ``AUTOMLOPS_MAX_KEPT_CATEGORIES`` most frequent
  values, so a fitted pipeline does not carry 20,000 categories.
"""

from __future__ import annotations

import pickle
import time

import numpy as np
import pandas as pd
import pytest

from automlops.core.problem import infer_problem
from automlops.tabular.encodings import build_preprocessor
from automlops.tabular.preprocessing import OTHER, TopCategories, plan_features
from automlops.tabular.runner import AutoMLRunner


def _wide(n_features: int, n_rows: int = 400, leak_at: int | None = None) -> pd.DataFrame:
    """Random features and a target that depends on the first two (and on a copy, if ``leak_at``)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n_rows, n_features)), columns=[f"f{i:04d}" for i in range(n_features)])
    frame["target"] = (frame["f0000"] + frame["f0001"] > 0).map({True: "yes", False: "no"})
    if leak_at is not None:
        frame[f"f{leak_at:04d}"] = (frame["target"] == "yes").astype(float) + rng.normal(scale=0.01, size=n_rows)
    return frame


def test_leakage_check_stops_at_the_feature_cap_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOMLOPS_LEAKAGE_MAX_FEATURES", "10")
    frame = _wide(60, leak_at=3)
    plan = plan_features(frame, infer_problem(frame, "target"))
    assert any("'f0003' alone predicts" in w for w in plan.warnings)  # still checks the first ones
    assert plan.notes == [plan.notes[0]] and "skipped 50 of 60 features" in plan.notes[0]
    assert "AUTOMLOPS_LEAKAGE_MAX_FEATURES" in plan.notes[0] and "'f0010'" in plan.notes[0]


def test_leakage_check_respects_its_deadline() -> None:
    frame = _wide(20, leak_at=3)
    plan = plan_features(frame, infer_problem(frame, "target"), deadline=time.monotonic())
    assert plan.warnings == [] and "skipped 20 of 20" in plan.notes[0] and "time budget" in plan.notes[0]
    assert plan_features(frame, infer_problem(frame, "target")).notes == []


def test_thousands_of_columns_plan_in_seconds() -> None:
    """2,000 features: one CV tree each took ~30 s on two cores; the cap keeps planning short."""
    frame = _wide(2000, n_rows=300)
    started = time.monotonic()
    plan = plan_features(frame, infer_problem(frame, "target"))
    assert time.monotonic() - started < 8
    assert len(plan.features) == 2000 and "skipped 1900 of 2000" in plan.notes[0]


def test_a_wide_training_keeps_its_time_budget_and_logs_the_skip() -> None:
    """1,500 columns: planning (with its leakage check) fits in its share, the run in its budget.

    Only linear models are searched: a single random-forest fit on 1,500 columns can itself
    outlast a 10 s budget, which is the evaluator's concern, not preprocessing's.
    """
    frame = _wide(1500, n_rows=300)
    started = time.monotonic()
    events: list[tuple[float, str]] = []
    runner = AutoMLRunner("target", preset="fast", models=["logistic"], time_budget=10, started_at=started,
                          callbacks=[lambda event: events.append((event.elapsed, event.message))]).fit(frame)
    assert time.monotonic() - started <= 1.2 * 10
    assert any("leakage check skipped" in str(d) for d in runner.decisions_)
    planned = next(elapsed for elapsed, message in events if message.startswith("features: leakage check"))
    assert planned <= 0.1 * 10 + 1.5  # its share of the budget, plus the column scan and the test split


def _many_categories(n_rows: int = 20_000) -> pd.DataFrame:
    """A text column with ~10,000 distinct values (each about twice), and a target it predicts a little."""
    rng = np.random.default_rng(1)
    codes = rng.integers(0, n_rows // 2, n_rows)
    return pd.DataFrame({"code": [f"C{c:06d}" for c in codes], "x": rng.normal(size=n_rows),
                         "target": (codes % 3 == 0) ^ (rng.random(n_rows) < 0.2)})


def test_high_cardinality_keeps_only_the_frequent_categories(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _many_categories()
    sizes = {}
    for cap in (50, 100_000):
        monkeypatch.setenv("AUTOMLOPS_MAX_KEPT_CATEGORIES", str(cap))
        plan = plan_features(frame, infer_problem(frame, "target"))
        assert plan.columns("high_cardinality") == ["code"]
        assert any(f"keeps its 50 most frequent of {frame['code'].nunique()}" in n for n in plan.notes) == (cap == 50)
        prep = build_preprocessor(plan, scale=False, encoding="ordinal").fit(frame, frame["target"])
        top = prep.named_transformers_["high_cardinality"].steps[0][1]
        assert isinstance(top, TopCategories) and len(top.kept_[0]) == min(cap, frame["code"].nunique())
        sizes[cap] = len(pickle.dumps(prep))
    assert 10 * sizes[50] < sizes[100_000], sizes  # proportionate to the cap, not to the distinct values


def test_rare_and_unseen_categories_share_the_other_code() -> None:
    frame = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 3 + ["c", None]})
    top = TopCategories(2).fit(frame)
    assert top.transform(pd.DataFrame({"c": ["a", "b", "c", "new", None]}))[:, 0].tolist() == \
        ["a", "b", OTHER, OTHER, OTHER]
