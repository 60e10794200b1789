"""The shipped object: a fitted :class:`Forecaster` that forecasts the steps after the data's end.

It wraps one fitted model – or several whose forecasts are averaged (an *ensemble*: errors of
different models partly cancel) – with what it needs to answer on its own after being saved and
loaded in another process: the frequency, each series' last timestamp, the exogenous columns the
models need for future steps (``sources`` names the user's column behind one renamed in the long
table, such as an input called ``ds``), and the conformal interval quantiles measured on the backtest.

A target that is never negative in the data (sales, counts, sunspots) gets a **floor** at 0: its
forecasts and interval bounds are clipped there. A symmetric band around a forecast near zero
otherwise reaches below it, promising values the series has never taken (a 95 % band of -40 to 120
sunspots); the clipped band still holds every value the series can take, so its coverage is unchanged.

Each series is forecast from its own past (and its own future exogenous values), so a forecast can
be asked for some series only (``ids``): the others need no future values then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import ConfigError, DataError
from automlops.forecasting.intervals import add_bands, combine_forecasts, order_intervals
from automlops.forecasting.models import FittedModel

__all__ = ["FORECAST_COLUMNS", "Forecaster"]

FORECAST_COLUMNS = ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


class Forecaster:
    """A fitted forecaster (single model or mean/median ensemble) with 80 % and 95 % intervals."""

    def __init__(self, members: Sequence[FittedModel], *, combine: str, quantiles: Mapping[int, float] | None,
                 scales: Mapping[str, float], freq: str, last: Mapping[str, pd.Timestamp], horizon: int,
                 label: str, weights: Sequence[float] = (), sources: Mapping[str, str] | None = None,
                 floor: float | None = None) -> None:
        self.members, self.combine, self.label = list(members), combine, label
        self.weights = tuple(float(w) for w in weights)
        self.quantiles = None if quantiles is None else dict(quantiles)
        self.scales, self.freq, self.horizon = dict(scales), freq, int(horizon)
        self.last = {str(k): pd.Timestamp(v) for k, v in last.items()}
        self.exogenous: tuple[str, ...] = tuple(dict.fromkeys(
            c for m in self.members for c in getattr(m, "exogenous", ())))
        self.sources = dict(sources or {})
        self.floor = floor  # the least value a forecast or bound may take (0 for a never-negative target)

    @property
    def series_ids(self) -> list[str]:
        return list(self.last)

    @property
    def inputs(self) -> dict[str, str]:
        """Each exogenous column of the long table -> the user's column it is read from."""
        sources = getattr(self, "sources", {})  # forecasters saved before inputs could be renamed have none
        return {c: sources.get(c, c) for c in self.exogenous}

    def future_grid(self, h: int, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """``unique_id, ds`` of the ``h`` steps after each series' last timestamp (of ``ids`` only if given)."""
        parts = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range(end, periods=h + 1, freq=self.freq)[1:]})
                 for uid, end in self.last.items() if ids is None or uid in ids]
        return pd.concat(parts, ignore_index=True)

    def _future(self, h: int, future: pd.DataFrame | None, ids: Sequence[str] | None) -> pd.DataFrame | None:
        """The exogenous values for every future step of the series forecast, checked (None when no model
        uses any)."""
        if not self.exogenous:
            return None
        names = ", ".join(self.inputs.values())
        if future is None:
            raise DataError(f"the model uses exogenous column(s) {names}: give their future "
                            f"values for the {h} step(s) after the data's end")
        missing = [self.inputs.get(c, c) for c in ("unique_id", "ds", *self.exogenous) if c not in future.columns]
        if missing:
            raise DataError(f"future values lack column(s) {', '.join(missing)}")
        grid = self.future_grid(h, ids).merge(future[["unique_id", "ds", *self.exogenous]].drop_duplicates(
            ["unique_id", "ds"]), on=["unique_id", "ds"], how="left")
        holes = grid[grid[list(self.exogenous)].isna().any(axis=1)]
        if len(holes):
            first = holes.iloc[0]
            raise DataError(f"exogenous value(s) {names} missing for series '{first['unique_id']}'"
                            f" at {pd.Timestamp(first['ds']).isoformat()} ({len(holes)} future step(s) lack them); "
                            "recursive forecasts need every step up to the last one asked")
        return grid

    def forecast(self, h: int | None = None, future: pd.DataFrame | None = None,
                 ids: Sequence[str] | None = None) -> pd.DataFrame:
        """The next ``h`` steps of every series (or of ``ids``; default: the trained horizon), with intervals."""
        steps = self.horizon if h is None else int(h)
        if steps < 1:
            raise ConfigError(f"the horizon must be at least 1 step, not {steps}")
        asked = None if ids is None else [str(i) for i in dict.fromkeys(ids)]
        fut = self._future(steps, future, asked)
        preds = [_only(_predict(m, steps, fut, asked), asked) for m in self.members]
        out = preds[0][["unique_id", "ds"]].copy()
        stack = np.column_stack([p["yhat"].to_numpy(dtype=float) for p in preds])
        out["yhat"] = combine_forecasts(stack, self.combine, self.weights)
        if self.quantiles is None:
            for col in FORECAST_COLUMNS[3:]:
                out[col] = preds[0][col].to_numpy(dtype=float)
            out = order_intervals(out)
        else:
            out = add_bands(out, self.quantiles, self.scales)
        floor = getattr(self, "floor", None)  # forecasters saved before floors existed have none
        if floor is not None:
            out[FORECAST_COLUMNS[2:]] = out[FORECAST_COLUMNS[2:]].clip(lower=floor)
        out["unique_id"] = out["unique_id"].astype(str)
        return out[FORECAST_COLUMNS].reset_index(drop=True)

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (for logs and meta)."""
        return {"label": self.label, "combine": self.combine, "members": len(self.members),
                "intervals": "model" if self.quantiles is None else "conformal", "exogenous": list(self.exogenous),
                "floor": getattr(self, "floor", None)}


def _predict(member: FittedModel, h: int, future: pd.DataFrame | None, ids: list[str] | None) -> pd.DataFrame:
    """A member's forecast, for ``ids`` only where it can (the lag models: a recursive forecast of a few
    series needs only their future values); the statistical models forecast every series cheaply."""
    if ids is not None and hasattr(member, "fc"):
        return member.predict(h, future, ids=ids)  # type: ignore[call-arg]
    return member.predict(h, future)


def _only(pred: pd.DataFrame, ids: list[str] | None) -> pd.DataFrame:
    """The rows of ``ids`` (all if None), sorted by series and time."""
    if ids is not None:
        pred = pred[pred["unique_id"].astype(str).isin(ids)]
    return pred.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
