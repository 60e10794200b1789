"""Answering with a saved forecaster: the rows a user asks for, or the next ``h`` steps.

* :func:`predict_table` – the user sends *future rows* (the time column, the series id if the model
  has several series, and the exogenous values if the model uses them) and gets one forecast row per
  input row, in the same order. A timestamp that is not after the series' last training point, an
  unknown series, a time column that is not dates: each is a :class:`DataError` that says which.
  Rows are read as training read its table: dates in the same day/month order, times with a UTC
  offset in UTC, a series id ``1.0`` as series ``1``; only the series asked are forecast (and need
  future exogenous values). A row without its series id, or two rows for one series and time with
  different exogenous values (which should the forecast use?), are refused; columns the model does
  not use are only worth a warning (:func:`unused_columns`).
* :func:`forecast_table` – the next ``horizon`` steps of every series (``automlops forecast``, the
  API's ``horizon`` request). Forecasts far beyond what was validated are refused: errors grow with
  the distance, and the backtest only measured ``h`` steps, so at most ten times that is served.
* :func:`written_times` – a forecast's ``ds`` as text, the model's way (:func:`~.times.time_format`):
  ``2013-03-26`` for daily or coarser steps, ``2020-01-02T00:00:00`` for hourly ones, at midnight too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import ConfigError, DataError
from automlops.forecasting.forecaster import FORECAST_COLUMNS
from automlops.forecasting.times import parse_times, time_format

__all__ = ["MAX_HORIZON_FACTOR", "forecast_table", "predict_table", "to_long", "unused_columns", "unused_future",
           "written_times"]

MAX_HORIZON_FACTOR = 10


def _max_steps(meta: dict[str, Any]) -> int:
    return MAX_HORIZON_FACTOR * int(meta.get("horizon") or 1)


def _series_ids(values: pd.Series, known: list[str]) -> pd.Series:
    """Series ids as the model knows them: ``1.0`` (a CSV column with a gap, a JSON float) is series
    ``1``, and ``1`` is series ``1.0`` if training wrote it so."""
    ids = values.astype(str).str.strip()
    numeric: dict[float, str] = {}
    for uid in known:
        number = _number(uid)
        if number is not None:
            numeric.setdefault(number, uid)
    if not numeric:
        return ids
    known_set = set(known)

    def canonical(uid: str) -> str:
        number = None if uid in known_set else _number(uid)
        return numeric.get(number, uid) if number is not None else uid

    return ids.map(canonical)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def to_long(model: Any, meta: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """User rows (time column, series id, exogenous) → ``unique_id, ds`` + exogenous, checked.

    The time column is read as training read it (day-first if training's was; offsets to UTC), and
    exogenous columns renamed inside the model (an input called ``ds``) are read under the user's name.
    """
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DataError("no rows to forecast: give the future timestamps to forecast")
    time_column, series_id = str(meta["time_column"]), meta.get("series_id")
    inputs = _inputs(model)
    needed = [time_column, *([series_id] if series_id else []), *inputs.values()]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"missing column(s): {', '.join(missing)} (a forecast row needs the time column"
                        f"{', the series id' if series_id else ''} and the exogenous values the model uses)")
    if series_id:
        _check_named(frame[series_id].reset_index(drop=True), str(series_id))
        ids = _series_ids(frame[series_id].reset_index(drop=True), list(model.series_ids))
    else:
        ids = pd.Series([model.series_ids[0]] * len(frame))
    unknown = sorted(set(ids) - set(model.series_ids))
    if unknown:
        raise DataError(f"unknown series id(s) {', '.join(map(repr, unknown[:5]))} in column '{series_id}'; the "
                        f"model knows {len(model.series_ids)} series, e.g. {', '.join(model.series_ids[:5])}")
    ds = _future_times(model, meta, frame[time_column].reset_index(drop=True), ids)
    long = pd.DataFrame({"unique_id": ids, "ds": ds})
    for col, source in inputs.items():
        values = pd.to_numeric(frame[source], errors="coerce").reset_index(drop=True)
        if values.isna().any():
            raise DataError(f"exogenous column '{source}' has missing or non-numeric values in the future rows")
        long[col] = values.to_numpy(dtype=float)
    _refuse_conflicts(long, inputs)
    return long


def _check_named(values: pd.Series, column: str) -> None:
    """DataError when a row's series id is null (``"store": null``) or absent from its record."""
    empty = values.isna()
    if empty.any():
        rows = ", ".join(map(str, empty[empty].index[:5])) + (", ..." if empty.sum() > 5 else "")
        raise DataError(f"series-id column '{column}' is null or missing in {int(empty.sum())} future row(s) "
                        f"(row {rows}, counting from 0); every row must name the series it forecasts")


def _refuse_conflicts(long: pd.DataFrame, inputs: dict[str, str]) -> None:
    """DataError when two rows ask for one series and time with different exogenous values: the forecast
    can only use one of them. (Identical rows are fine: each gets the same answer.)"""
    twice = long[long.duplicated(["unique_id", "ds"], keep=False)]
    if twice.empty or not inputs:
        return
    spread = twice.groupby(["unique_id", "ds"], sort=False)[list(inputs)].nunique()
    clash = spread[(spread > 1).any(axis=1)]
    if clash.empty:
        return
    uid, ds = clash.index[0]
    rows = twice[(twice["unique_id"] == uid) & (twice["ds"] == ds)]
    differ = [c for c in inputs if clash.iloc[0][c] > 1]
    values = "; ".join(f"{inputs[c]}: {', '.join(f'{v:g}' for v in rows[c])}" for c in differ)
    raise DataError(f"series '{uid}' is asked {len(rows)} times at {pd.Timestamp(ds).isoformat()} with different "
                    f"exogenous values ({values}); send one row per series and time"
                    + (f" ({len(clash)} series and times clash)" if len(clash) > 1 else ""))


def _future_times(model: Any, meta: dict[str, Any], values: pd.Series, ids: pd.Series) -> pd.Series:
    """The future rows' times, read in the day/month order training's dates told (``time_dayfirst``).

    When training did not tell (its dates came parsed already, or every number was ≤ 12) and the rows
    read both ways (``01/02/2014``), the reading under which they are the model's next steps is taken:
    the nearest, on the model's grid (02/01, 03/01 after a daily series ending 31/12 are 2 and 3 January).
    """
    column, recorded = str(meta["time_column"]), meta.get("time_dayfirst")
    if isinstance(recorded, bool):
        return parse_times(values, column, recorded)[0]
    first, _, order = parse_times(values, column)
    if order is not None or pd.api.types.is_datetime64_any_dtype(values):
        return first
    try:
        other = parse_times(values, column, dayfirst=True)[0]
    except DataError:
        return first
    if other.equals(first):
        return first
    reach = {key: _reach(model, ids, times, _max_steps(meta)) for key, times in (("m", first), ("d", other))}
    return other if reach["d"] is not None and (reach["m"] is None or reach["d"] < reach["m"]) else first


def _reach(model: Any, ids: pd.Series, ds: pd.Series, limit: int) -> int | None:
    """The farthest step ahead among the rows, or None if one is not a future step of its series."""
    grid = model.future_grid(limit).assign(step=lambda g: g.groupby("unique_id").cumcount() + 1)
    steps = pd.DataFrame({"unique_id": ids, "ds": ds}).merge(grid, on=["unique_id", "ds"], how="left")["step"]
    return None if steps.isna().any() else int(steps.max())


def _inputs(model: Any) -> dict[str, str]:
    """Exogenous column in the model -> the user's column (the same name unless it was renamed)."""
    inputs = getattr(model, "inputs", None)
    return dict(inputs) if isinstance(inputs, dict) else {c: c for c in getattr(model, "exogenous", ())}


def unused_future(model: Any, meta: dict[str, Any], future: pd.DataFrame) -> str:
    """Why ``future`` rows are not used by a model without exogenous inputs (a warning to show);
    DataError when the rows are not this model's at all (no time column)."""
    time_column = str(meta["time_column"])
    if time_column not in future.columns:
        sample = ", ".join(map(str, list(future.columns)[:8]))
        raise DataError(f"the future rows have no time column '{time_column}' (their columns: {sample}): they "
                        "are not rows for this model, which uses no exogenous inputs anyway")
    return ("the model uses no exogenous inputs, so the future rows' values are not needed: forecasting the next "
            "steps of every series from the history alone (ignoring the future file)")


def unused_columns(model: Any, meta: dict[str, Any], columns: Iterable[Any]) -> list[str]:
    """Warnings (zero or one) for the columns of future rows the model does not read: they are ignored."""
    used = {str(meta["time_column"]), *([str(meta["series_id"])] if meta.get("series_id") else []),
            *_inputs(model).values()}
    extra = [str(c) for c in columns if str(c) not in used]
    if not extra:
        return []
    names = ", ".join(map(repr, extra[:8])) + (", ..." if len(extra) > 8 else "")
    if not _inputs(model):
        return [f"column(s) {names} ignored: the model uses no exogenous inputs, so a future row needs only its "
                f"time{' and series id' if meta.get('series_id') else ''}; the forecast comes from the history alone"]
    return [f"column(s) {names} ignored: the model does not use them (a future row needs "
            f"{', '.join(map(repr, sorted(used)))})"]


def written_times(model: Any, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``ds`` as text written the model's way (see :func:`~.times.time_format`): the same
    format for every answer of one model, whether or not its steps happen to fall at midnight."""
    pattern = time_format(str(model.freq), model.last.values())
    return table.assign(ds=pd.to_datetime(table["ds"]).dt.strftime(pattern))


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
    asked = list(dict.fromkeys(long["unique_id"]))
    forecast = model.forecast(steps, long if model.exogenous else None, ids=asked)
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
