"""Why did the model say that? SHAP explanations of saved tabular models.

A **SHAP value** splits one prediction into a sum: ``output = base value + Σ contributions``.
The *base value* is what the model answers on average (over the training data); each feature's
*contribution* is how much knowing its value moved this row's answer away from that average.
They come from Shapley values of game theory: a feature's contribution is its average marginal
effect over every order in which features could be "revealed" to the model, which is the only
split that is fair (symmetric, additive, zero for a feature the model ignores).

Two ways to compute them, chosen per model by :func:`make_explainer`:

* **tree** (TreeSHAP: LightGBM's and CatBoost's own, ``shap.TreeExplainer`` for XGBoost and scikit-learn's
  trees, forests and histogram boosting): exact and fast (milliseconds a row), computed on the features the model
  really sees (after the preprocessing), then *folded back* to the original columns: a column
  one-hot encoded into three, or imputed with a "was missing" flag, gets the sum of its parts.
  It explains the trees' own output: **log-odds** for boosted binary classifiers (the margin before
  the sigmoid; ``margin`` for multi-class ones: the per-class score before the softmax), the
  **probability** for forests and single trees, the **value** for regressors.
* **permutation** (the algorithm of ``shap.PermutationExplainer``, :mod:`.permutation_shap`) – for everything else (linear models, k-NN, SVM,
  MLP, voting/stacking ensembles): the whole pipeline is a black box fed original rows where
  features are swapped with values from a small **background** sample of the training data. It
  explains the **probability** of a class (classifiers) or the **value** (regressors). Sampled, so
  slower (hundreds of model calls a row), but additive too: base + Σ contributions = output.

Classifiers: a row is explained for its *predicted* class; a global summary for the *positive*
class (``classes[1]``) of a binary model, or for each row's predicted class when there are more.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automlops.core.jsonable import jsonable
from automlops.errors import DataError, ModelError
from automlops.tabular.calibration import TemperatureScaled
from automlops.tabular.permutation_shap import shapley_values

__all__ = ["Contribution", "Explainer", "GlobalExplanation", "RowExplanation", "cell_value", "explain_global",
           "explain_rows", "fold_map", "make_explainer", "tree_inside"]

BACKGROUND_ROWS = 50  # the permutation explainer's background sample (more: slower, steadier)
_TREE_MODULES = ("lightgbm", "xgboost", "catboost")
_TREE_SKLEARN = ("RandomForest", "ExtraTrees", "DecisionTree", "HistGradientBoosting", "GradientBoosting")
_WRAPPERS = ("LabelEncodedClassifier", "EarlyStoppedClassifier", "EarlyStoppedRegressor", "TemperatureScaled")


@dataclass(frozen=True)
class Contribution:
    """How much one original feature, with its value in the row, moved the output."""

    feature: str
    value: Any
    contribution: float


@dataclass(frozen=True)
class RowExplanation:
    """One row: ``base_value + Σ contribution`` (all features, not only the top ones) = the model output."""

    base_value: float
    prediction: Any
    contributions: tuple[Contribution, ...]
    class_name: Any = None  # the class explained (classifiers: the predicted one)
    output: str = "value"  # "log-odds" | "probability" | "value": the space of the numbers


@dataclass(frozen=True)
class GlobalExplanation:
    """SHAP values of many rows, features sorted by mean |SHAP| (largest first)."""

    features: tuple[str, ...]
    mean_abs: tuple[float, ...]
    values: np.ndarray = field(repr=False)  # rows × features, in ``features`` order
    data: pd.DataFrame = field(repr=False)  # the explained rows, columns in ``features`` order
    method: str = "tree"
    class_name: str | None = None
    output: str = "value"
    base_value: float = 0.0

    def top(self, k: int = 10) -> list[dict[str, Any]]:
        """The ``k`` most important features as ``{"feature", "mean_abs"}`` records."""
        return [{"feature": f, "mean_abs": float(m)} for f, m in zip(self.features[:k], self.mean_abs[:k], strict=True)]


def cell_value(value: Any) -> Any:
    """A cell as plain JSON: missing values as None, dates as ISO text, numpy scalars unwrapped."""
    if value is None or value is pd.NaT or (isinstance(value, float | np.floating) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return jsonable(value)


def _shap() -> Any:
    """Import shap (~1-3 s the first time) without the deprecation notices its import prints."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap
    return shap


def _unwrap(estimator: Any) -> Any:
    """The estimator inside the zoo's wrappers (label encoding, early stopping)."""
    while type(estimator).__name__ in _WRAPPERS and hasattr(estimator, "estimator_"):
        estimator = estimator.estimator_
    return estimator


def _is_tree(estimator: Any) -> bool:
    if type(estimator).__module__.split(".")[0] in _TREE_MODULES:
        return True
    # the studio's subclasses of scikit-learn's trees (hist_gb.py) are trees too
    return any(base.__module__.startswith("sklearn.") and base.__name__.startswith(_TREE_SKLEARN)
               for base in type(estimator).__mro__)


def fold_map(prep: Any, n_outputs: int) -> list[str]:
    """For each column the fitted ``ColumnTransformer`` outputs, the original column it came from.

    One-to-one blocks map in order; otherwise an output named ``col``, ``col_<something>`` (one-hot,
    date parts, per-class target encoding) or ``missingindicator_col`` belongs to the longest
    matching ``col`` of its block. ModelError if the count does not add up.
    """
    out: list[str] = []
    for name, transformer, columns in prep.transformers_:
        if name == "remainder" or (isinstance(transformer, str) and transformer == "drop"):
            continue
        cols = [columns] if isinstance(columns, str) else [str(c) for c in columns]
        names = [str(n) for n in transformer.get_feature_names_out(cols)] if not isinstance(transformer, str) else cols
        if len(names) == len(cols):
            out.extend(cols)
            continue
        for produced in names:
            base = produced.removeprefix("missingindicator_")
            matches = [c for c in cols if base == c or base.startswith(f"{c}_")]
            out.append(max(matches, key=len) if matches else produced)
    if len(out) != n_outputs:
        raise ModelError(f"cannot map the model's {n_outputs} inputs back to the original columns "
                         f"({len(out)} named by its preprocessing)")
    return out


class Explainer:
    """Computes SHAP values of a saved tabular model in original-feature units (see the module docstring).

    Build it once per model (:func:`make_explainer`); it is safe to share between threads.
    """

    permutations = 5  # orders sampled (each walked both ways) per row, fewer when a row's batch would be big
    batch_rows = 40_000  # most synthetic rows scored per explained row (they bound the orders sampled)
    predict_rows = 8_192  # synthetic rows built and scored at a time: every pipeline step copies what it is
    # given, so a 34k-row call of a 4-model ensemble on 86 columns (caravan) lifted a training's peak by ~140 MB

    def __init__(self, model: Any, meta: dict[str, Any], background: pd.DataFrame | None, *,
                 background_rows: int = BACKGROUND_ROWS) -> None:
        self.model, self.meta, self.background_rows = model, meta, background_rows
        self.columns = [str(c) for c in (meta.get("input_columns") or [])]
        if not self.columns:
            raise ModelError("the model's meta.json names no input columns; it cannot be explained")
        self.classify = meta.get("task") == "classification"
        if meta.get("task") not in ("classification", "regression"):
            raise ModelError("explanations exist for classification and regression models; this one is a "
                             f"{meta.get('task') or meta.get('kind')} model")
        self.classes = list(np.asarray(model.classes_).tolist()) if self.classify else []
        self._lock = threading.Lock()
        final = tree_inside(model)
        if final is not None:
            try:
                self._init_tree(model, final)
                return
            except ModelError:
                if background is None:
                    raise
        self._init_permutation(background)

    # ------------------------------------------------------------------ tree
    def _init_tree(self, model: Any, final: Any) -> None:
        self.method, self.prep = "tree", model.steps[0][1]
        self.fold = fold_map(self.prep, len(self.prep.get_feature_names_out()))
        self._lightgbm = final.booster_ if type(final).__module__.startswith("lightgbm") and hasattr(final, "booster_") \
            else None  # the Booster: its own predict skips the scikit-learn wrapper's checks (~1 ms a call)
        self._catboost = final if type(final).__module__.startswith("catboost") else None
        # LightGBM and CatBoost compute TreeSHAP themselves (shap's TreeExplainer hands a CatBoost model to
        # CatBoost's own ShapValues anyway), so explaining them never imports shap, which loads numba and
        # LLVM: +100 MB on top of a training process's ~300 MB of libraries, the peak of a 60 s training.
        native = self._lightgbm is not None or self._catboost is not None
        self._tree = None if native else _shap().TreeExplainer(final)
        self._final = model.steps[1][1]  # the fitted model step (wrappers included): predicts from prep's output
        boosted = type(final).__module__.startswith(_TREE_MODULES) or "GradientBoosting" in type(final).__name__
        if not self.classify:
            self.output = "value"
        elif boosted:
            self.output = "log-odds" if len(self.classes) == 2 else "margin"
        else:
            self.output = "probability"
        # A temperature (calibration.py) divides a boosted model's margins by T, and so its SHAP values: still
        # exact. A forest's tempered probability is not a sum of tree outputs: its SHAP values stay those of
        # the probabilities before the temperature (same order of contributions, same predicted class).
        tempered = isinstance(self._final, TemperatureScaled) and boosted
        self._margin_scale = 1.0 / float(self._final.temperature) if tempered else 1.0

    def _tree_input(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.prep.transform(frame), dtype=np.float64)

    def _tree_values(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(base values per output, SHAP values rows × transformed features × outputs)."""
        if self._lightgbm is not None:  # LightGBM computes TreeSHAP itself; one thread beats its pool on a row
            contrib = np.asarray(self._lightgbm.predict(X, pred_contrib=True, num_threads=1), dtype=float)
            width = X.shape[1] + 1
            contrib = contrib.reshape(len(X), -1, width).transpose(0, 2, 1)  # rows × (features + bias) × outputs
            values, expected = contrib[:, :-1, :], contrib[0, -1, :]
        elif self._catboost is not None:  # rows × (features + bias), or rows × classes × (features + bias)
            from catboost import Pool

            contrib = np.asarray(self._catboost.get_feature_importance(Pool(X), type="ShapValues", thread_count=1),
                                 dtype=float)
            contrib = (contrib[:, None, :] if contrib.ndim == 2 else contrib).transpose(0, 2, 1)
            values, expected = contrib[:, :-1, :], contrib[0, -1, :]
        else:
            assert self._tree is not None
            with self._lock, warnings.catch_warnings():  # one call at a time: the explainer keeps state
                warnings.simplefilter("ignore")  # e.g. LightGBM's "output has changed to a list" notice
                values = np.asarray(self._tree.shap_values(X, check_additivity=False), dtype=float)
                expected = np.atleast_1d(np.asarray(self._tree.expected_value, dtype=float))
        if values.ndim == 2:
            values = values[:, :, None]
        values, expected = values * self._margin_scale, expected * self._margin_scale
        if self.classify and values.shape[2] == 1:  # one margin for a binary model: log-odds of classes[1]
            values = np.concatenate([-values, values], axis=2)
            expected = np.array([-expected[0], expected[0]])
        return expected, values

    # ------------------------------------------------------------------ permutation
    def _init_permutation(self, background: pd.DataFrame | None) -> None:
        self.method, self.output = "permutation", "probability" if self.classify else "value"
        if background is None or background.empty:
            raise DataError("this model needs a background sample of its training data to be explained "
                            "(a model-agnostic explainer); its lake dataset was not available")
        missing = [c for c in self.columns if c not in background.columns]
        if missing:
            raise DataError(f"the background data lacks the model's column(s): {', '.join(missing[:10])}")
        rows = min(self.background_rows, len(background))
        self.background = background[self.columns].sample(rows, random_state=0).reset_index(drop=True)
        self.fold = list(self.columns)

    def _model_output(self, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities (rows × classes) for classifiers, values (rows × 1) for regressors."""
        if self.classify:
            return np.asarray(self.model.predict_proba(frame), dtype=float)
        return np.asarray(self.model.predict(frame), dtype=float).reshape(-1, 1)

    def _permutation_values(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Shapley values by antithetic permutation sampling (:mod:`.permutation_shap`)."""
        return shapley_values(self._model_output, self.background, frame, permutations=self.permutations,
                              batch_rows=self.batch_rows, predict_rows=self.predict_rows)

    # ------------------------------------------------------------------ public
    def frame_of(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(f"the rows lack column(s) the model needs: {', '.join(missing[:10])}")
        return frame[self.columns].reset_index(drop=True)

    def shap_values(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(base values per output, values rows × original features × outputs, outputs rows × outputs).

        Outputs: one per class for classifiers (in the explained space, ``self.output``), one for
        regressors. Each row satisfies ``base + values.sum(axis=1) == outputs`` (up to float error).
        """
        base, values, _ = self._explain(self.frame_of(frame), predict=False)
        return base, values, base + values.sum(axis=1)

    def _explain(self, frame: pd.DataFrame, *, predict: bool) -> tuple[np.ndarray, np.ndarray, Any]:
        """Base values, folded SHAP values and (with ``predict``) the model's labels and picked outputs.

        On the tree path the preprocessing runs once: its output feeds the prediction and SHAP.
        """
        if frame.empty:
            raise DataError("there are no rows to explain")
        if self.method != "tree":
            base, folded = self._permutation_values(frame)
            return base, folded, self.predictions(frame) if predict else None
        X = self._tree_input(frame)
        base, raw = self._tree_values(X)
        folded = np.zeros((len(frame), len(self.columns), raw.shape[2]))
        index = {c: j for j, c in enumerate(self.columns)}
        for k, original in enumerate(self.fold):
            if original in index:
                folded[:, index[original], :] += raw[:, k, :]
        return base, folded, self._labels(self._final, X) if predict else None

    def predictions(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The model's answers and, per row, the index of the output to explain (the predicted class)."""
        return self._labels(self.model, self.frame_of(frame))

    def _labels(self, model: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
        from automlops.tabular.evaluate import predict_labels_and_proba

        labels, proba = predict_labels_and_proba(model, X, classify=self.classify)
        if not self.classify:
            return labels, np.zeros(len(labels), dtype=int)
        position = {c: i for i, c in enumerate(self.classes)}
        picked = proba.argmax(axis=1) if proba is not None else np.array([position[v] for v in labels])
        return labels, np.asarray(picked, dtype=int)


def tree_inside(model: Any) -> Any:
    """The tree model of a ``Pipeline([prep ColumnTransformer, tree model])``, else None.

    A regressor whose target is transformed (``TransformedTargetRegressor``) is left out: its
    trees do not output the answer itself.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or len(model.steps) != 2 or not isinstance(model.steps[0][1],
                                                                                  ColumnTransformer):
        return None
    final = _unwrap(model.steps[1][1])
    return final if _is_tree(final) else None


def make_explainer(model: Any, meta: dict[str, Any], background: pd.DataFrame | None, *,
                   background_rows: int = BACKGROUND_ROWS) -> Explainer:
    """An :class:`Explainer` for a saved tabular model: tree SHAP when the model is a tree model,
    otherwise a permutation explainer over ``background_rows`` rows sampled from ``background``
    (required then). Build it once per model and reuse it."""
    return Explainer(model, meta, background, background_rows=background_rows)


def explain_rows(explainer: Explainer, frame: pd.DataFrame, *, top_k: int | None = 5) -> list[RowExplanation]:
    """Each row explained for its prediction (classifiers: the predicted class), top ``top_k`` features
    by |contribution| (``None``: all). ``base_value + Σ all contributions`` equals the model output in
    ``explainer.output`` units: log-odds or probability of that class, or the predicted value."""
    frame = explainer.frame_of(frame)
    base, values, (labels, picked) = explainer._explain(frame, predict=True)
    out = []
    for i in range(len(frame)):
        k = int(picked[i]) if explainer.classify else 0
        row = values[i, :, k]
        order = np.argsort(-np.abs(row), kind="stable")[: top_k if top_k else None]
        contributions = tuple(Contribution(explainer.columns[j], cell_value(frame.iat[i, j]), float(row[j]))
                              for j in order)
        out.append(RowExplanation(float(base[k]), cell_value(labels[i]), contributions,
                                  explainer.classes[k] if explainer.classify else None, explainer.output))
    return out


def explain_global(model: Any, meta: dict[str, Any], background: pd.DataFrame, *, max_rows: int = 500,
                   seed: int = 0, explainer: Explainer | None = None) -> GlobalExplanation:
    """SHAP values of up to ``max_rows`` rows sampled from ``background`` (the training data).

    Binary classifiers are explained for the positive class ``classes[1]``; multi-class ones for
    each row's predicted class (``class_name`` says which); regressors for the predicted value.
    """
    explainer = explainer or make_explainer(model, meta, background)
    rows = explainer.frame_of(background)
    if len(rows) > max_rows:
        rows = rows.sample(max_rows, random_state=seed).reset_index(drop=True)
    base, values, _ = explainer.shap_values(rows)
    if explainer.classify and len(explainer.classes) == 2:
        chosen, class_name = np.ones(len(rows), dtype=int), str(explainer.classes[1])
    elif explainer.classify:
        chosen, class_name = explainer.predictions(rows)[1], "predicted class of each row"
    else:
        chosen, class_name = np.zeros(len(rows), dtype=int), None
    per_row = values[np.arange(len(rows)), :, chosen]
    mean_abs = np.abs(per_row).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    features = tuple(explainer.columns[j] for j in order)
    return GlobalExplanation(features, tuple(float(m) for m in mean_abs[order]), per_row[:, order],
                             rows[list(features)], explainer.method, class_name, explainer.output,
                             float(np.mean(base[chosen])))
