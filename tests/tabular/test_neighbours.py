"""k-NN's smoothed class shares (``automlops.tabular.neighbours``) on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from automlops.core.problem import infer_problem
from automlops.tabular.evaluate import build_pipeline
from automlops.tabular.neighbours import PRIOR_VOTES, SmoothedKNeighborsClassifier
from automlops.tabular.preprocessing import plan_features
from automlops.tabular.search import Candidate


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_same_labels_as_plain_knn_and_no_class_is_impossible(weights: str) -> None:
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(StandardScaler().fit_transform(X), y, test_size=0.3,
                                                        random_state=0, stratify=y)
    plain = KNeighborsClassifier(n_neighbors=7, weights=weights).fit(X_train, y_train)
    smoothed = SmoothedKNeighborsClassifier(n_neighbors=7, weights=weights).fit(X_train, y_train)
    shares, proba = plain.predict_proba(X_test), smoothed.predict_proba(X_test)
    assert (shares == 0).any()  # plain k-NN calls some classes impossible ...
    assert proba.min() > 0 and np.allclose(proba.sum(axis=1), 1)  # ... the smoothed one never does
    assert np.array_equal(smoothed.predict(X_test), plain.predict(X_test))
    assert np.abs(proba - shares).max() <= PRIOR_VOTES / 7 + 1e-12  # a hundredth of a vote, no more
    prior = np.bincount(y_train) / len(y_train)
    assert np.allclose(smoothed.class_prior_, prior)
    zero = shares == 0
    assert np.allclose(proba[zero], (PRIOR_VOTES * np.broadcast_to(prior, shares.shape) / (7 + PRIOR_VOTES))[zero])


def test_the_zoo_knn_does_not_call_a_blank_gentoo_impossible(penguins: pd.DataFrame) -> None:
    """The one test row that cost a k-NN 0.418 log-loss on penguins (module docstring): no measurements,
    imputed at the medians, where the 5 nearest neighbours are all Adelies."""
    blank = penguins["bill_length_mm"].isna() & (penguins["species"] == "Gentoo")
    train, question = penguins[~blank], penguins[blank]
    problem = infer_problem(train, "species")
    plan = plan_features(train, problem)
    pipe = build_pipeline(Candidate("knn", {"n_neighbors": 5, "weights": "uniform"}), plan, problem, seed=0)
    pipe.fit(train[plan.input_columns], train["species"])
    gentoo = list(pipe.classes_).index("Gentoo")
    seen, asked = pipe[0].transform(train[plan.input_columns]), pipe[0].transform(question[plan.input_columns])
    plain = KNeighborsClassifier(n_neighbors=5).fit(seen, train["species"])  # scikit-learn's own vote shares
    assert plain.predict_proba(asked)[0][gentoo] == 0  # "impossible": log-loss 34.5 on this row
    proba = pipe.predict_proba(question[plan.input_columns])[0]
    assert proba[gentoo] > 1e-4  # at most 9.2 nats
    assert pipe.predict(question[plan.input_columns])[0] == plain.predict(asked)[0] == "Adelie"
