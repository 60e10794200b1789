"""Prediction intervals: a model's own, or **conformal** ones measured on the backtest.

A forecast of 412 is more useful as "412, and 80 % of the time between 380 and 445". Statistical
models (ETS, ARIMA, Theta, the naive ones) derive such intervals from their own error model. Machine
learning on lags and averaged ensembles have no error model, so their intervals are built from the
errors they actually made in the backtest – *split conformal prediction*: if 80 % of the past errors
were smaller than *q*, then ``forecast ± q`` covers the truth about 80 % of the time, whatever the
model, as long as the future behaves like the past.

Two refinements make one set of errors serve every series and every step:

* errors are divided by the series' **scale** (its in-sample seasonal-naive error, the same scale as
  MASE), so a series in millions and one in units share the same quantile;
* errors grow with the distance ahead; dividing by ``sqrt(step)`` (how a random walk's spread grows)
  pools the steps, and the band at step *k* is ``q · scale · sqrt(k)`` – which also extends to
  horizons longer than the backtest's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["INTERVAL_COLUMNS", "LEVELS", "add_bands", "band_quantiles", "combine_forecasts", "normalised_errors",
           "order_intervals"]

LEVELS = (80, 95)
INTERVAL_COLUMNS = ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95")


def normalised_errors(y: np.ndarray, yhat: np.ndarray, scale: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Absolute errors divided by the series' scale and by ``sqrt(step)`` (see the module docstring).

    A constant series has scale 0: its errors say nothing about the others' and are NaN (left out of
    the quantiles); its own band is then ``q · 0``, the flat line its history was.
    """
    width = np.asarray(scale, float) * np.sqrt(np.asarray(step, float))
    error = np.abs(np.asarray(y, float) - np.asarray(yhat, float))
    return np.divide(error, width, out=np.full_like(error, np.nan), where=width > 0)


NORMAL_Z = {80: 1.2816, 95: 1.9600}  # two-sided standard normal quantiles of each level


def band_quantiles(errors: np.ndarray) -> dict[int, float]:
    """The conformal quantile of the normalised errors for each level (finite-sample corrected).

    With *n* errors, split conformal takes the ``ceil((n + 1) · level)``-th smallest. Below
    ``level / (1 - level)`` errors (19 for 95 %, 4 for 80 %) there is no such order statistic – the
    honest conformal band is unbounded – and capping it at the largest error made the 95 % band the
    80 % one (a yearly series with one backtest cut-off: 5 errors, identical bands). There the
    tail is extrapolated as a normal one instead: at least ``z · sqrt(mean(e²))`` (the errors' root
    mean square estimates the spread of a normal error) and the lower level's quantile times the
    ratio of the two levels' ``z`` (1.53 from 80 % to 95 %), never below the largest error seen.
    """
    e = np.asarray(errors, float)
    e = e[np.isfinite(e)]
    if len(e) == 0:
        return {level: float("nan") for level in LEVELS}
    n, ordered, rms = len(e), np.sort(e), float(np.sqrt(np.mean(e ** 2)))
    out: dict[int, float] = {}
    for i, level in enumerate(LEVELS):  # ascending levels
        rank = int(np.ceil((n + 1) * level / 100))
        if rank <= n:
            out[level] = float(ordered[rank - 1])
            continue
        tail = [float(ordered[-1]), NORMAL_Z[level] * rms]
        if i:
            below = LEVELS[i - 1]
            tail.append(out[below] * NORMAL_Z[level] / NORMAL_Z[below])
        out[level] = max(tail)
    return out


def add_bands(frame: pd.DataFrame, quantiles: Mapping[int, float], scales: Mapping[str, float]) -> pd.DataFrame:
    """``frame`` (``unique_id, ds, yhat`` in time order per series) with conformal interval columns."""
    out = frame.copy()
    step = out.groupby("unique_id", sort=False).cumcount().to_numpy() + 1
    width = out["unique_id"].map(scales).to_numpy(dtype=float) * np.sqrt(step)
    for level in LEVELS:
        out[f"yhat_lo_{level}"] = out["yhat"] - quantiles[level] * width
        out[f"yhat_hi_{level}"] = out["yhat"] + quantiles[level] * width
    return order_intervals(out)


def order_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Enforce ``lo95 ≤ lo80 ≤ yhat ≤ hi80 ≤ hi95`` (a model's bands may cross by rounding)."""
    out = frame.copy()
    out["yhat_lo_80"] = np.minimum(out["yhat_lo_80"], out["yhat"])
    out["yhat_hi_80"] = np.maximum(out["yhat_hi_80"], out["yhat"])
    out["yhat_lo_95"] = np.minimum(out["yhat_lo_95"], out["yhat_lo_80"])
    out["yhat_hi_95"] = np.maximum(out["yhat_hi_95"], out["yhat_hi_80"])
    return out


def combine_forecasts(stack: np.ndarray, how: str, weights: Sequence[float] = ()) -> np.ndarray:
    """Members' forecasts (one column each) → one: their mean, median or weighted average."""
    if how == "median":
        return np.asarray(np.median(stack, axis=1))
    if how == "weighted" and len(weights):
        return np.asarray(stack @ np.asarray(weights, float) / float(np.sum(weights)))
    return np.asarray(np.mean(stack, axis=1))
