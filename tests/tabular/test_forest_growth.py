"""Forests under a deadline grow in chunks and stop themselves, with exactly the trees of one fit."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.ensemble import ExtraTreesClassifier, RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from automlops.search.deadline import DeadlineExceeded, interrupt_at
from automlops.tabular.forest_growth import fit_before_deadline, grow_forest


def _pipeline() -> Pipeline:
    return Pipeline([("prep", StandardScaler()), ("model", ExtraTreesClassifier(n_estimators=60, random_state=3,
                                                                                  n_jobs=2))])


def test_a_forest_grown_in_chunks_has_exactly_the_trees_of_one_fit() -> None:
    X, y = load_digits(return_X_y=True)
    at_once = _pipeline().fit(X, y)
    chunked = _pipeline()
    with interrupt_at(time.monotonic() + 600):  # a deadline far away: every chunk is grown
        fit_before_deadline(chunked, X, y)
    forest = chunked.named_steps["model"]
    assert len(forest.estimators_) == 60
    assert forest.n_estimators == 60 and forest.warm_start is False  # the user's settings are given back
    np.testing.assert_array_equal(chunked.predict_proba(X), at_once.predict_proba(X))


def test_a_forest_that_cannot_finish_stops_itself_before_the_deadline_with_no_watchdog() -> None:
    """No ``interrupt_at`` here, so no watchdog: the only thing that can stop the fit is the chunk check."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30_000, 5))
    y = 3 * X[:, 0] + np.sin(X[:, 1]) + rng.normal(size=len(X))
    forest = RandomForestRegressor(n_estimators=2_000, random_state=0, n_jobs=2)  # ~minutes in one fit
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        grow_forest(forest, X, y, stop_at=started + 3.0)
    # Each chunk is priced from the trees before it; on busy cores a chunk can run a little slower than
    # they did, so the check is the budget's own promise (1.1x), far from the minutes a full fit takes.
    assert time.monotonic() - started < 3.0 * 1.1
    assert 0 < len(forest.estimators_) < 2_000
    assert forest.n_estimators == 2_000 and forest.warm_start is False


def test_without_a_deadline_a_forest_is_fitted_at_once() -> None:
    X, y = load_digits(return_X_y=True)
    model = _pipeline()
    assert fit_before_deadline(model, X, y) is model
    assert len(model.named_steps["model"].estimators_) == 60
