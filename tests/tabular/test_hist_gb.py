"""The zoo's HistGradientBoosting finds its own number of rounds from 2,000 rows (automlops/tabular/hist_gb.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from automlops.core.problem import Problem, TaskType
from automlops.tabular.hist_gb import MAX_TREES
from automlops.tabular.zoo import get_model


def _zoo_hist_gb(classes: tuple[object, ...], **params: object) -> HistGradientBoostingClassifier:
    """The zoo's hist_gb at its first start (max_iter=100), as the search builds it."""
    problem = Problem(TaskType.CLASSIFICATION, "y", "log_loss", "minimize", classes=classes)
    spec = get_model("hist_gb")
    return spec.build({**spec.defaults(problem), **params}, problem, 0)


@pytest.fixture(scope="module")
def marriages() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """statsmodels' Fair affairs survey: 6,366 wives rate their marriage 1-5 (five classes)."""
    frame = sm.datasets.fair.load_pandas().data
    y = frame.pop("rate_marriage").astype(int)
    return tuple(train_test_split(frame, y, test_size=0.25, random_state=0, stratify=y))  # type: ignore[return-value]


def test_from_2000_rows_it_stops_where_held_out_rows_say_and_beats_a_blind_round_count(marriages) -> None:
    """4,774 training rows: scikit-learn's own rule (early stopping only above 10,000 rows) fits the
    searched 100 rounds; the zoo's model stops early on its own held-out tenth, and predicts better."""
    X_train, X_test, y_train, y_test = marriages
    model = _zoo_hist_gb(tuple(range(1, 6))).fit(X_train, y_train)
    blind = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
                                           l2_regularization=1e-6, random_state=0).fit(X_train, y_train)
    assert model.do_early_stopping_ and not blind.do_early_stopping_
    assert model.n_iter_ < 100 == blind.n_iter_
    ours, theirs = (log_loss(y_test, m.predict_proba(X_test), labels=m.classes_) for m in (model, blind))
    assert ours < theirs - 0.05, (ours, theirs)  # measured: 1.23 against 1.32


def test_the_fit_leaves_the_parameters_as_given_so_a_clone_chooses_again_on_its_own_rows(marriages) -> None:
    X_train, _, y_train, _ = marriages
    model = _zoo_hist_gb(tuple(range(1, 6)))
    given = model.get_params()
    model.fit(X_train, y_train)
    assert model.get_params() == given  # early_stopping "auto", max_iter 100: what the search chose
    small = clone(model).fit(X_train.head(500), y_train.head(500))  # below 2,000 rows: the searched rounds
    assert not small.do_early_stopping_ and small.n_iter_ == 100


def test_below_2000_rows_it_fits_the_searched_rounds() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    model = _zoo_hist_gb((0, 1), max_iter=37).fit(X, y)
    assert not model.do_early_stopping_ and model.n_iter_ == 37


def test_the_round_ceiling_shrinks_with_the_trees_a_round_adds() -> None:
    """Ten classes add ten trees a round, and each tree costs time to save: at a learning rate so small that
    the held-out loss improves every round, the fit stops at MAX_TREES trees, not MAX_TREES rounds."""
    X, y = make_classification(n_samples=2500, n_features=8, n_informative=6, n_classes=10, random_state=0)
    model = _zoo_hist_gb(tuple(range(10)), learning_rate=1e-4, max_leaf_nodes=4).fit(X, y)
    assert model.do_early_stopping_ and model.n_iter_ == MAX_TREES // 10
    assert len(model._predictors) * len(model._predictors[0]) == MAX_TREES


def test_an_explicit_choice_is_left_to_scikit_learn(marriages) -> None:
    X_train, _, y_train, _ = marriages
    model = _zoo_hist_gb(tuple(range(1, 6)), early_stopping=False, max_iter=30).fit(X_train, y_train)
    assert not model.do_early_stopping_ and model.n_iter_ == 30



def test_the_refit_on_all_rows_fits_the_best_round_on_every_row(marriages) -> None:
    """As for the other boosters (final_fit._with_refit_rounds): the scored model's early stopping measured
    the rounds, so the refit learns from every row for its best round (1.25x for a regression) instead of
    holding a tenth out again; the rounds it waited past its best are not repeated."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from automlops.tabular.final_fit import _with_refit_rounds

    X_train, X_test, y_train, y_test = marriages
    recipe = Pipeline([("scale", StandardScaler()), ("model", _zoo_hist_gb(tuple(range(1, 6))))])
    scored = clone(recipe).fit(X_train, y_train)
    booster = scored.named_steps["model"]
    best = int(np.argmax(booster.validation_score_))
    assert 0 < best < booster.n_iter_  # it waited PATIENCE rounds past its best
    refit = _with_refit_rounds(clone(recipe), scored).fit(pd.concat([X_train, X_test]), pd.concat([y_train, y_test]))
    model = refit.named_steps["model"]
    assert not model.do_early_stopping_ and model.n_iter_ == best  # nothing held out, the best round's count
    assert model.get_params()["early_stopping"] == "auto"  # the parameters still read as the recipe scored

    affairs, X_train = X_train["affairs"], X_train.drop(columns="affairs")  # a regression: 1.25x the rounds
    regression = Problem(TaskType.REGRESSION, "affairs", "rmse", "minimize")
    spec = get_model("hist_gb")
    recipe = Pipeline([("scale", StandardScaler()), ("model", spec.build(spec.defaults(regression), regression, 0))])
    scored = clone(recipe).fit(X_train, affairs)
    best = int(np.argmax(scored.named_steps["model"].validation_score_))
    refit = _with_refit_rounds(clone(recipe), scored)
    assert refit.named_steps["model"].refit_rounds == round(1.25 * best)
    assert refit.named_steps["model"].get_params() == recipe.named_steps["model"].get_params()  # the recipe scored
