"""Expanding-window backtesting: how a forecaster is judged without peeking at the future.

Shuffled cross-validation would let a model learn from next year to predict last year. A
**backtest** instead replays history: pick a *cut-off*, fit on everything before it, forecast the
next ``h`` steps, compare with what happened; then move the cut-off and repeat. The windows
*expand* (each fit sees all the past up to its cut-off) and the last ``h`` points of the data are
never used here: they are the final, untouched test window. Features at a cut-off – lags, rolling
means, differences – are computed from the training part only, so nothing after the cut-off leaks in.

Scores, per series and averaged:

* **MASE** (the default) – the mean absolute error divided by the in-sample error of the seasonal
  naive forecast ("same as one season ago") on the training part. Below 1 beats that baseline; it is
  scale-free, so series in different units can be averaged. A series whose training part is
  *constant* (a route flown exactly once a day all year) has no in-sample error to divide by: its
  MASE is undefined and it is left out of the average, as AutoGluon's MASE leaves it out (MAE and
  RMSE still count it). Dividing by a tiny number instead let one such series outweigh all the
  others: on 67 daily routes, a lag model's error of 0.01 flights on the one constant route scored
  a MASE of ~500,000 there and ranked every lag model last. If *every* series of a cut-off is
  constant, that cut-off's MAE stands in for its MASE;
* **MAE**, **RMSE** (in the target's unit; RMSE punishes large misses more);
* **sMAPE** – the absolute error relative to the mean of |truth| and |forecast|, in percent (0–200);
* **coverage** of the 80 % and 95 % intervals – the share of true values inside them (honest
  intervals land near 0.80 and 0.95).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automlops.core.metrics import MetricContext, MetricSpec
from automlops.core.problem import TaskType
from automlops.core.registry import Registry
from automlops.errors import DataError
from automlops.forecasting.intervals import band_quantiles, normalised_errors

__all__ = ["FORECAST_METRICS", "Fold", "constant_series", "cross_fitted_bands", "fold_scores", "naive_scale", "plan_folds",
           "position_from_end", "score_table", "split_fold"]

_TS = (TaskType.TIMESERIES,)


def _mase(c: MetricContext) -> float:
    scale = float(c.extra["scale"]) if "scale" in c.extra else naive_scale(np.asarray(c.history),
                                                                               int(c.extra.get("season", 1)))
    if not scale > 0:  # a constant history: nothing to scale by (see the module docstring)
        return float("nan")
    return float(np.mean(np.abs(np.asarray(c.y_true) - np.asarray(c.pred))) / scale)


def _smape(c: MetricContext) -> float:
    y, f = np.asarray(c.y_true, float), np.asarray(c.pred, float)
    denom = np.abs(y) + np.abs(f)
    return float(np.mean(np.where(denom == 0, 0.0, 200 * np.abs(y - f) / np.where(denom == 0, 1, denom))))


FORECAST_METRICS: Registry[MetricSpec] = Registry("forecasting metric")
FORECAST_METRICS.add("mase", MetricSpec("mase", "MASE", "minimize", _TS, False, _mase,
                                        "mean absolute error relative to the in-sample seasonal naive forecast; "
                                        "below 1 beats 'same as one season ago'"))
FORECAST_METRICS.add("rmse", MetricSpec("rmse", "RMSE", "minimize", _TS, False, lambda c: float(np.sqrt(np.mean(
    (np.asarray(c.y_true) - np.asarray(c.pred)) ** 2))), "root mean squared error, in the target's unit"))
FORECAST_METRICS.add("mae", MetricSpec("mae", "MAE", "minimize", _TS, False, lambda c: float(np.mean(np.abs(
    np.asarray(c.y_true) - np.asarray(c.pred)))), "mean absolute error, in the target's unit"))
FORECAST_METRICS.add("smape", MetricSpec("smape", "sMAPE", "minimize", _TS, False, _smape,
                                         "symmetric mean absolute percentage error (0–200 %)"))


def naive_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute error of the seasonal naive forecast inside ``history`` (lag 1 if too short, or if
    the history repeats itself exactly every season); 0 for a constant history."""
    y = np.asarray(history, float)
    m = season if len(y) > season + 1 else 1
    if len(y) <= m:
        return 1.0
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    return scale if scale > 0 else float(np.mean(np.abs(np.diff(y))))


def constant_series(long: pd.DataFrame) -> list[str]:
    """The series of ``long`` whose values never change (their MASE is undefined)."""
    spread = long.groupby("unique_id", sort=False)["y"].agg(lambda y: float(np.ptp(y.to_numpy())) if len(y) else 0.0)
    return [str(uid) for uid in spread.index[spread.to_numpy() == 0]]


@dataclass(frozen=True)
class Fold:
    """One cut-off: the last ``offset`` points of every series are hidden; the next ``horizon`` are scored."""

    offset: int
    horizon: int


def position_from_end(long: pd.DataFrame) -> np.ndarray:
    """1 for each series' last row, 2 for the one before... (``long`` sorted by series and time)."""
    return long.groupby("unique_id", sort=False).cumcount(ascending=False).to_numpy() + 1


def plan_folds(shortest: int, h: int, n_windows: int, min_train: int) -> list[Fold]:
    """Cut-offs ``h`` apart, oldest first, each leaving at least ``min_train`` points to fit on."""
    horizon = min(h, shortest - min_train)
    if horizon < 1:
        raise DataError(f"the shortest series has {shortest} points before the test window: too few to backtest "
                        f"a forecast (at least {min_train + 1} are needed); give more history or a shorter horizon")
    folds = [Fold(horizon * (j + 1), horizon) for j in range(n_windows) if shortest - horizon * (j + 1) >= min_train]
    return folds[::-1]


def split_fold(long: pd.DataFrame, pfe: np.ndarray, fold: Fold) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows before the cut-off (to fit on) and the ``horizon`` rows after it (to score)."""
    train = long[pfe > fold.offset]
    actual = long[(pfe <= fold.offset) & (pfe > fold.offset - fold.horizon)]
    return train, actual


def _coverage(frame: pd.DataFrame, level: int) -> float:
    lo, hi = frame.get(f"lo{level}"), frame.get(f"hi{level}")
    if lo is None or hi is None or lo.isna().all():
        return float("nan")
    return float(((frame["y"] >= lo) & (frame["y"] <= hi)).mean())


def _series_contexts(fold: pd.DataFrame) -> list[MetricContext]:
    return [MetricContext(y_true=part["y"].to_numpy(), pred=part["yhat"].to_numpy(),
                          extra={"scale": float(part["scale"].iloc[0])})
            for _, part in fold.groupby("unique_id", sort=False)]


def _fold_value(contexts: list[MetricContext], spec: MetricSpec) -> float:
    """``spec`` averaged over the series of one cut-off, leaving out those it cannot score (NaN: the MASE
    of a constant series); if it can score none, the cut-off's MAE stands in."""
    values = np.array([spec.fn(ctx) for ctx in contexts], dtype=float)
    scored = values[np.isfinite(values)]
    if len(scored):
        return float(scored.mean())
    return float(np.mean([np.mean(np.abs(np.asarray(c.y_true) - np.asarray(c.pred))) for c in contexts]))


def _group_scores(frame: pd.DataFrame, metrics: Registry[MetricSpec]) -> dict[str, float]:
    """Each metric per (fold, series), averaged over series then folds; coverage pooled."""
    out: dict[str, list[float]] = {name: [] for name in metrics}
    for _, fold in frame.groupby("fold", sort=True):
        contexts = _series_contexts(fold)
        for name, spec in metrics.items():
            out[name].append(_fold_value(contexts, spec))
    return {name: float(np.mean(v)) for name, v in out.items()}


def cross_fitted_bands(frame: pd.DataFrame) -> pd.DataFrame:
    """Conformal 80/95 bands for each fold from the *other* folds' errors (one fold: its own errors)."""
    out = frame.copy()
    err = normalised_errors(out["y"], out["yhat"], out["scale"], out["step"])
    width = out["scale"].to_numpy() * np.sqrt(out["step"].to_numpy())
    for fold in out["fold"].unique():
        mine = (out["fold"] == fold).to_numpy()
        others = err[~mine] if (~mine).any() else err[mine]
        q = band_quantiles(others)
        for level in (80, 95):
            out.loc[mine, f"lo{level}"] = out.loc[mine, "yhat"] - q[level] * width[mine]
            out.loc[mine, f"hi{level}"] = out.loc[mine, "yhat"] + q[level] * width[mine]
    return out


def score_table(frame: pd.DataFrame, metrics: Registry[MetricSpec]) -> dict[str, float]:
    """All metrics (+ coverage) of a backtest frame.

    ``frame`` has ``fold, unique_id, step, y, yhat, scale`` and optionally ``lo80, hi80, lo95, hi95``.
    """
    scores = _group_scores(frame, metrics)
    scores |= {f"coverage_{level}": _coverage(frame, level) for level in (80, 95)}
    return scores


def fold_scores(frame: pd.DataFrame, spec: MetricSpec) -> list[float]:
    """The selection metric of each fold (averaged over series)."""
    return [_fold_value(_series_contexts(fold), spec) for _, fold in frame.groupby("fold", sort=True)]
