"""Answering with a saved forecaster: the rows a user asks for, or the next ``h`` steps.

* :func:`predict_table` – the user sends *future rows* (the time column, the series id if the model
  has several series, and the exogenous values if the model uses them) and gets one forecast row per
  input row, in the same order. A timestamp that is not after the series' last training point, an
  unknown series, a time column that is not dates: each is a :class:`DataError` that says which.
* :func:`forecast_table` – the next ``horizon`` steps of every series (``automlops forecast``, the
  API's ``horizon`` request). Forecasts far beyond what was validated are refused: errors grow with
  the distance, and the backtest only measured ``h`` steps, so at most ten times that is served.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from automlops.errors import ConfigError, DataError
from automlops.forecasting.data import parse_times
from automlops.forecasting.forecaster import FORECAST_COLUMNS

__all__ = ["MAX_HORIZON_FACTOR", "forecast_table", "predict_table", "to_long"]

MAX_HORIZON_FACTOR = 10


def _max_steps(meta: dict[str, Any]) -> int:
    return MAX_HORIZON_FACTOR * int(meta.get("horizon") or 1)


def to_long(model: Any, meta: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """User rows (time column, series id, exogenous) → ``unique_id, ds`` + exogenous, checked."""
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DataError("no rows to forecast: give the future timestamps to forecast")
    time_column, series_id = str(meta["time_column"]), meta.get("series_id")
    needed = [time_column, *([series_id] if series_id else []), *getattr(model, "exogenous", ())]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s): {', '.join(missing)} (a forecast row needs the time column"
                        f"{', the series id' if series_id else ''} and the exogenous values the model uses)")
    ds, _ = parse_times(frame[time_column].reset_index(drop=True), time_column)
    if series_id:
        ids = frame[series_id].astype(str).reset_index(drop=True)
    else:
        ids = pd.Series([model.series_ids[0]] * len(frame))
    unknown = sorted(set(ids) - set(model.series_ids))
    if unknown:
        raise DataError(f"unknown series id(s) {', '.join(map(repr, unknown[:5]))} in column '{series_id}'; the "
                        f"model knows {len(model.series_ids)} series, e.g. {', '.join(model.series_ids[:5])}")
    long = pd.DataFrame({"unique_id": ids, "ds": ds})
    for col in getattr(model, "exogenous", ()):
        values = pd.to_numeric(frame[col], errors="coerce").reset_index(drop=True)
        if values.isna().any():
            raise DataError(f"exogenous column '{col}' has missing or non-numeric values in the future rows")
        long[col] = values.to_numpy(dtype=float)
    return long


def _steps(model: Any, long: pd.DataFrame, limit: int) -> int:
    """How many steps ahead the farthest row is; DataError for past or off-grid timestamps."""
    grid = model.future_grid(limit).assign(step=lambda g: g.groupby("unique_id").cumcount() + 1)
    merged = long[["unique_id", "ds"]].merge(grid, on=["unique_id", "ds"], how="left")
    for (uid, ds), step in zip(merged[["unique_id", "ds"]].itertuples(index=False), merged["step"], strict=True):
        if pd.isna(step):
            last = model.last[uid]
            if ds <= last:
                raise DataError(f"series '{uid}': {ds.isoformat()} is not after the last training timestamp "
                                f"{last.isoformat()}; only future timestamps can be forecast")
            raise DataError(f"series '{uid}': {ds.isoformat()} is not on the model's '{model.freq}' steps after "
                            f"{last.isoformat()}, or is more than {limit} steps ahead")
    return int(merged["step"].max())


def predict_table(model: Any, meta: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """The forecast (``unique_id, ds, yhat`` and 80/95 % bounds) for exactly the future rows of ``frame``."""
    long = to_long(model, meta, frame)
    steps = _steps(model, long, _max_steps(meta))
    forecast = model.forecast(steps, long if model.exogenous else None)
    out = long[["unique_id", "ds"]].merge(forecast, on=["unique_id", "ds"], how="left")
    return out[FORECAST_COLUMNS].reset_index(drop=True)


def forecast_table(model: Any, meta: dict[str, Any], horizon: int | None = None,
                   future: pd.DataFrame | None = None) -> pd.DataFrame:
    """The next ``horizon`` steps of every series (default: the trained horizon), with intervals."""
    trained = int(meta.get("horizon") or model.horizon)
    steps = trained if horizon is None else horizon
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"the horizon must be a whole number of steps ≥ 1, not {steps!r}")
    if steps > _max_steps(meta):
        raise ConfigError(f"a horizon of {steps} is more than {MAX_HORIZON_FACTOR}× the {trained} step(s) the model "
                          f"was validated on; ask for at most {_max_steps(meta)}")
    long = to_long(model, meta, future) if future is not None and model.exogenous else None
    return model.forecast(steps, long).reset_index(drop=True)
