"""A served model predicts on one thread: every n_jobs inside it is 1, and its answers are unchanged."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier, StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from automlops.serving.threads import one_thread


def test_every_n_jobs_inside_a_fitted_model_becomes_1_and_predictions_stay() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0)
    voting = VotingClassifier([("rf", forest), ("knn", KNeighborsClassifier(n_jobs=-1))], voting="soft", n_jobs=2)
    stacking = StackingClassifier([("vote", voting)], final_estimator=LogisticRegression(n_jobs=2), n_jobs=2)
    model = make_pipeline(StandardScaler(), stacking).fit(X, y)
    before = model.predict_proba(X[:30])

    changed = one_thread(model)

    fitted = model[-1]
    inner = [fitted, fitted.final_estimator_, *fitted.estimators_, *fitted.estimators_[0].estimators_]
    assert changed >= 5 and all(getattr(e, "n_jobs", 1) in (1, None) for e in inner)
    np.testing.assert_array_equal(model.predict_proba(X[:30]), before)
    assert one_thread(model) == 0  # nothing left to change
