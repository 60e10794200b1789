"""Gradient boosting that finds its own number of rounds, and stops in time.

LightGBM, XGBoost and CatBoost add one tree (or one per class) a round. How many rounds? Too few
underfit, too many overfit, and the right count depends on the learning rate and the data, so the
zoo does not search it blind: :class:`EarlyStoppedRegressor` and :class:`EarlyStoppedClassifier`
hold out a tenth of the rows they learn from and stop when the score there stops improving (what
AutoGluon does, and what LightGBM's own docs recommend).

Around that, what one boosting fit needs to stay fast:

* **a clock** – the fit wraps up with its best round when the search's deadline comes near
  (:mod:`.boosting_clock`), and its trees are capped where they would outgrow memory
  (:mod:`.boosting_size`);
* **threads** – a second core only where it pays (LightGBM from ~10k rows while no other program
  keeps that core busy, CatBoost always);
* **prediction in blocks** – a LightGBM model of thousands of trees predicts a block of trees at a
  time, so their nodes stay in the CPU's cache;
* **a compact curve** – the per-round validation scores kept as one array, so saving stays fast.

The classes were first defined in :mod:`automlops.tabular.zoo`, which still exports them: models
saved then name ``automlops.tabular.zoo.EarlyStoppedRegressor`` and load as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.preprocessing import LabelEncoder

from automlops.core import cores as _cores  # noqa: F401  (found by _a_core_is_idle through sys.modules)
from automlops.tabular import lightgbm_memory  # noqa: F401  (found by _booster_memory through sys.modules)
from automlops.tabular.boosting_clock import (
    catboost_time_limit,
    lightgbm_time_limit,
    predict_seconds_per_round,
    raise_if_interrupted,
    wrap_up_time,
    xgboost_time_limit,
)
from automlops.tabular.boosting_size import rounds_within_memory

__all__ = ["EARLY_STOPPING_FROM", "LIGHTGBM_PREDICT_BLOCK", "LIGHTGBM_THREADS_FROM", "EarlyStoppedClassifier",
           "EarlyStoppedRegressor", "catboost_borders"]

# Rows from which a booster holds out a tenth and early-stops; below, it fits the searched ``n_estimators``.
# A 5-fold search on a 2,000-3,000-row table trains on folds of 1,300-2,000 rows, so at 2,000 every
# booster there fitted a round count searched blind between 50 and 800. The 60 s search on the seven
# mid-size and fresh tables of such folds (``benchmarks/automl_quality.py``, one run each, 2,000 -> 1,000):
# sumhes_gdp RMSE 201.6 -> 150.2 (LightGBM XT wants ~2,100 rounds there), hdma_deny AUC 0.886 -> 0.895,
# cracker_choice log-loss 0.605 -> 0.598, wage 35.69 -> 35.66, card and gpa2 a little better; jtrain3's
# median over three seeds the same (0.9809). Below 1,000 rows a tenth (< 100 rows) is too few to judge a
# round by, and the demo sets (150-570 rows) keep their searched rounds.
EARLY_STOPPING_FROM = 1000


class _EarlyStopped(BaseEstimator):
    """Gradient boosting that chooses its own number of rounds by early stopping.

    How many trees? Too few underfit, too many overfit, and the right count depends on the learning
    rate and the data. Rather than guess it (or spend trials searching it blind), hold out
    ``validation_fraction`` of the rows this model learns from, add trees until the score on them
    has not improved for ``patience`` rounds (up to ``max_rounds``), and keep the best round. This
    is what AutoGluon and LightGBM's own docs recommend; scikit-learn's HistGradientBoosting does the
    same inside (``early_stopping="auto"``). The held-out rows come from the model's *own* training
    rows, so the search's validation score stays honest. Below ``min_rows`` (:data:`EARLY_STOPPING_FROM`) the held-out
    part would be too small to trust: the searched ``n_estimators`` is used as is.

    ``refit_rounds`` is for the final refit on all rows, once the count is known: exactly that many
    rounds on *every* row, nothing held out (as AutoGluon's ``refit_full`` and FLAML's
    ``retrain_full`` do). Early stopping again would set 10 % of the rows aside only to find a count
    the scored model has already measured.

    ``categorical_features`` (LightGBM): the positions of the columns that hold category codes, which
    LightGBM then splits on as categories (:data:`automlops.tabular.zoo_boosting.LIGHTGBM_CATEGORIES`).
    """

    # models saved before these parameters existed read them as None
    refit_rounds: int | None = None
    categorical_features: list[int] | None = None

    def __init__(self, estimator: BaseEstimator, *, max_rounds: int = 10_000, patience: int = 50,
                 validation_fraction: float = 0.1, min_rows: int = EARLY_STOPPING_FROM, random_state: int = 0,
                 refit_rounds: int | None = None, categorical_features: list[int] | None = None) -> None:
        self.estimator, self.max_rounds, self.patience = estimator, max_rounds, patience
        self.validation_fraction, self.min_rows, self.random_state = validation_fraction, min_rows, random_state
        self.refit_rounds, self.categorical_features = refit_rounds, categorical_features

    def fit(self, X: Any, y: Any) -> _EarlyStopped:
        model = clone(self.estimator)
        y = np.asarray(y)
        library = type(model).__module__.split(".")[0]
        if library == "catboost" and model.get_params().get("border_count") is None:
            model.set_params(border_count=catboost_borders(len(y)))
        if self.refit_rounds is None and len(y) < self.min_rows:
            return self._fit_searched_rounds(model, X, y, library)
        X_fit, X_stop, y_fit, y_stop = self._split_rows(model, X, y, library)
        threads = _use_threads(model, library, len(y_fit))
        stop_at = wrap_up_time(time.monotonic())
        after = predict_seconds_per_round(len(y), len(np.unique(y)) if is_classifier(self) else 1)
        extra, limit = self._fit_arguments(model, library, y_fit, X_stop, y_stop, stop_at, after)
        with _booster_memory(library):
            model.fit(X_fit, y_fit, **extra)
        raise_if_interrupted(limit)
        if stop_at is not None and library == "xgboost":
            model.set_params(callbacks=None)  # the fitted booster keeps nothing of it; the saved model must not
        _compact_history(model)
        if threads is not None and library != "catboost":  # predictions (the API's one row at a time) stay on
            model.set_params(n_jobs=self.estimator.get_params()["n_jobs"])  # one thread (a fitted CatBoost is frozen)
        if X_stop is None:
            self.estimator_, self.n_rounds_ = model, _rounds_fitted(model, library)
        else:
            best = getattr(model, "best_iteration_", None) or getattr(model, "best_iteration", None)
            ceiling = int(model.get_params().get("n_estimators") or self.max_rounds)
            counted = library == "lightgbm"  # LightGBM's best iteration is a count of rounds, the others' an index
            self.estimator_, self.n_rounds_ = model, ceiling if best is None else int(best) + (0 if counted else 1)
        self.stopped_for_time_ = bool(getattr(limit, "fired", False))
        return self._fitted()

    def _split_rows(self, model: BaseEstimator, X: Any, y: np.ndarray,
                    library: str) -> tuple[Any, Any, np.ndarray, Any]:
        """``X_fit, X_stop, y_fit, y_stop``, with the round ceiling set on ``model``: rows held out to find
        the count, or (``refit_rounds`` known) every row to learn from and ``None`` held out. The
        ceiling is ``max_rounds``, lower where the trees would outgrow memory (:mod:`.boosting_size`)."""
        from sklearn.model_selection import train_test_split

        counts = np.unique(y, return_counts=True)[1] if is_classifier(self) else np.ones(1)
        if self.refit_rounds is not None:
            rounds = max(1, int(self.refit_rounds))
            model.set_params(n_estimators=rounds_within_memory(model, library, len(counts), rounds))
            return X, None, y, None
        stratify = y if is_classifier(self) and counts.min() >= 2 else None
        model.set_params(n_estimators=rounds_within_memory(model, library, len(counts), self.max_rounds))
        return tuple(train_test_split(X, y, test_size=self.validation_fraction,  # type: ignore[return-value]
                                      random_state=self.random_state, stratify=stratify))

    def _fit_arguments(self, model: BaseEstimator, library: str, y_fit: np.ndarray, X_stop: Any, y_stop: Any,
                       stop_at: float | None, after: float) -> tuple[dict[str, Any], Any]:
        """Each library's way to early-stop on the held-out rows (if any) and to wrap up by ``stop_at``:
        the keyword arguments of ``fit``, and the time limit (``None`` without a deadline)."""
        extra: dict[str, Any] = {}
        limit: Any = None
        if library == "catboost":  # takes any labels, in y and in the early-stopping rows alike
            if X_stop is not None:
                extra.update(eval_set=(X_stop, y_stop), early_stopping_rounds=self.patience, use_best_model=True)
            extra["callbacks"] = [limit := catboost_time_limit(stop_at, after)]
        elif library == "lightgbm":
            import lightgbm as lgb

            extra.update(self._categories(library))

            # LightGBM 4.7's names (eval_set is deprecated). Its classifier encodes the labels of y and of
            # eval_set to 0..k-1, but passes eval_y as given: strings failed ("could not convert 'No'"), and
            # labels such as {1, 2, 3} would be scored against the wrong classes. Hence the codes, from the
            # same sorted encoding the classifier applies to y.
            extra["callbacks"] = []
            if X_stop is not None:
                y_eval = LabelEncoder().fit(y_fit).transform(y_stop) if is_classifier(model) else y_stop
                extra.update(eval_X=(X_stop,), eval_y=(y_eval,))
                extra["callbacks"].append(lgb.early_stopping(self.patience, verbose=False))
            if stop_at is not None:
                extra["callbacks"].append(limit := lightgbm_time_limit(stop_at, after))
        else:  # XGBoost takes both as parameters
            limit = None if stop_at is None else xgboost_time_limit(stop_at, after)
            model.set_params(early_stopping_rounds=self.patience if X_stop is not None else None,
                             callbacks=None if limit is None else [limit])
            if X_stop is not None:
                extra["eval_set"] = [(X_stop, y_stop)]
            extra["verbose"] = False
        return extra, limit

    def _fit_searched_rounds(self, model: BaseEstimator, X: Any, y: np.ndarray, library: str) -> _EarlyStopped:
        """Too few rows to hold some out: fit the searched ``n_estimators`` as they are."""
        _use_threads(model, library, len(y))  # CatBoost only (LightGBM's threshold is far above min_rows)
        ticks = catboost_time_limit(None) if library == "catboost" else None  # lets a deadline stop CatBoost
        with _booster_memory(library):
            self.estimator_ = model.fit(X, y, **self._categories(library),
                                        **({} if ticks is None else {"callbacks": [ticks]}))
        raise_if_interrupted(ticks)
        self.n_rounds_ = int(model.get_params()["n_estimators"])
        return self._fitted()

    def _categories(self, library: str) -> dict[str, Any]:
        """``fit``'s argument naming the category columns (LightGBM's ``categorical_feature``), if any."""
        if not self.categorical_features:
            return {}
        if library != "lightgbm":
            raise ValueError(f"categorical_features is for LightGBM; {library} reads every column as a number here")
        return {"categorical_feature": list(self.categorical_features)}

    def _fitted(self) -> _EarlyStopped:
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:
        blocked = _lightgbm_in_blocks(self.estimator_, X)
        if blocked is not None:  # a regression's predictions, or a classifier's probabilities
            return blocked if blocked.ndim == 1 else self.estimator_.classes_[np.argmax(blocked, axis=1)]
        predicted = np.asarray(self.estimator_.predict(X))
        # CatBoost's multi-class classifier answers one column of labels, (rows, 1): flatten it to the
        # (rows,) every scikit-learn classifier returns (compared with (rows,) labels it would broadcast)
        return predicted.ravel() if predicted.ndim == 2 and predicted.shape[1] == 1 else predicted

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.estimator_.feature_importances_


def _rounds_fitted(model: Any, library: str) -> int:
    """Rounds a boosting model fitted without held-out rows kept (fewer than asked if a deadline stopped it)."""
    if library == "lightgbm":
        return int(model.booster_.best_iteration or model.booster_.current_iteration())
    if library == "catboost":
        return int(model.tree_count_)
    return int(model.get_booster().num_boosted_rounds())


CATBOOST_ROWS_PER_BORDER = 16


def catboost_borders(rows: int) -> int:
    """How many split candidates (``border_count``) CatBoost considers per feature.

    CatBoost first cuts every numeric feature into bins, 254 by default, and each round scores every
    bin border of every feature: that costs the same on 300 rows as on 30,000. Small tables cannot
    support such fine cuts anyway (about one row a bin), so they get one border per ~16 rows, at
    least 64. Measured with 5-fold CV at the defaults: breast_cancer log-loss 0.087 -> 0.084 and
    3x faster, diabetes RMSE 56.9 -> 56.8 and 2x faster; on diamonds (40k rows) 64 borders instead
    of 254 cost RMSE 533 -> 551, so large tables keep them all.
    """
    return int(min(254, max(64, rows // CATBOOST_ROWS_PER_BORDER)))


LIGHTGBM_THREADS_FROM = 10_000  # rows: from here a LightGBM fit on every core beats one thread
THREADS_FROM = {"lightgbm": LIGHTGBM_THREADS_FROM, "catboost": 0}  # XGBoost: never (see _threads_for)
_THREADS_PARAMETER = {"lightgbm": "n_jobs", "catboost": "thread_count"}


THREADS_CAP: int | None = None  # threads any one fit may use; set by code running several fits at once


@contextlib.contextmanager
def threads_capped(cap: int) -> Any:
    """Fits in this block use at most ``cap`` threads: for a process that runs beside others like it.

    Several processes fitting at once (the stability analysis' workers, one per core, whose OpenMP
    pools threadpoolctl limits to one thread) must not each ask LightGBM for a thread per core: two
    such workers on two cores took a 4 s refit past a 60 s deadline (measured; busy OpenMP threads
    waiting on each other is the likely cause).
    """
    global THREADS_CAP
    previous, THREADS_CAP = THREADS_CAP, cap
    try:
        yield
    finally:
        THREADS_CAP = previous


def _threads_for(model: BaseEstimator, rows: int) -> int | None:
    """Threads for a boosting fit on ``rows`` rows (``None``: keep the model's own setting).

    Trials run one after another, so a second core is idle unless the fit itself uses it, or other
    programs do (then LightGBM gets one thread: :func:`_a_core_is_idle`). Below
    ~10k rows starting LightGBM's threads costs more than they save; above, LightGBM builds its
    histograms 1.2-1.45x faster on two cores (15k-40k rows measured; XGBoost's hist method gained
    nothing). CatBoost's rounds are heavier: two cores fit it 1.4-1.8x faster at every size measured,
    300 rows included (a 5-fold CatBoost trial on breast_cancer: 5.4 s on one core).
    """
    library = type(model).__module__.split(".")[0]
    threshold = THREADS_FROM.get(library)
    if threshold is None or rows < threshold or (library == "lightgbm" and not _a_core_is_idle()):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if THREADS_CAP is not None:
        cores = min(cores, THREADS_CAP)
    return max(1, min(cores, 4)) if cores > 1 else None


def _a_core_is_idle() -> bool:
    """Whether a second LightGBM thread would run beside this one (:mod:`automlops.core.cores`): with one
    other program busy on two cores, LightGBM on two threads was ~10x *slower* than on one (300 rounds on
    30k rows: 1.0 s against 9.7 s), its threads spinning at every round's barrier for one that is not
    running. (CatBoost's threads were never slower there.) Looked up through ``sys.modules``: an exported
    script or bundle copies this code, not the studio's, and keeps the threads."""
    cores = sys.modules.get("automlops.core.cores")
    return True if cores is None else bool(cores.threads_pay())


def _use_threads(model: BaseEstimator, library: str, rows: int) -> int | None:
    """Set the threads :func:`_threads_for` gives a fit on ``rows`` rows; returns them (``None``: unchanged)."""
    threads = _threads_for(model, rows)
    if threads is not None:
        model.set_params(**{_THREADS_PARAMETER[library]: threads})
    return threads


def _compact_history(model: Any) -> None:
    """Keep the validation score of every round as one array per metric instead of a list of numbers.

    The boosting libraries record the early-stopping curve round by round (``evals_result_``). As a
    list of thousands of NumPy scalars, skops stores each one as its own file in the model's zip:
    saving a 6,000-round LightGBM model took 4.2 s and loading it 10.7 s, mostly for this curve.
    """
    for name in ("_evals_result", "evals_result_"):  # LightGBM's, XGBoost's
        history = model.__dict__.get(name)
        if isinstance(history, dict):
            model.__dict__[name] = {data: {metric: np.asarray(values, dtype=float) for metric, values in curves.items()}
                                    for data, curves in history.items()}


def _booster_memory(library: str) -> contextlib.AbstractContextManager[Any]:
    """For LightGBM, :func:`automlops.tabular.lightgbm_memory.trained_boosters_kept` (no text round
    trip where keeping the trained booster is smaller). Looked up through ``sys.modules`` as the
    deadline is: an exported script or bundle copies this class's code and fits as LightGBM ships."""
    keeper = sys.modules.get("automlops.tabular.lightgbm_memory")
    return keeper.trained_boosters_kept() if library == "lightgbm" and keeper is not None \
        else contextlib.nullcontext()


LIGHTGBM_PREDICT_BLOCK = 256  # trees a LightGBM prediction runs at once: their nodes stay in the cache
LIGHTGBM_BLOCKS_FROM_ROWS = 128  # fewer rows: each block's call costs more than the cache saves


def _identity(raw: np.ndarray) -> np.ndarray:
    return raw


def _binary_probabilities(raw: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    positive = expit(raw)
    return np.column_stack([1.0 - positive, positive])


def _class_probabilities(raw: np.ndarray) -> np.ndarray:
    from scipy.special import softmax

    return np.asarray(softmax(raw, axis=1))


def _exp(raw: np.ndarray) -> np.ndarray:  # a function, not the ufunc: exported scripts copy this table as code
    return np.exp(raw)


_LIGHTGBM_LINKS = {"regression": _identity, "poisson": _exp, "binary": _binary_probabilities,
                   "multiclass": _class_probabilities}  # the Poisson loss models log(mean)


def _lightgbm_in_blocks(model: Any, X: Any) -> np.ndarray | None:
    """A large LightGBM model's predictions (regression) or probabilities, a block of trees at a time.

    LightGBM takes a row through every tree before the next row. Past a few thousand trees their
    nodes no longer fit in the CPU's cache, so every row fetches them all from memory again: on
    weather_temp, scoring 3,134 rows with LightGBM XT's first 4,096 trees took 1.7 s, with all
    7,740 12 s (5-15 s over several runs), and the search's trial was killed while it predicted. Blocks of
    :data:`LIGHTGBM_PREDICT_BLOCK` trees stay cached; their raw scores add up (the first tree holds
    the starting score) and the link (sigmoid, softmax) is applied once to the sum. Measured on
    those 3,134 rows: 5,367 LightGBM rounds 1.8-4.6 s -> 1.0 s, 7,739 XT rounds 5.3-8.3 s -> 1.9-2.1 s.
    ``None``: not a LightGBM model, too few trees for blocks to matter, or too few rows (one row
    took 3 ms in one pass and 27 ms in blocks: the API's single rows keep the single pass).
    """
    if type(model).__module__.split(".")[0] != "lightgbm" or len(X) < LIGHTGBM_BLOCKS_FROM_ROWS:
        return None
    link = _LIGHTGBM_LINKS.get(str(getattr(model, "objective_", "")))
    booster = model.booster_
    total = booster.best_iteration or booster.current_iteration()  # as LightGBM's own predict
    if link is None or total < 2 * LIGHTGBM_PREDICT_BLOCK:
        return None
    raw = sum(np.asarray(model.predict(X, raw_score=True, start_iteration=start,
                                       num_iteration=min(LIGHTGBM_PREDICT_BLOCK, total - start)), dtype=float)
              for start in range(0, total, LIGHTGBM_PREDICT_BLOCK))
    return link(np.asarray(raw))


class EarlyStoppedClassifier(ClassifierMixin, _EarlyStopped):
    """:class:`_EarlyStopped` for classifiers (probabilities too)."""

    def predict_proba(self, X: Any) -> np.ndarray:
        blocked = _lightgbm_in_blocks(self.estimator_, X)
        return blocked if blocked is not None else np.asarray(self.estimator_.predict_proba(X))


class EarlyStoppedRegressor(RegressorMixin, _EarlyStopped):
    """:class:`_EarlyStopped` for regressors."""
