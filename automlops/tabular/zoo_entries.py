"""The algorithms of the zoo, one entry each (the zoo loads ``BUILTIN_MODELS`` on first use).

Search spaces follow common practice: learning rates and regularisation strengths on a log
scale (0.001 → 0.01 is as big a step as 0.1 → 1), tree sizes as integers. Heavy libraries
(XGBoost, LightGBM, CatBoost) are imported inside ``build`` so a tabular-only install stays light.
The boosting entries live in ``zoo_boosting.py`` and join the list here, after the forests.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator

from automlops.core.metrics import get_metric
from automlops.core.problem import Problem
from automlops.tabular.forest_size import FOREST_SAVE, forest_max_leaves
from automlops.tabular.zoo import BOTH, CLS, REG, ModelSpec, Suggest, _is_cls, fixed
from automlops.tabular.zoo_boosting import BOOSTING_MODELS

N_JOBS = 2  # forests: trees are independent, so 2 threads (the reference machine's cores) help


def _scaled_target(regressor: BaseEstimator) -> BaseEstimator:
    """Standardise the target too: SVR's epsilon and an MLP's step sizes assume values near 1,
    so a target in the hundreds (diabetes progression) would not converge."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


BUILTIN_MODELS: list[ModelSpec] = []  # read by the zoo's loader (zoo.py) on its first use


def _register(spec: ModelSpec) -> None:
    BUILTIN_MODELS.append(spec)


# --- linear models ---------------------------------------------------------------------------

def _logistic(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=params.get("C", 1.0), max_iter=2000, random_state=seed)


def _weak_penalty(problem: Problem) -> dict[str, Any] | None:
    """Logistic regression's second start when the metric scores confidence (log-loss): ``C = 100``.

    scikit-learn adds the penalty ``||w||² / (2C)`` to the *sum* of the rows' losses, so the default
    ``C = 1`` weighs far more on a few hundred rows than on fifty thousand: on a small, clean table it
    shrinks the logits, and the probabilities come out timid. Out-of-fold log-loss on penguins' ~200
    search rows was 0.039-0.049 at C = 1 and 0.007-0.025 at C = 100 (iris 0.18-0.21 against 0.05-0.15),
    and TPE, having seen logistic regression lose once, seldom came back to try it weaker. How far the
    logits reach is what log-loss charges; a rank (ROC-AUC) or a count (accuracy) moves far less with
    it (on jtrain3, ROC-AUC at 60 s, the start only reshuffled the blends: median 0.9804 -> 0.9789 over
    three seeds), so other metrics keep the one start. Queued after every model's first, so a large
    table whose budget the first starts use up never pays for it.
    """
    if not get_metric(problem.metric).scores_confidence:
        return None
    return {"C": 100.0}


_register(ModelSpec(
    "logistic", "Logistic regression", frozenset({CLS}), _logistic,
    lambda s, p: {"C": s.float("C", 1e-3, 1e3, log=True)},
    fixed(C=[0.01, 0.1, 1.0, 10.0, 100.0]), fixed(C=1.0), second_start=_weak_penalty,
    scale=True, encoding="onehot", light=True,
    description="a weighted sum of the features squashed into a probability; fast and explainable",
))


def _linear_spec(name: str, label: str, cls_name: str, space, grid, defaults, description: str) -> None:  # type: ignore[no-untyped-def]
    def build(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
        import sklearn.linear_model as lm

        extra = {} if cls_name == "Ridge" else {"max_iter": 5000}
        return getattr(lm, cls_name)(random_state=seed, **extra, **params)

    _register(ModelSpec(name, label, frozenset({REG}), build, space, grid, defaults, scale=True,
                      encoding="onehot", light=True, description=description))


_linear_spec("ridge", "Ridge regression", "Ridge",
             lambda s, p: {"alpha": s.float("alpha", 1e-3, 1e3, log=True)},
             fixed(alpha=[0.01, 0.1, 1.0, 10.0, 100.0]), fixed(alpha=1.0),
             "least squares with an L2 penalty that shrinks all coefficients a little")
_linear_spec("lasso", "Lasso", "Lasso",
             lambda s, p: {"alpha": s.float("alpha", 1e-4, 10.0, log=True)},
             fixed(alpha=[0.001, 0.01, 0.1, 1.0]), fixed(alpha=0.01),
             "least squares with an L1 penalty that sets useless coefficients to exactly zero")
_linear_spec("elasticnet", "Elastic net", "ElasticNet",
             lambda s, p: {"alpha": s.float("alpha", 1e-4, 10.0, log=True),
                           "l1_ratio": s.float("l1_ratio", 0.05, 0.95)},
             fixed(alpha=[0.001, 0.01, 0.1, 1.0], l1_ratio=[0.2, 0.5, 0.8]), fixed(alpha=0.01, l1_ratio=0.5),
             "a blend of the Ridge and Lasso penalties")


# --- neighbours and kernels --------------------------------------------------------------------

def _knn(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.neighbors import KNeighborsRegressor

    from automlops.tabular.neighbours import SmoothedKNeighborsClassifier  # no class share of exactly 0

    cls = SmoothedKNeighborsClassifier if _is_cls(problem) else KNeighborsRegressor
    return cls(n_neighbors=params.get("n_neighbors", 5), weights=params.get("weights", "uniform"))


_register(ModelSpec(
    "knn", "k-nearest neighbours", BOTH, _knn,
    lambda s, p: {"n_neighbors": s.int("n_neighbors", 1, 50, log=True),
                  "weights": s.cat("weights", ["uniform", "distance"])},
    fixed(n_neighbors=[3, 5, 11, 21], weights=["uniform", "distance"]),
    fixed(n_neighbors=7, weights="distance"),
    scale=True, encoding="onehot", light=True, max_rows=50_000,
    description="predicts from the k most similar training rows",
))


# libsvm caches kernel rows up to ``cache_size`` MB (scikit-learn's default: 200), and the cache is the
# largest thing an SVM fit holds. Measured on twoyear's 5,072 training rows (SVR, standardised):
#   cache MB | C=1, g=.03 | C=10, g=.1 | C=100, g=.01 | C=300, g=.3 | C=1000, g=.1 | RSS added
#      100   |   0.61 s   |   1.58 s   |    2.40 s    |    9.9 s    |    40.3 s    |  ~92 MB
#       50   |   0.60 s   |   1.57 s   |    2.32 s    |   12.9 s    |    47.5 s    |   50 MB
#       25   |   0.62 s   |   2.75 s   |    2.58 s    |             |              |   25 MB
# 50 MB costs nothing at typical settings and up to a third more at the space's stiffest corner; the
# default cache was a 60 s training's memory peak (479 MB, 2.15x FLAML's), 100 MB still 2.17x.
SVM_CACHE_MB = 50


def _svm(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.svm import SVC, SVR

    if _is_cls(problem):
        return SVC(C=params.get("C", 1.0), gamma=params.get("gamma", "scale"), probability=True,
                   random_state=seed, cache_size=SVM_CACHE_MB)
    return _scaled_target(SVR(C=params.get("C", 1.0), gamma=params.get("gamma", "scale"),
                              epsilon=params.get("epsilon", 0.1), cache_size=SVM_CACHE_MB))


def _svm_space(s: Suggest, p: Problem) -> dict[str, Any]:
    params: dict[str, Any] = {"C": s.float("C", 1e-2, 1e3, log=True), "gamma": s.float("gamma", 1e-4, 1.0, log=True)}
    if not _is_cls(p):
        params["epsilon"] = s.float("epsilon", 1e-3, 1.0, log=True)
    return params


_register(ModelSpec(
    "svm", "Support vector machine", BOTH, _svm, _svm_space,
    fixed(C=[0.1, 1.0, 10.0, 100.0], gamma=["scale", 0.01, 0.1]), fixed(C=1.0, gamma=0.03),
    scale=True, encoding="onehot", max_rows=5_000,  # one libsvm solve cannot be interrupted: keep it short
    description="finds the widest margin between classes, bending it with an RBF kernel",
))


# --- trees and forests -------------------------------------------------------------------------

def _tree(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeClassifier if _is_cls(problem) else DecisionTreeRegressor
    return cls(random_state=seed, **params)


_register(ModelSpec(
    "decision_tree", "Decision tree", BOTH, _tree,
    lambda s, p: {"max_depth": s.int("max_depth", 2, 20),
                  "min_samples_leaf": s.int("min_samples_leaf", 1, 50, log=True)},
    fixed(max_depth=[3, 5, 8, 12], min_samples_leaf=[1, 5, 20]), fixed(max_depth=6, min_samples_leaf=5),
    light=True, description="a flowchart of yes/no questions about the features",
))


def _forest(kind: str):  # type: ignore[no-untyped-def]
    def build(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
        import sklearn.ensemble as ens

        suffix = "Classifier" if _is_cls(problem) else "Regressor"
        leaves = forest_max_leaves(int(params.get("n_estimators", 100)), len(problem.classes) if _is_cls(problem) else 1)
        return getattr(ens, f"{kind}{suffix}")(random_state=seed, n_jobs=N_JOBS, max_leaf_nodes=leaves, **params)

    return build


def _forest_space(s: Suggest, p: Problem) -> dict[str, Any]:
    return {"n_estimators": s.int("n_estimators", 50, 500, log=True),
            "max_features": s.float("max_features", 0.1, 1.0),
            "min_samples_leaf": s.int("min_samples_leaf", 1, 20, log=True)}


# Defaults start at scikit-learn's 100 trees: a third of the cost of 300 for nearly the same score; the
# search grows the count where it pays (FLAML's "start cheap" rule)
_forest_grid = fixed(n_estimators=[100, 300], max_features=[0.3, 0.6, 1.0], min_samples_leaf=[1, 3, 10])


def _confident_leaves(problem: Problem) -> dict[str, Any] | None:
    """A forest's second start when the metric scores confidence (log-loss): leaves of five rows.

    A one-row leaf answers "probability 1"; averaged over 100 trees many classes still get exactly 0,
    and log-loss charges ~35 per test row whose class got 0. On noisy multi-class tables five-row
    leaves win by far (README, "How it works" 5: Males 2.69 -> 1.60; extra trees at 0.5 of the
    features 3.29 -> 1.53); on clean data one-row leaves do (digits 0.26 against 0.35): both are tried.
    """
    if not get_metric(problem.metric).scores_confidence:
        return None
    return {"n_estimators": 100, "max_features": 0.5, "min_samples_leaf": 5}


_register(ModelSpec(
    "random_forest", "Random forest", BOTH, _forest("RandomForest"), _forest_space, _forest_grid,
    fixed(n_estimators=100, max_features=0.5, min_samples_leaf=1), second_start=_confident_leaves, light=True,
    save_seconds_per_estimator=FOREST_SAVE,
    description="many decision trees on bootstrap samples, averaged",
))
_register(ModelSpec(
    "extra_trees", "Extra trees", BOTH, _forest("ExtraTrees"), _forest_space, _forest_grid,
    fixed(n_estimators=100, max_features=0.7, min_samples_leaf=1), second_start=_confident_leaves,
    save_seconds_per_estimator=FOREST_SAVE,
    description="like a random forest, but split points are drawn at random: faster, smoother",
))


# --- gradient boosting (zoo_boosting.py) -------------------------------------------------------

BUILTIN_MODELS.extend(BOOSTING_MODELS)


# --- neural network ----------------------------------------------------------------------------

_LAYERS = {"64": (64,), "128": (128,), "64-32": (64, 32), "128-64": (128, 64)}


def _mlp(params: dict[str, Any], problem: Problem, seed: int) -> BaseEstimator:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    params = dict(params)
    layers = _LAYERS[str(params.pop("layers", "64"))]
    # Early stopping: train until the score on 10 % of the rows has not improved for 10 epochs. Without
    # it the loss on the training rows keeps creeping down for all 500 epochs: 8 s a fold on 7k rows,
    # a quarter of a 60 s budget for one trial that then lost.
    common = dict(hidden_layer_sizes=layers, max_iter=500, early_stopping=True, validation_fraction=0.1,
                  n_iter_no_change=10, random_state=seed)
    if _is_cls(problem):
        return MLPClassifier(**common, **params)
    return _scaled_target(MLPRegressor(**common, **params))


_register(ModelSpec(
    "mlp", "Neural network (MLP)", BOTH, _mlp,
    lambda s, p: {"layers": s.cat("layers", list(_LAYERS)),
                  "alpha": s.float("alpha", 1e-6, 1e-1, log=True),
                  "learning_rate_init": s.float("learning_rate_init", 1e-4, 3e-2, log=True)},
    fixed(layers=["64", "64-32"], alpha=[1e-4, 1e-2], learning_rate_init=[1e-3, 1e-2]),
    # two layers and a brisker step: on 5k-20k-row tables both faster to converge (61-73 epochs instead
    # of 157-291) and more accurate (RMSE -15 % to -38 %) than one layer of 64 at Adam's 0.001
    fixed(layers="128-64", alpha=1e-4, learning_rate_init=3e-3),
    scale=True, encoding="onehot", max_rows=200_000,
    description="layers of weighted sums with non-linear activations, trained by gradient descent",
))
