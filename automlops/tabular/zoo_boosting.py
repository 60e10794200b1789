"""The zoo's gradient-boosting entries: HistGradientBoosting, XGBoost, LightGBM (and its
extra-trees variant) and CatBoost, registered in this order (``zoo_entries.py`` places them
between the forests and the MLP).

Boosting adds trees one at a time, each fitted to the errors of the trees so far. The three
libraries differ in how a tree grows (LightGBM leaf by leaf, XGBoost level by level, CatBoost one
question per level), and each entry's comment gives what that bought on the mid-size tables.
Every booster but scikit-learn's is wrapped in ``EarlyStopped*``, which picks the number of
rounds by early stopping from 1,000 rows (see ``early_stopping.py``); scikit-learn's does it itself,
from 2,000 rows (``hist_gb.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator

from automlops.core.problem import Problem
from automlops.tabular.zoo import (
    BOTH,
    EarlyStoppedClassifier,
    EarlyStoppedRegressor,
    LabelEncodedClassifier,
    ModelSpec,
    Suggest,
    _is_cls,
    fixed,
)

BOOST_JOBS = 1  # boosting: on small tables thread start-up costs more than it saves (0.07 s vs 0.2 s)

BOOSTING_MODELS: list[ModelSpec] = []  # appended to the zoo's BUILTIN_MODELS by zoo_entries.py


def _register(spec: ModelSpec) -> None:
    BOOSTING_MODELS.append(spec)


# scikit-learn keeps each of its boosted trees as a Python object with its own arrays, which skops
# writes one by one and lists again to load safely: ~0.75 ms a tree (a 12-class model of 400 rounds:
# 4,800 trees, 2.3 s to write and 1.3 s to list its types), 2.5x a LightGBM tree's share.
HIST_GB_TREE_SAVE = 0.00075


def _hist_gb(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    # early-stopped from 2,000 rows, up to thousands of rounds; below, max_iter rounds as searched (hist_gb.py)
    from automlops.tabular.hist_gb import (
        HistGradientBoostingEarlyStopClassifier,
        HistGradientBoostingEarlyStopRegressor,
    )

    cls = HistGradientBoostingEarlyStopClassifier if _is_cls(problem) else HistGradientBoostingEarlyStopRegressor
    return cls(random_state=seed, **params)


_register(ModelSpec(
    "hist_gb", "Histogram gradient boosting", BOTH, _hist_gb,
    lambda s, p: {"learning_rate": s.float("learning_rate", 0.01, 0.3, log=True),
                  "max_iter": s.int("max_iter", 50, 600, log=True),
                  "max_leaf_nodes": s.int("max_leaf_nodes", 4, 64, log=True),
                  "min_samples_leaf": s.int("min_samples_leaf", 2, 50, log=True),
                  "l2_regularization": s.float("l2_regularization", 1e-6, 10.0, log=True)},
    fixed(learning_rate=[0.03, 0.1], max_iter=[100, 300], max_leaf_nodes=[15, 31], min_samples_leaf=[5, 20]),
    fixed(learning_rate=0.1, max_iter=100, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=1e-6),
    native_missing=True, save_seconds_per_estimator=HIST_GB_TREE_SAVE,
    encoding="native", categorical_param="categorical_features",  # splits on groups of categories itself
    description="scikit-learn's LightGBM-style boosting: trees added one by one to fix the errors so far",
))


# Saving a boosted model costs ~0.28 ms a tree (skops, 31 leaves: 8,000 LightGBM trees took 2.25 s and
# 23 MB); early stopping may keep thousands of rounds, so the budget keeps that time for the save.
BOOSTED_TREE_SAVE = 0.0003
# CatBoost saves its model as one binary blob: at its default depth 6, ~50 µs a tree as counted here (a
# round of a binary model; a 12-class round counts 12 trees, charged 0.6 ms against ~0.16 ms measured: the
# safe side). The fitted model's own estimate, which reads its depth, is ``boosting_size.catboost_tree_save_seconds``.
CATBOOST_TREE_SAVE = 0.00005


def _xgboost(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    import xgboost as xgb

    common = dict(tree_method="hist", n_jobs=BOOST_JOBS, random_state=seed, verbosity=0, **params)
    if _is_cls(problem):
        return LabelEncodedClassifier(EarlyStoppedClassifier(xgb.XGBClassifier(**common), random_state=seed))
    return EarlyStoppedRegressor(xgb.XGBRegressor(**common), random_state=seed)


_register(ModelSpec(
    "xgboost", "XGBoost", BOTH, _xgboost,
    lambda s, p: {"n_estimators": s.int("n_estimators", 50, 800, log=True),
                  "learning_rate": s.float("learning_rate", 0.01, 0.3, log=True),
                  "max_depth": s.int("max_depth", 2, 10),
                  "min_child_weight": s.float("min_child_weight", 0.5, 20.0, log=True),
                  "subsample": s.float("subsample", 0.5, 1.0),
                  "colsample_bytree": s.float("colsample_bytree", 0.4, 1.0),
                  "reg_lambda": s.float("reg_lambda", 1e-3, 10.0, log=True)},
    fixed(n_estimators=[100, 300], learning_rate=[0.03, 0.1], max_depth=[3, 6], subsample=[0.8, 1.0]),
    # AutoGluon's defaults: a learning rate that converges in hundreds of rounds, not thousands
    fixed(n_estimators=300, learning_rate=0.1, max_depth=6, min_child_weight=1.0, subsample=0.8,
           colsample_bytree=0.8, reg_lambda=1.0),
    requires=("xgboost",), native_missing=True, save_seconds_per_estimator=BOOSTED_TREE_SAVE,
    description="regularised gradient-boosted trees, a Kaggle favourite",
))


# LightGBM splits on categories itself (``categorical_features``, the leading columns of a "native"
# encoding): at each node it sorts a column's categories by their mean gradient and cuts that order, so
# one split can set apart any group of categories; ordinal codes can only cut the alphabet, and target
# encoding fixes one order for the whole model. This is what FLAML and AutoGluon give LightGBM too
# (pandas' category columns). LightGBM's own guards against small groups (100 rows a group, a smoothing
# of 10) are made for large tables; at 10 and 1 a 125-country GDP panel (~26 rows a country) can use them.
# Two views, one per LightGBM (``benchmarks/lightgbm_categories.py``: the zoo's defaults, 3 splits):
# * columns of up to 20 categories are split natively by both: LightGBM diamonds RMSE 541 -> 535, weather
#   1.508 -> 1.495, happiness log-loss 0.8875 -> 0.8844; LightGBM XT males 1.541 -> 1.490, wage
#   35.70 -> 35.12, bikeshare 32.77 -> 31.82 (worse: LightGBM on males, 1.522 -> 1.551);
# * a column of *many* categories is where the two disagree by table. Split natively it wins where the
#   column is the signal (sumhes' countries: LightGBM 306 -> 219, XT 304 -> 180) and overfits where it is
#   noise (a flights table's 3,571 aircraft and 102 destinations: LightGBM 16.4 -> 17.3). So LightGBM
#   keeps target encoding for those ("native_few") and XT splits them ("native"): the search and the
#   ensemble, which score both on held-out rows, choose per table.
# The whole 60 s search on the 9 mid-size tables with a column of 3 or more categories: better on 7
# (weather_temp RMSE 1.485 -> 1.468, diamonds 520.6 -> 519.7, bikeshare 28.58 -> 28.52, wage 35.73 -> 35.69,
# males log-loss 1.4597 -> 1.4586, car, star), the same on happiness, census2000 0.66469 -> 0.66477.
LIGHTGBM_CATEGORIES: dict[str, Any] = {"min_data_per_group": 10, "cat_smooth": 1.0}


def _lightgbm(params: dict[str, Any], problem: Problem, seed: int, *, extra_trees: bool = False) -> BaseEstimator:
    import lightgbm as lgb

    extra: dict[str, Any] = {"extra_trees": True} if extra_trees else {}
    model = (lgb.LGBMClassifier if _is_cls(problem) else lgb.LGBMRegressor)(
        random_state=seed, n_jobs=BOOST_JOBS, verbose=-1, subsample_freq=1, **LIGHTGBM_CATEGORIES, **params, **extra)
    wrapper = EarlyStoppedClassifier if _is_cls(problem) else EarlyStoppedRegressor
    return wrapper(model, random_state=seed)


def _lightgbm_xt(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    return _lightgbm(params, problem, seed, extra_trees=True)


# A count (bikers an hour, whole-dollar prices) often fits better under the Poisson loss, which models
# log(mean): squared error stays the first start and Poisson is tried right after it (README, "How it
# works" 5, for the figures). Fractional targets keep squared error alone.
LOSSES_FOR_COUNTS = ("regression", "poisson")


def _lightgbm_space(s: Suggest, p: Problem) -> dict[str, Any]:
    space = {"n_estimators": s.int("n_estimators", 50, 800, log=True),
             "learning_rate": s.float("learning_rate", 0.01, 0.3, log=True),
             "num_leaves": s.int("num_leaves", 4, 256, log=True),
             "min_child_samples": s.int("min_child_samples", 2, 60, log=True),
             "subsample": s.float("subsample", 0.5, 1.0),
             "colsample_bytree": s.float("colsample_bytree", 0.4, 1.0),
             "reg_lambda": s.float("reg_lambda", 1e-3, 10.0, log=True)}
    return {**space, "objective": s.cat("objective", LOSSES_FOR_COUNTS)} if p.count_target else space


def _squared_error_first(**defaults: Any) -> Callable[[Problem], dict[str, Any]]:
    """A LightGBM default configuration; squared error named as its loss where the space searches the loss."""
    return lambda problem: {**defaults, "objective": "regression"} if problem.count_target else dict(defaults)


# LightGBM's own defaults for the tree shape (31 leaves, 20 rows a leaf), AutoGluon's learning rate
_lightgbm_defaults = _squared_error_first(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=20,
                                          subsample=0.9, colsample_bytree=0.8, reg_lambda=1e-3)


def _poisson_loss(problem: Problem) -> dict[str, Any] | None:
    """LightGBM's second start for a count target: the same defaults with the Poisson loss."""
    return {**_lightgbm_defaults(problem), "objective": "poisson"} if problem.count_target else None


_LIGHTGBM_GRID = fixed(n_estimators=[100, 300], learning_rate=[0.03, 0.1], num_leaves=[15, 31],
                        min_child_samples=[5, 20])

_register(ModelSpec(
    "lightgbm", "LightGBM", BOTH, _lightgbm, _lightgbm_space, _LIGHTGBM_GRID, _lightgbm_defaults,
    second_start=_poisson_loss, second_start_follows=True, requires=("lightgbm",), native_missing=True,
    save_seconds_per_estimator=BOOSTED_TREE_SAVE, encoding="native_few", categorical_param="categorical_features",
    description="leaf-wise gradient boosting: fast and strong on tables",
))

# The same booster with *extremely randomised* splits (AutoGluon's "LightGBMXT"): each feature is cut
# at one random threshold instead of the best one. Each tree learns less, so more rounds are needed,
# but the model memorises less and errs differently from plain LightGBM, which is what an ensemble
# needs. Measured with early stopping at learning rate 0.05 (test scores, same split): jtrain3 AUC
# 0.966 -> 0.984, catholic 0.836 -> 0.854, males (12 classes) log-loss 1.62 -> 1.53; worse on
# weather_temp (RMSE 1.60 -> 1.81), where the search and the ensemble keep plain LightGBM instead.
_register(ModelSpec(
    "lightgbm_xt", "LightGBM (extra trees)", BOTH, _lightgbm_xt, _lightgbm_space, _LIGHTGBM_GRID,
    _squared_error_first(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=20, subsample=1.0,
                         colsample_bytree=1.0, reg_lambda=1e-3),
    requires=("lightgbm",), native_missing=True, save_seconds_per_estimator=BOOSTED_TREE_SAVE,
    encoding="native", categorical_param="categorical_features",
    description="LightGBM with random split thresholds: less overfitting, a different view for ensembles",
))


def _catboost(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    import catboost as cb

    # allow_writing_files=False: CatBoost would otherwise write a ``catboost_info`` folder of training
    # logs into the working directory at every fit.
    model = (cb.CatBoostClassifier if _is_cls(problem) else cb.CatBoostRegressor)(
        random_seed=seed, thread_count=BOOST_JOBS, verbose=False, allow_writing_files=False, **params)
    wrapper = EarlyStoppedClassifier if _is_cls(problem) else EarlyStoppedRegressor
    return wrapper(model, random_state=seed)


# CatBoost grows *oblivious* (symmetric) trees: every node of a level asks the same question, so a
# tree of depth 6 is 6 questions and 64 leaves, which regularises well and predicts fast. It also
# orders its boosting (each row's gradient comes from a model that has not seen that row), which
# fights the overfitting that small and mid-size tables invite. Slower per round than LightGBM, so
# it comes after the two LightGBM defaults in the warm start. Measured with early stopping on the
# mid-size tables (test scores, same split as LightGBM at its defaults): males (12 classes) log-loss
# 1.556 -> 1.519, diamonds RMSE 545.6 -> 533.5; worse on weather_temp (1.545 -> 1.602).
# Categories reach it one-hot (a yes/no column each), not as ordinal codes: a symmetric tree asks
# one question per level, and "code <= 4" lumps categories by their alphabetical rank, while
# "industry == retail" asks something real. Same defaults, three early-stopping seeds: males
# 1.516 -> 1.471, happiness 0.881 -> 0.878, weather 1.607 -> 1.590, bikeshare 30.5 -> 30.3;
# worse where the alphabet is the true order (diamonds' colours D-J: RMSE 534 -> 542) and flat on
# wage. The whole 60 s search (medians of seeds 0-2): males 1.4754 -> 1.4507, happiness 0.8778 ->
# 0.8770, within 0.4 % either way on seven other tables. XGBoost and the forests keep the codes, so the
# ensemble holds several views (LightGBM and HistGradientBoosting split on the categories themselves).
_register(ModelSpec(
    "catboost", "CatBoost", BOTH, _catboost,
    lambda s, p: {"n_estimators": s.int("n_estimators", 50, 1000, log=True),
                  "learning_rate": s.float("learning_rate", 0.01, 0.3, log=True),
                  "depth": s.int("depth", 4, 8),
                  "l2_leaf_reg": s.float("l2_leaf_reg", 1.0, 10.0, log=True)},
    fixed(n_estimators=[100, 300], learning_rate=[0.03, 0.1], depth=[4, 6]),
    # AutoGluon's defaults for CatBoost (depth 6 is CatBoost's own)
    fixed(n_estimators=300, learning_rate=0.05, depth=6, l2_leaf_reg=3.0),
    requires=("catboost",), native_missing=True, encoding="onehot", save_seconds_per_estimator=CATBOOST_TREE_SAVE,
    description="gradient boosting on symmetric trees with ordered boosting: strong on small and mid tables",
))
