"""Finalize: score the choice once on the untouched test window, then refit it on all the data.

The chosen recipe is fitted on every point but the last ``h`` of each series and forecasts those
``h`` points: that is the **test score**, measured on data no decision ever looked at (the
``tested_obj``). The same recipe is then refitted on *all* the data – the most recent points matter
most for a forecast – and that refit is what is shipped: its default forecast starts right after
the data's end. The artifact's ``meta`` carries, as plain JSON, what the dashboard and the API
need: the backtest table, the recent history and the default forecast for the plots.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automlops.core.fit import Artifact
from automlops.core.jsonable import jsonable
from automlops.forecasting.backtest import FORECAST_METRICS, naive_scale, score_table
from automlops.forecasting.data import first_few
from automlops.forecasting.ensemble import Recipe
from automlops.forecasting.forecaster import Forecaster
from automlops.forecasting.intervals import band_quantiles, normalised_errors
from automlops.forecasting.models import FORECAST_MODELS, Context
from automlops.forecasting.plots import figures
from automlops.search.engine import Choice, DecisionLog, Finalized
from automlops.search.trial_notes import warns

if TYPE_CHECKING:
    from automlops.forecasting.engine import ForecastingEngine

__all__ = ["build_forecaster", "finalize_recipe", "history_records"]

MAX_PLOTTED_SERIES = 10
MAX_LISTED_SERIES = 50
STOOD_IN = warns("the shipped model forecasts with Naive on")  # a member could not be fitted on some series


def build_forecaster(recipe: Recipe, long: pd.DataFrame, ctx: Context, season: int, h: int,
                     label: str, sources: Mapping[str, str] | None = None) -> Forecaster:
    """Fit every member of ``recipe`` on ``long`` and wrap them with their intervals (``sources``: the
    user's names of exogenous columns renamed in ``long``)."""
    members = [FORECAST_MODELS.get(c.model).fit(long, c.params, ctx) for c in recipe.members]
    quantiles = None
    if not recipe.native_intervals:
        f = recipe.frame
        quantiles = band_quantiles(normalised_errors(f["y"], f["yhat"], f["scale"], f["step"]))
    groups = long.groupby("unique_id", sort=False)
    scales = {str(uid): naive_scale(g.to_numpy(), season) for uid, g in groups["y"]}
    last = {str(uid): pd.Timestamp(v) for uid, v in groups["ds"].max().items()}
    floor = 0.0 if bool((long["y"] >= 0).all()) else None  # a never-negative target (see forecaster.py)
    return Forecaster(members, combine=recipe.combine, quantiles=quantiles, scales=scales, freq=ctx.freq,
                      last=last, horizon=h, label=label, weights=recipe.weights, sources=sources, floor=floor)


def _test_metrics(tested: Forecaster, engine: ForecastingEngine) -> dict[str, float]:
    """Forecast the test window from the rest and score it with every metric (+ coverage)."""
    fc = tested.forecast(engine.h, engine.test if tested.exogenous else None)
    frame = engine.test[["unique_id", "ds", "y"]].merge(fc, on=["unique_id", "ds"], how="left")
    scales = {uid: naive_scale(g.to_numpy(), engine.data.season) for uid, g in engine.rest.groupby(
        "unique_id", sort=False)["y"]}
    frame = frame.rename(columns={"yhat_lo_80": "lo80", "yhat_hi_80": "hi80", "yhat_lo_95": "lo95",
                                  "yhat_hi_95": "hi95"}).assign(fold=0, scale=lambda f: f["unique_id"].map(scales))
    return {k: float(v) for k, v in score_table(frame, FORECAST_METRICS).items()}


def _iso(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(ds=pd.to_datetime(frame["ds"]).dt.strftime("%Y-%m-%dT%H:%M:%S"))


def history_records(long: pd.DataFrame, h: int) -> list[dict[str, Any]]:
    """The recent past of the first few series, for the forecast plot."""
    keep = long["unique_id"].isin(list(long["unique_id"].unique()[:MAX_PLOTTED_SERIES]))
    n = min(200, max(4 * h, 120))
    recent = long[keep].groupby("unique_id", sort=False).tail(n)[["unique_id", "ds", "y"]]
    return list(jsonable(_iso(recent).to_dict(orient="records")))


def _meta(engine: ForecastingEngine, final: Forecaster, recipe: Recipe, default: pd.DataFrame | None) -> dict[str, Any]:
    data, ids = engine.data, list(final.series_ids)
    shown = default[default["unique_id"].isin(ids[:MAX_LISTED_SERIES])] if default is not None else None
    return jsonable({
        "kind": "forecasting", "task": "timeseries", "time_column": engine.time_column, "target": engine.target,
        "series_id": engine.series_id, "horizon": engine.h, "freq": data.freq, "freq_reason": data.freq_reason,
        "season": engine.season, "exogenous": list(data.inputs), "uses_exogenous": bool(final.exogenous),
        "time_dayfirst": data.dayfirst,
        "n_series": len(ids), "series_ids": ids[:MAX_LISTED_SERIES],
        "last_timestamps": {uid: ts.isoformat() for uid, ts in list(final.last.items())[:1000]},
        "backtest": list(recipe.records), "model": final.label, "model_detail": final.describe(),
        "metric": engine.metric, "history": history_records(data.long, engine.h),
        "forecast": [] if shown is None else _iso(shown).to_dict(orient="records"),
        "input_columns": list(engine.input_columns), "exogenous_example": _last_inputs(engine)})


def _last_inputs(engine: ForecastingEngine) -> dict[str, float]:
    """The first series' last exogenous values, under the user's column names (the API docs' example)."""
    data = engine.data
    if not data.exogenous:
        return {}
    last = data.long.groupby("unique_id", sort=False).tail(1).iloc[0]
    return {data.sources.get(c, c): float(last[c]) for c in data.exogenous}


def _files(meta: dict[str, Any]) -> dict[str, str]:
    figs = figures(meta)
    files = {f"{name}.html": fig.to_html(include_plotlyjs="cdn", full_html=True) for name, fig in figs.items()}
    files["backtest.csv"] = pd.DataFrame(meta["backtest"]).to_csv(index=False)
    return files


def finalize_recipe(engine: ForecastingEngine, choice: Choice, log: DecisionLog) -> Finalized:
    """Fit on all but the test window, score it, refit on everything, package the artifact."""
    recipe: Recipe = choice.recipe
    t0 = time.perf_counter()
    sources = engine.data.sources
    tested = build_forecaster(recipe, engine.rest, engine.ctx, engine.data.season, engine.h, choice.label, sources)
    metrics = _test_metrics(tested, engine)
    final = build_forecaster(recipe, engine.data.long, engine.ctx, engine.data.season, engine.h, choice.label,
                             sources)
    seconds = time.perf_counter() - t0
    log("result", f"test window (last {engine.h} point(s) of each series, never seen by the search): "
                  + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if np.isfinite(v))
                  + "; the shipped model is refitted on all the data")
    for member, fitted in zip(recipe.members, final.members, strict=True):
        if stand_ins := getattr(fitted, "stand_ins", ()):
            log("models", f"{STOOD_IN} {len(stand_ins)} series where {FORECAST_MODELS.get(member.model).label} could "
                          f"not be fitted ({first_few(stand_ins, 5)}): their history is too short for it or it failed there")
    if final.floor is not None:
        log("forecast", "the target is never negative in the data, so forecasts and interval bounds are clipped at "
                        "0 (a band reaching below zero would promise values the series never takes)")
    default = None
    if final.exogenous:
        log("forecast", "no default forecast stored: the model needs future values of "
                        f"{', '.join(final.inputs.values())}; give them to predict or forecast")
    else:
        default = final.forecast(engine.h)
    meta = _meta(engine, final, recipe, default)
    example = final.future_grid(1).rename(columns={"ds": engine.time_column, "unique_id": engine.series_id or "_"})
    artifact = Artifact("forecasting", final, meta=meta, tested_obj=tested, files=_files(meta))
    return Finalized(artifact, metrics, metrics[engine.metric], seconds,
                     input_example=example[[c for c in example.columns if c != "_"]].head(5))
