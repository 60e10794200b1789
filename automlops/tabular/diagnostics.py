"""Looking inside a fitted model: where it goes wrong, and what it relies on.

A single test score hides *how* a model errs. These helpers compute the pictures a student
should look at, on the untouched test rows the fit kept aside (``FitResult.test_rows``: the
very rows that were scored, whatever the split was – random, stratified or the last rows in time):

* **confusion matrix** (classification) – rows are the true classes, columns the predicted ones;
  everything off the diagonal is a mistake, and *which* cell tells which classes get confused;
* **ROC curve** (classification with probabilities) – for every threshold, the share of positives
  caught (true-positive rate) against the share of negatives falsely flagged; the area under it
  (AUC) is the chance a random positive is ranked above a random negative (one curve per class,
  one-vs-rest, when there are several classes);
* **residuals** and **predicted vs actual** (regression) – a good model scatters around the
  diagonal with no pattern; a funnel or a curve means the errors depend on the value;
* **permutation importance** – shuffle one input column and measure how much the test score drops:
  a model-agnostic answer to "which columns does it use?", in the columns the user uploaded;
* **hyperparameter importance** – which knobs of the search mattered (fANOVA over the trials of
  one model family: the best model's own hyperparameters).

Everything returned is plain JSON-friendly data, so it can be logged as an MLflow artifact
(``diagnostics.json``) and drawn later by any front end.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from automlops.core.fit import FitResult
from automlops.core.jsonable import jsonable
from automlops.core.problem import Problem, TaskType
from automlops.tabular.evaluate import predict_outputs

__all__ = ["MAX_POINTS", "diagnose", "diagnose_result", "final_test_rows", "param_importances"]

MAX_POINTS = 2000  # scatter points kept for regression plots
MAX_IMPORTANCE_ROWS = 1000
MAX_IMPORTANCE_COLUMNS = 60


def final_test_rows(result: FitResult, df: pd.DataFrame) -> pd.DataFrame:
    """The untouched test rows a fit scored: ``df`` must be the frame that was given to ``fit``."""
    if len(result.test_rows) and int(np.max(result.test_rows)) >= len(df):
        raise ValueError("this table is not the one the model was trained on: it has fewer rows than the "
                         "recorded test rows")
    return df.iloc[np.asarray(result.test_rows, dtype=int)]


def diagnose_result(result: FitResult, df: pd.DataFrame) -> dict[str, Any]:
    """:func:`diagnose` a fit's final model on its own test rows of ``df`` (the training table)."""
    test = final_test_rows(result, df)
    target = result.problem.target
    assert target is not None
    return diagnose(result.artifact.scored_obj, test[list(result.input_columns)], test[target], result.problem,
                    seed=int(result.config.get("seed", 0)))


def diagnose(model: Any, X: pd.DataFrame, y: pd.Series, problem: Problem, *, seed: int = 0) -> dict[str, Any]:
    """Confusion matrix + ROC (classification) or residuals (regression), and feature importance."""
    pred, proba = predict_outputs(model, X, problem)
    y_true = np.asarray(y)
    out: dict[str, Any] = {"task": problem.task.value, "target": problem.target, "n_rows": len(y_true)}
    if problem.task is TaskType.CLASSIFICATION:
        out["confusion"] = _confusion(y_true, pred, list(problem.classes))
        if proba is not None:
            out["roc"] = _roc_curves(y_true, proba, list(np.asarray(model.classes_)))
    else:
        out["regression"] = _regression_points(y_true, np.asarray(pred, dtype=float), seed)
    out["feature_importance"] = _permutation_importance(model, X, y, problem, seed)
    return jsonable(out)


def _confusion(y_true: np.ndarray, pred: np.ndarray, classes: list[object]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y_true, pred, labels=classes)
    return {"labels": [str(c) for c in classes], "matrix": matrix.tolist()}


def _roc_curves(y_true: np.ndarray, proba: np.ndarray, classes: list[object]) -> list[dict[str, Any]]:
    from sklearn.metrics import roc_auc_score, roc_curve

    positives = classes[1:] if len(classes) == 2 else classes
    curves = []
    for cls in positives:
        column = classes.index(cls)
        truth = y_true == cls
        if truth.all() or not truth.any():  # a class absent from the test rows has no curve
            continue
        fpr, tpr, _ = roc_curve(truth, proba[:, column])
        curves.append({"label": str(cls), "fpr": fpr.round(5).tolist(), "tpr": tpr.round(5).tolist(),
                       "auc": float(roc_auc_score(truth, proba[:, column]))})
    return curves


def _regression_points(y_true: np.ndarray, pred: np.ndarray, seed: int) -> dict[str, Any]:
    keep = np.arange(len(y_true))
    if len(keep) > MAX_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(keep, MAX_POINTS, replace=False))
    actual, predicted = y_true[keep].astype(float), pred[keep]
    return {"actual": actual.tolist(), "predicted": predicted.tolist(),
            "residual": (actual - predicted).tolist(), "sampled": len(keep) < len(y_true)}


def _permutation_importance(model: Any, X: pd.DataFrame, y: pd.Series, problem: Problem,
                            seed: int) -> dict[str, Any]:
    """Mean drop of accuracy / R² when each column is shuffled (a few repeats, capped rows)."""
    from sklearn.inspection import permutation_importance

    scoring = "accuracy" if problem.task is TaskType.CLASSIFICATION else "r2"
    if X.shape[1] > MAX_IMPORTANCE_COLUMNS or len(X) < 5:
        return {"scoring": scoring, "columns": [], "importance": [], "std": [],
                "note": "skipped: too many columns or too few test rows"}
    if len(X) > MAX_IMPORTANCE_ROWS:
        X = X.sample(MAX_IMPORTANCE_ROWS, random_state=seed)
        y = y.loc[X.index]
    try:
        result = permutation_importance(model, X, y, scoring=scoring, n_repeats=3, random_state=seed, n_jobs=1)
    except Exception as exc:  # an unusual estimator: the rest of the diagnostics still stands
        return {"scoring": scoring, "columns": [], "importance": [], "std": [],
                "note": f"not computed: {type(exc).__name__}: {exc}"[:200]}
    order = np.argsort(-result.importances_mean)
    return {"scoring": scoring, "columns": [str(X.columns[i]) for i in order],
            "importance": [float(result.importances_mean[i]) for i in order],
            "std": [float(result.importances_std[i]) for i in order]}


# ------------------------------------------------------------------------- hyperparameters

def _parse(value: Any) -> Any:
    """Trial params logged to MLflow come back as strings: turn numbers back into numbers."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    for cast in (int, float):
        try:
            number = cast(text)
        except ValueError:
            continue
        return number if not (isinstance(number, float) and not math.isfinite(number)) else text
    return text


def _distribution(values: list[Any]) -> Any:
    import optuna.distributions as d

    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numbers:
        low, high = min(values), max(values)
        if low == high:
            return None
        if all(isinstance(v, int) for v in values):
            return d.IntDistribution(int(low), int(high))
        return d.FloatDistribution(float(low), float(high))
    choices = sorted({str(v) for v in values})
    return d.CategoricalDistribution(choices) if len(choices) > 1 else None


def param_importances(trials: pd.DataFrame, direction: str = "maximize", model: str | None = None) -> pd.DataFrame:
    """fANOVA importance of one model family's hyperparameters.

    Each model family has its own knobs (k-NN's ``n_neighbors`` means nothing to a random
    forest), so importances across families would only ever find "model". They are computed for
    ``model`` – by default the family of the best finished trial – over that family's finished
    trials and the hyperparameters they share. ``trials`` needs the columns ``state``, ``value``,
    ``model`` and ``params`` (a dict per trial), as in :func:`automlops.search.trials.trials_frame`
    or the MLflow trial runs. Returns ``param, importance, model`` sorted (empty when fewer than
    3 trials of that family finished, or none of their settings varied).
    """
    import optuna

    empty = pd.DataFrame(columns=["param", "importance", "model"])
    done = trials[(trials["state"] == "COMPLETE") & trials["value"].notna()]
    if done.empty:
        return empty
    if model is None:
        values = done["value"].astype(float)
        model = str(done.loc[values.idxmax() if direction == "maximize" else values.idxmin(), "model"])
    done = done[done["model"].astype(str) == model]
    if len(done) < 3:
        return empty
    rows = [{k: _parse(v) for k, v in (p or {}).items() if k != "model"} for p in done["params"]]
    shared = [k for k in rows[0] if all(k in r for r in rows)]
    dists = {k: dist for k in shared if (dist := _distribution([r[k] for r in rows])) is not None}
    if not dists:
        return empty
    study = optuna.create_study(direction="maximize" if direction == "maximize" else "minimize")
    for row, value in zip(rows, done["value"], strict=True):
        params = {k: (str(row[k]) if isinstance(dists[k], optuna.distributions.CategoricalDistribution)
                      else row[k]) for k in dists}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=float(value)))
    try:
        scores = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except Exception:
        return empty
    return pd.DataFrame({"param": list(scores), "importance": list(scores.values()), "model": model})
