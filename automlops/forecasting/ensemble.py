"""Choosing what to ship: the best single model, or the average of the best few.

Forecast combination is one of the oldest reliable tricks in forecasting (the M competitions
keep confirming it): models that err in different directions partly cancel when averaged. Here it
is *measured*, not assumed: the backtest forecasts of the best ``k`` models (k = 2…the preset's
ensemble size) are combined by their **mean** and by their **median** (robust to one wild member),
each combination is scored on the same cut-offs, and an ensemble is shipped only if it backtests
better than the best single model. The combination costs no refit during the search: every
model's backtest forecasts are stored with its best trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automlops.forecasting.evaluate import Backtester
from automlops.forecasting.models import FORECAST_MODELS
from automlops.search.engine import Candidate, Choice, DecisionLog, TrialOutcome

__all__ = ["Recipe", "choose_recipe"]


@dataclass(frozen=True)
class Recipe:
    """What finalize fits: the member candidates and how their forecasts are combined."""

    members: tuple[Candidate, ...]
    combine: str  # "single" | "mean" | "median"
    frame: pd.DataFrame = field(repr=False)  # its backtest forecasts (conformal intervals are measured here)
    native_intervals: bool  # a single model with intervals of its own
    records: tuple[dict[str, Any], ...] = ()  # the backtest table (every model, and the ensemble if chosen)


def _options(top: Sequence[TrialOutcome], frames: dict[str, pd.DataFrame],
             bt: Backtester) -> list[tuple[float, float, str, int, pd.DataFrame]]:
    out = []
    for how in ("mean", "median"):
        for k in range(2 if how == "mean" else 3, len(top) + 1):
            frame = bt.combine([frames[o.model] for o in top[:k]], how)
            values = bt.fold_values(frame)
            out.append((float(np.mean(values)), float(np.std(values)), how, k, frame))
    return sorted(out, key=lambda o: o[0])


def choose_recipe(ranked: Sequence[TrialOutcome], bt: Backtester, size: int, log: DecisionLog) -> Choice:
    """Best single model or a mean/median ensemble of the top ``size`` models, whichever backtests better."""
    frames = {o.model: bt.decode(o.payload) for o in ranked if o.payload}
    usable = [o for o in ranked if o.model in frames]
    best = usable[0]
    records = [bt.record(o.model, frames[o.model]) for o in usable]
    options = _options(usable[:size], frames, bt) if len(usable) > 1 else []
    if options and options[0][0] < best.value:
        value, std, how, k, frame = options[0]
        members = usable[:k]
        names = [o.model for o in members]
        log("ensemble", f"the {how} of the {k} best models ({', '.join(names)}) backtests at {value:.4f}, better "
                        f"than the best single model {best.model} ({best.value:.4f}): shipping the ensemble; "
                        "its intervals are conformal (from its backtest errors)")
        record = bt.record(f"ensemble ({how})", frame)
        params = {"combine": how, "members": [{"model": o.model, **dict(o.params)} for o in members]}
        recipe = Recipe(tuple(o.candidate for o in members), how, frame, False, (record, *records))
        row = {"model": "ensemble", "score": value, "std": std, "fit_seconds": sum(o.fit_seconds for o in members),
               "predict_seconds": sum(o.predict_seconds for o in members), "trials": 0, "pruned": 0, "failed": 0,
               "best_trial": None, "params": params}
        return Choice("ensemble", params, value, std, recipe=recipe, extra_rows=(row,))
    if options:
        log("ensemble", f"no mean/median of the best models beat {best.model} on the backtest "
                        f"(best combination {options[0][0]:.4f} vs {best.value:.4f}): shipping the single model")
    frame = frames[best.model]
    native = FORECAST_MODELS.get(best.model).family == "statistical"  # those give intervals of their own
    how_intervals = "its own" if native else "conformal (from its backtest errors)"
    log("result", f"best model: {best.model} with {dict(best.params)} (backtest {bt.metric.name} {best.value:.4f}); "
                  f"intervals: {how_intervals}")
    recipe = Recipe((best.candidate,), "single", frame, native, tuple(records))
    return Choice(best.model, dict(best.params), best.value, best.std, recipe=recipe)

