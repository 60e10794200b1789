"""A blend is refitted on all rows member by member: complete with time, partial under a deadline."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor, VotingClassifier, VotingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from automlops.tabular.blend_refit import is_blend, refit_members


def _keep(unfitted: object, fitted: object) -> object:
    return unfitted


def test_with_time_every_member_is_refitted_exactly_as_the_block_refit() -> None:
    X, y = load_wine(return_X_y=True, as_frame=True)
    labels = pd.Series(np.array(["barolo", "grignolino", "barbera"])[y])  # text labels: the vote encodes them
    blend = VotingClassifier([("logistic", make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))),
                              ("tree", DecisionTreeClassifier(random_state=0))], voting="soft", weights=[0.7, 0.3])
    blend.fit(X.iloc[::2], labels.iloc[::2])
    assert is_blend(blend, labels)
    assert not is_blend(clone(blend).fit(X.iloc[:120], labels.iloc[:120]), labels)  # rows sorted: no barbera yet
    refitted, report = refit_members(blend, X, labels, None, _keep)
    block = VotingClassifier(blend.estimators, voting="soft", weights=[0.7, 0.3]).fit(X, labels)
    assert report.complete and report.refitted == ["logistic", "tree"]
    np.testing.assert_allclose(refitted.predict_proba(X), block.predict_proba(X))
    assert list(refitted.predict(X.head(3))) == list(block.predict(X.head(3)))
    assert refitted.named_estimators_["tree"] is refitted.estimators_[1]
    assert not np.allclose(blend.predict_proba(X), refitted.predict_proba(X))  # the input blend is untouched


def test_at_the_deadline_the_heaviest_members_are_refitted_and_the_rest_keep_their_fit() -> None:
    X, y = _housing()
    forest = RandomForestRegressor(n_estimators=3000, max_features=1.0, random_state=0)  # far more than 1 s
    blend = VotingRegressor([("forest", forest), ("ridge", Ridge())], weights=[0.2, 0.8])
    blend.estimators_ = [RandomForestRegressor(n_estimators=5, random_state=0).fit(X[:500], y[:500]),
                         Ridge().fit(X[:500], y[:500])]  # as if fitted on the training rows
    blend.named_estimators_ = dict(zip(["forest", "ridge"], blend.estimators_, strict=True))
    started = time.monotonic()
    refitted, report = refit_members(blend, X, y, started + 1.0, _keep)
    assert time.monotonic() - started < 5.0  # the forest's refit was stopped at the deadline
    assert report.refitted == ["ridge"] and report.kept == ["forest"] and not report.complete
    assert refitted.estimators_[0] is blend.estimators_[0]  # kept its earlier fit
    np.testing.assert_allclose(refitted.estimators_[1].coef_, Ridge().fit(X, y).coef_)  # refitted on every row
    assert blend.estimators_[1] is not refitted.estimators_[1]


def _housing() -> tuple[pd.DataFrame, np.ndarray]:
    """scikit-learn's diabetes table (442 rows, 10 columns) stacked 10 times: a forest of 3,000 trees is slow on it."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return pd.concat([X] * 10, ignore_index=True), np.tile(y, 10)


def test_a_blend_whose_scored_fit_is_not_kept_lets_each_replaced_member_go() -> None:
    import gc
    import weakref

    X, y = _housing()
    blend = VotingRegressor([("forest", RandomForestRegressor(n_estimators=20, random_state=0)), ("ridge", Ridge())],
                            weights=[0.6, 0.4]).fit(X[:2000], y[:2000])
    old_forest = weakref.ref(blend.estimators_[0])
    refitted, report = refit_members(blend, X, y, None, _keep, release_replaced=True)
    gc.collect()
    assert report.complete and old_forest() is None  # nothing holds the forest fitted on the training rows
    assert blend.estimators_ == [None, None] and blend.named_estimators_["forest"] is None
    block = VotingRegressor(blend.estimators, weights=[0.6, 0.4]).fit(X, y)
    np.testing.assert_allclose(refitted.predict(X), block.predict(X))


def test_a_member_that_was_not_refitted_stays_in_both_blends_when_replaced_ones_are_released() -> None:
    X, y = _housing()
    forest = RandomForestRegressor(n_estimators=3000, max_features=1.0, random_state=0)  # far more than 1 s
    blend = VotingRegressor([("forest", forest), ("ridge", Ridge())], weights=[0.2, 0.8])
    blend.estimators_ = [RandomForestRegressor(n_estimators=5, random_state=0).fit(X[:500], y[:500]),
                         Ridge().fit(X[:500], y[:500])]
    blend.named_estimators_ = dict(zip(["forest", "ridge"], blend.estimators_, strict=True))
    old_forest = blend.estimators_[0]
    refitted, report = refit_members(blend, X, y, time.monotonic() + 1.0, _keep, release_replaced=True)
    assert report.kept == ["forest"]
    assert refitted.estimators_[0] is old_forest and blend.estimators_[0] is old_forest
    assert blend.estimators_[1] is None and refitted.estimators_[1] is not None


def test_fitting_a_vote_member_by_member_is_scikit_learns_fit() -> None:
    from automlops.tabular.blend_refit import fit_members

    X, y = load_wine(return_X_y=True, as_frame=True)
    labels = pd.Series(np.array(["barolo", "grignolino", "barbera"])[y])
    members = [("logistic", make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))),
               ("forest", RandomForestClassifier(n_estimators=20, random_state=0))]
    ours = fit_members(VotingClassifier(members, voting="soft", weights=[0.7, 0.3]), X, labels)
    theirs = VotingClassifier(members, voting="soft", weights=[0.7, 0.3]).fit(X, labels)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))
    assert list(ours.classes_) == list(theirs.classes_) and list(ours.predict(X)) == list(theirs.predict(X))
    assert ours.named_estimators_["forest"] is ours.estimators_[1] and list(ours.feature_names_in_) == list(X.columns)
    assert is_blend(ours, labels)

    Xd, yd = _housing()
    vote = [("forest", RandomForestRegressor(n_estimators=10, random_state=0)), ("ridge", Ridge())]
    np.testing.assert_allclose(fit_members(VotingRegressor(vote, weights=[0.4, 0.6]), Xd, yd).predict(Xd),
                               VotingRegressor(vote, weights=[0.4, 0.6]).fit(Xd, yd).predict(Xd))
