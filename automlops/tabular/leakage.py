"""The leakage check: a feature that predicts the target almost perfectly on its own.

Such a column is usually not known at prediction time (an outcome recorded after the fact, the
target in another unit). :func:`check_leakage` fits one small cross-validated tree per feature
(a depth-4 tree: 16 leaves) on a sample of at most :data:`LEAKAGE_SAMPLE_ROWS` rows and warns when
one scores ≥ 0.99 alone (accuracy, or R² / rank correlation for numbers). It checks at most
``AUTOMLOPS_LEAKAGE_MAX_FEATURES`` features within its share of the time budget, and says what it
skipped. :func:`~automlops.tabular.preprocessing.plan_features` runs it once per dataset.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from automlops.core.features import NUMERIC
from automlops.core.problem import Problem, TaskType

if TYPE_CHECKING:
    from automlops.tabular.preprocessing import FeatureSpec

__all__ = ["LEAKAGE_SAMPLE_ROWS", "check_leakage"]

LEAKAGE_SAMPLE_ROWS = 3000


def check_leakage(df: pd.DataFrame, problem: Problem, features: list[FeatureSpec], max_features: int,
                  deadline: float | None) -> tuple[list[str], list[str]]:
    """The leakage warnings on the first ``max_features`` of ``features``, and a note naming those not checked."""
    found, checked = _leakage_warnings(df, problem, features[:max_features], deadline)
    skipped = [f.name for f in features if f.name not in checked]
    return found, [_skipped_note(skipped, len(features), max_features)] if skipped else []


def _skipped_note(skipped: list[str], total: int, cap: int) -> str:
    """The decision-log line saying which features the leakage check did not look at, and why."""
    shown = ", ".join(f"'{name}'" for name in skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
    why = (f"it checks at most {cap} features (AUTOMLOPS_LEAKAGE_MAX_FEATURES)" if total - len(skipped) >= cap
           else "its share of the time budget ran out (AUTOMLOPS_LEAKAGE_TIME_SHARE)")
    return f"leakage check skipped {len(skipped)} of {total} features ({shown}): {why}"


def _leakage_warnings(df: pd.DataFrame, problem: Problem, features: list[FeatureSpec],
                      deadline: float | None) -> tuple[list[str], set[str]]:
    """Flag any single feature that predicts the target almost perfectly on its own.

    One 3-fold cross-validated depth-4 tree per feature, on a sample of at most
    LEAKAGE_SAMPLE_ROWS rows, stopping at ``deadline``. Returns the warnings and the features checked.
    """
    sample = df.sample(LEAKAGE_SAMPLE_ROWS, random_state=0) if len(df) > LEAKAGE_SAMPLE_ROWS else df
    sample = sample[sample[problem.target].notna()]
    is_cls = problem.task is TaskType.CLASSIFICATION
    if is_cls and sample[problem.target].value_counts(normalize=True).iloc[0] > 0.95:
        # a feature can look "perfect" just by predicting the majority class: nothing to check
        return [], {f.name for f in features}
    y, folds = _leakage_folds(sample[problem.target], is_cls)
    out, checked = [], set()
    for spec in features:
        if deadline is not None and time.monotonic() >= deadline:
            break
        checked.add(spec.name)
        score = _alone_score(spec, sample[spec.name], y, folds, is_cls) if folds else None
        if score is not None and score >= 0.99:
            out.append(f"possible leakage: '{spec.name}' alone predicts '{problem.target}' "
                       f"{'with' if is_cls else 'with R²'} {score:.3f}{' accuracy' if is_cls else ''}; "
                       "check it is known at prediction time")
    return out, checked


def _leakage_folds(target: pd.Series, is_cls: bool) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The target as numbers and the 3 folds ``cross_val_score(cv=3)`` would use, computed once.

    Splitting once and scoring by hand avoids scikit-learn's per-call checks, which cost about
    ten times the fit of a depth-4 tree on one column: thousands of columns then stay cheap.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    y = pd.factorize(target)[0] if is_cls else target.to_numpy(dtype=float)
    splitter = StratifiedKFold(3) if is_cls else KFold(3)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return y, list(splitter.split(np.zeros((len(y), 1)), y))
    except ValueError:  # too few rows (or rows per class) for 3 folds: nothing to check
        return y, []


def _alone_score(spec: FeatureSpec, x: pd.Series, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                 is_cls: bool) -> float | None:
    """How well one feature alone predicts ``y``: a small tree's CV accuracy or R² (None if it cannot fit)."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    values = x.fillna(x.median()).to_numpy(dtype=float) if spec.kind == NUMERIC else pd.factorize(x)[0].astype(float)
    X = values.reshape(-1, 1)
    scores = []
    for train, val in folds:
        tree = DecisionTreeClassifier(max_depth=4, random_state=0) if is_cls else DecisionTreeRegressor(max_depth=4)
        try:
            predicted = tree.fit(X[train], y[train]).predict(X[val])
        except ValueError:  # e.g. a column missing in every sampled row
            return None
        scores.append(float(np.mean(predicted == y[val])) if is_cls else _r2(y[val], predicted))
    score = float(np.mean(scores))
    if not is_cls and spec.kind == NUMERIC:  # a 16-leaf tree cannot reach R² 0.99 on a copy;
        corr = abs(float(pd.Series(values).corr(pd.Series(y), method="spearman")))  # ranks catch any
        score = max(score, corr if np.isfinite(corr) else 0.0)  # monotonic disguise (1/x, units)
    return score


def _r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    total = float(np.sum((truth - truth.mean()) ** 2))
    return 1.0 - float(np.sum((truth - predicted) ** 2)) / total if total > 0 else 0.0
