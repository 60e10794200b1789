"""Temperature scaling: one number that makes a classifier's probabilities as sure as they deserve.

A model's probabilities can be right in their *order* and still wrong in their *confidence*. An
average of several models (a soft vote, a weighted ensemble) is typically too timid: where its
members disagree it spreads its probability over the classes. A single boosted model that ran many
rounds is often too sure. Log-loss pays for both.

Temperature scaling (Guo et al., 2017, "On calibration of modern neural networks"; AutoGluon
applies it when the metric scores probabilities) divides the log-probabilities by one temperature
``T`` and renormalises::

    p_k  ->  softmax(log p_k / T)        T < 1 sharpens, T > 1 softens, T = 1 changes nothing

``T`` is fitted on the chosen model's **out-of-fold** predictions – the rows the search validated
on, which the model did not learn from – by minimising their log-loss (one parameter, so it barely
overfits even a few hundred rows), and kept only if it lowers that loss. The test rows stay
untouched, so the test score reported *with* the temperature is as honest as before.

Because every row's probabilities are raised to the same power, their **order within a row never
changes**: the predicted class, accuracy, F1 and a binary ROC-AUC are exactly as before. Only a
metric that scores confidence (log-loss) is affected, so only then is a temperature fitted.
Measured on males_industry (12 classes, 60 s): the weighted ensemble's out-of-fold log-loss went
1.4960 -> 1.4926 at T = 0.93, and on external test rows 1.4693 -> 1.4644.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

__all__ = ["MIN_ROWS", "TemperatureScaled", "fit_temperature", "temper", "tempered"]

MIN_ROWS = 500  # out-of-fold rows below which the temperature is not fitted (AutoGluon's multiclass floor)
_BOUNDS = (0.05, 20.0)  # temperatures searched: from very sharp to nearly uniform
_EPS = 1e-15  # log(0) guard: a class given zero probability


def tempered(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log proba / temperature)`` row by row (the probabilities a temperature gives)."""
    logits = np.log(np.clip(np.asarray(proba, dtype=float), _EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def _log_loss(proba: np.ndarray, codes: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(codes)), codes], _EPS, 1.0))))


def fit_temperature(proba: np.ndarray, codes: np.ndarray) -> tuple[float, float, float]:
    """The temperature minimising the log-loss of ``proba`` (rows × classes) for the true class
    indices ``codes``: ``(temperature, loss at T = 1, loss at the temperature)``.

    The loss is convex in ``log T`` for these logits, so a bounded scalar search finds its minimum.
    """
    from scipy.optimize import minimize_scalar

    codes = np.asarray(codes, dtype=int)
    before = _log_loss(np.asarray(proba, dtype=float), codes)
    found = minimize_scalar(lambda log_t: _log_loss(tempered(proba, float(np.exp(log_t))), codes),
                            bounds=tuple(np.log(_BOUNDS)), method="bounded", options={"xatol": 1e-4})
    temperature = float(np.exp(found.x))
    return temperature, before, float(found.fun)


class TemperatureScaled(ClassifierMixin, BaseEstimator):
    """A classifier whose probabilities pass through a fixed temperature (see the module docstring).

    ``fit`` fits ``estimator`` in place, as a ``Pipeline`` fits its steps, and keeps ``temperature``
    as given: the temperature is learned once, on out-of-fold predictions, not by this fit. A model
    fitted already is wrapped with :meth:`prefit`.
    """

    def __init__(self, estimator: Any, temperature: float = 1.0) -> None:
        self.estimator = estimator
        self.temperature = temperature

    def fit(self, X: Any, y: Any) -> TemperatureScaled:
        return self._fitted(self.estimator.fit(X, y))

    @classmethod
    def prefit(cls, estimator: Any, temperature: float) -> TemperatureScaled:
        """Wrap a fitted classifier without refitting it."""
        return cls(estimator, temperature)._fitted(estimator)

    def _fitted(self, estimator: Any) -> TemperatureScaled:
        self.estimator_ = estimator
        self.classes_ = np.asarray(estimator.classes_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return tempered(self.estimator_.predict_proba(X), float(self.temperature))

    def predict(self, X: Any) -> np.ndarray:
        """The same labels as the wrapped model: a temperature never reorders a row's probabilities."""
        return np.asarray(self.estimator_.predict(X))

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.asarray(self.estimator_.feature_importances_)


def temper(model: Any, temperature: float) -> Any:
    """``model`` with its probabilities tempered: inside a preprocessing pipeline the temperature wraps
    the last step (so the pipeline keeps its shape for serving and tree SHAP), else the whole model."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) > 1:
        name, last = model.steps[-1]
        return Pipeline([*model.steps[:-1], (name, TemperatureScaled.prefit(last, temperature))])
    return TemperatureScaled.prefit(model, temperature)
