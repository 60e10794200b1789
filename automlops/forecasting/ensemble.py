"""Choosing what to ship: the best single model, or the average of the best few.

Forecast combination is one of the oldest reliable tricks in forecasting (the M competitions
keep confirming it): models that err in different directions partly cancel when averaged. Here it
is *measured*, not assumed: the backtest forecasts of the best ``k`` models (k = 2…the preset's
ensemble size) are combined by their **mean** and by their **median** (robust to one wild member),
each combination is scored on the same cut-offs, and an ensemble is shipped only if it backtests
better than the best single model. The combination costs no refit during the search: every
model's backtest forecasts are stored with its best trial.

**The default is the combination of the statistical models.** The mean of AutoETS, AutoARIMA and
AutoTheta (each as the search found it best) is the M4 competition's "comb" benchmark, which beats
each of its members on average. A backtest of three to six cut-offs is noisy, and the best of many
tuned candidates looks better there than it will be (the *winner's curse*: forty lag-model trials
are forty draws of that noise). So another option – a single model or a top-k ensemble – replaces
the combination only when it backtests at least ``MARGIN`` (10 %) better than it. Measured on the
benchmark series (history only for the choice, the test windows for the check): this lowered the
geometric mean of test MASE relative to the best single Auto* model in every run tried; a 5 %
margin did about the same, 20 % worse.

A mean can be 10 % better because of one lucky cut-off. So the gain must also be **larger than its
standard error**, measured cut-off by cut-off against the combination (the one-standard-error rule
the anomaly engine's replay uses as well): ``gain_k = score_comb(k) - score_option(k)`` for every
cut-off ``k``, and the option replaces the combination only if ``mean(gain) > sd(gain) / sqrt(K)``.
Replayed on the same searches (each rule applied to the same candidates, then scored on the test
windows): on the nine benchmark series it changed one choice (macrodata realgdp: a lag-model blend
10 % better on average but better on only 3 of 5 cut-offs; test MASE 2.39 -> 2.07), on eleven more
series from R's datasets (nottem, UKgas, lynx, ...) none; a stricter "better at every cut-off" rule
helped the nine and hurt the eleven.

Why not weights fitted on the backtest (Caruana's greedy ensemble selection)? It was measured on the
benchmark series: with a handful of cut-offs the weights fit the backtest's noise, and the plain
mean of the top models did better on the untouched test windows (the "forecast combination
puzzle" of the literature).

**What is shipped must fit in the time left.** Finalizing fits every member twice (on all but the test
window for the test score, then on all the data for the forecast) and nothing can be skipped: a model not
refitted on the latest points would forecast the wrong dates. A slow member found late in the search
(AutoARIMA with a season of 12 on 500 months: ~4.5 s a fit) can need more than what is left; the choice
then drops the costliest member of what it would ship, and chooses again among the rest, until the
finalize fits. On co2 at 30 s this kept the run at ~27 s instead of 36 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automlops.forecasting.evaluate import Backtester
from automlops.forecasting.models import FORECAST_MODELS
from automlops.search.engine import Candidate, Choice, DecisionLog, TrialOutcome
from automlops.search.trial_notes import warns

__all__ = ["COMB_MISSING", "MARGIN", "STATISTICAL_COMB", "Recipe", "choose_recipe", "comb_members", "comb_missing_note",
           "finalize_seconds"]

MARGIN = 0.10  # how much better (relative) than the statistical combination another option must backtest
STATISTICAL_COMB = ("auto_ets", "auto_arima", "auto_theta")
COMB_MISSING = warns("the combination of the statistical models (the default forecast) could not be formed")
FINALIZE_FITS = 2.5  # two fits and forecasts per member, on a little more data than a backtest fold had


def _fold_seconds(member: TrialOutcome) -> float:
    """One backtest fold of this model: its mean fit plus forecast time."""
    return member.fit_seconds + member.predict_seconds


def finalize_seconds(members: Sequence[TrialOutcome]) -> float:
    """Expected seconds to finalize a recipe of ``members`` (from their mean backtest fold times)."""
    return FINALIZE_FITS * sum(_fold_seconds(o) for o in members) + 0.6


@dataclass(frozen=True)
class Recipe:
    """What finalize fits: the member candidates and how their forecasts are combined."""

    members: tuple[Candidate, ...]
    combine: str  # "single" | "mean" | "median" | "weighted"
    frame: pd.DataFrame = field(repr=False)  # its backtest forecasts (conformal intervals are measured here)
    native_intervals: bool  # a single model with intervals of its own
    records: tuple[dict[str, Any], ...] = ()  # the backtest table (every model, and the ensemble if chosen)
    weights: tuple[float, ...] = ()  # for "weighted": one per member, summing to 1


@dataclass(frozen=True)
class _Option:
    how: str
    members: tuple[TrialOutcome, ...]
    weights: tuple[float, ...]
    frame: pd.DataFrame = field(repr=False)
    value: float
    std: float

    @property
    def text(self) -> str:
        return f"the {self.how} of the {len(self.members)} best models ({', '.join(o.model for o in self.members)})"


def _option(how: str, members: Sequence[TrialOutcome], frames: dict[str, pd.DataFrame], bt: Backtester,
            weights: Sequence[float] = ()) -> _Option:
    frame = bt.combine([frames[o.model] for o in members], how, weights)
    values = bt.fold_values(frame)
    return _Option(how, tuple(members), tuple(weights), frame, float(np.mean(values)), float(np.std(values)))


def _options(ranked: Sequence[TrialOutcome], frames: dict[str, pd.DataFrame], bt: Backtester,
             size: int) -> list[_Option]:
    top = list(ranked[:size])
    out = [_option("mean", top[:k], frames, bt) for k in range(2, len(top) + 1)]
    out += [_option("median", top[:k], frames, bt) for k in range(3, len(top) + 1)]
    return sorted(out, key=lambda o: o.value)


def comb_members(ranked: Sequence[TrialOutcome]) -> list[TrialOutcome]:
    """The best trial of each statistical model of the combination (AutoETS, AutoARIMA, AutoTheta) present."""
    return [o for o in ranked if o.model in STATISTICAL_COMB]


def comb_missing_note(searched: Sequence[str], ranked: Sequence[TrialOutcome], budget: float | None) -> str | None:
    """Why the default combination is missing, when at least two of its models were searched but fewer than
    two finished a trial (``None`` otherwise). On long series AutoETS and AutoARIMA need more than a short
    budget gives them (1,447 daily temperatures at 20 s: both stopped at the deadline, and a lag-model blend
    with half again Naive's error shipped in silence; at 60 s the combination formed and matched statsforecast's)."""
    members = [m for m in STATISTICAL_COMB if m in searched]
    finished = {o.model for o in ranked}
    missing = [m for m in members if m not in finished]
    if len(members) < 2 or len(members) - len(missing) >= 2:
        return None
    cure = f"a --time-budget longer than {budget:g} s lets them finish" if budget else "see the leaderboard"
    return (f"{COMB_MISSING}: {', '.join(missing)} finished no trial (stopped at the time budget's deadline, or "
            f"failed: see the leaderboard), so the best of the other models ships; {cure}")


def _comb_option(usable: Sequence[TrialOutcome], frames: dict[str, pd.DataFrame], bt: Backtester) -> _Option | None:
    members = comb_members(usable)
    return _option("mean", members, frames, bt) if len(members) >= 2 else None


def _ensemble_choice(best: _Option, single: TrialOutcome, records: list[dict[str, Any]], bt: Backtester,
                     log: Callable[[str, str], None], why: str | None = None) -> Choice:
    log("ensemble", why or f"{best.text} backtests at {best.value:.4f}, better than the best single model "
                           f"{single.model} ({single.value:.4f}): shipping the ensemble; its intervals are conformal "
                           "(from its backtest errors)")
    record = bt.record(f"ensemble ({best.how})", best.frame)
    params: dict[str, Any] = {"combine": best.how,
                              "members": [{"model": o.model, **dict(o.params)} for o in best.members]}
    if best.weights:
        params["weights"] = list(best.weights)
    recipe = Recipe(tuple(o.candidate for o in best.members), best.how, best.frame, False, (record, *records),
                    best.weights)
    label = f"ensemble({', '.join(o.model for o in best.members)})"  # as a tabular or anomaly ensemble is named
    row = {"model": label, "score": best.value, "std": best.std,
           "fit_seconds": sum(o.fit_seconds for o in best.members),
           "predict_seconds": sum(o.predict_seconds for o in best.members), "trials": 0, "pruned": 0, "failed": 0,
           "best_trial": single.number, "params": params}
    return Choice(label, params, best.value, best.std, recipe=recipe, extra_rows=(row,))


class _HeldBack(list[tuple[str, str]]):
    """Decisions kept until the choice is final: a choice redone for time should not speak twice."""

    def __call__(self, topic: str, message: str) -> None:
        self.append((topic, message))


def choose_recipe(ranked: Sequence[TrialOutcome], bt: Backtester, size: int, log: DecisionLog,
                  seconds_left: float = math.inf) -> Choice:
    """Best single model or an ensemble of the best models, whichever backtests better, among the
    models whose finalize fits in ``seconds_left`` (see the module docstring)."""
    frames = {o.model: bt.decode(o.payload) for o in ranked if o.payload}
    usable = [o for o in ranked if o.model in frames]
    records = [bt.record(o.model, frames[o.model]) for o in usable]  # the backtest table keeps every model
    left_out: list[TrialOutcome] = []
    while True:
        said = _HeldBack()
        choice = _choose(usable, frames, records, bt, size, said)
        shipped = [o for o in usable if o.model in {c.model for c in choice.recipe.members}]
        if len(usable) == 1 or finalize_seconds(shipped) <= seconds_left:
            break
        costliest = max(shipped, key=_fold_seconds)
        left_out.append(costliest)
        usable = [o for o in usable if o is not costliest]
    if left_out:
        log("budget", "left out for time: " + ", ".join(
            f"{o.model} (~{FINALIZE_FITS * _fold_seconds(o):.1f} s to fit for the test window "
            "and again on all the data)" for o in left_out)
            + f"; {max(seconds_left, 0.0):.1f} s of the time budget were left for the final fits")
    for topic, message in said:
        log(topic, message)
    return choice


def _fold_gains(comb: _Option, frame: pd.DataFrame, bt: Backtester) -> np.ndarray:
    """How much better ``frame`` backtests than the combination at each cut-off (positive: better)."""
    return np.asarray(bt.fold_values(comb.frame), dtype=float) - np.asarray(bt.fold_values(frame), dtype=float)


def _gain_over(comb: _Option, frame: pd.DataFrame, bt: Backtester) -> tuple[float, float]:
    """The mean of :func:`_fold_gains` and its standard error (0 with a single cut-off, where it cannot be
    measured and the margin alone decides)."""
    gain = _fold_gains(comb, frame, bt)
    error = float(gain.std(ddof=1) / math.sqrt(len(gain))) if len(gain) > 1 else 0.0
    return float(gain.mean()), error


def _leader(options: Sequence[_Option], best: TrialOutcome,
            frames: dict[str, pd.DataFrame]) -> tuple[bool, float, pd.DataFrame]:
    """The best alternative to the combination: whether it is an ensemble of the top models (rather than
    the best single one), its backtest score and its backtest forecasts."""
    if options and options[0].value < best.value:
        return True, options[0].value, options[0].frame
    return False, best.value, frames[best.model]


def _choose(usable: Sequence[TrialOutcome], frames: dict[str, pd.DataFrame], records: list[dict[str, Any]],
            bt: Backtester, size: int, log: Callable[[str, str], None]) -> Choice:
    best = usable[0]
    options = _options(usable, frames, bt, size) if len(usable) > 1 else []
    comb = _comb_option(usable, frames, bt)
    ensemble_leads, leader, leader_frame = _leader(options, best, frames)
    if comb is not None:
        gain, error = _gain_over(comb, leader_frame, bt)
        if leader > (1 - MARGIN) * comb.value or gain <= error:
            names = ", ".join(o.model for o in comb.members)
            short = (f"is not at least {MARGIN:.0%} better" if leader > (1 - MARGIN) * comb.value else
                     f"is {MARGIN:.0%} better on average, but its gain per cut-off ({gain:.4f}) is not larger than "
                     f"its standard error ({error:.4f})")
            why = (f"the mean of {names} backtests at {comb.value:.4f}; the best alternative ({leader:.4f}) {short}, "
                   f"and a backtest of {bt.n_steps} cut-off(s) cannot separate them reliably: shipping the "
                   "combination of the statistical models (the M4 'comb' benchmark; its intervals are conformal, "
                   "from its backtest errors)")
            return _ensemble_choice(comb, best, records, bt, log, why)
        noise = (f"standard error {error:.4f}" if bt.n_steps > 1 else
                 "one cut-off: the gain's noise cannot be measured, so the margin alone decides")
        log("ensemble", f"the best option backtests at {leader:.4f}, more than {MARGIN:.0%} better than the "
                        f"combination of the statistical models ({comb.value:.4f}), by {gain:.4f} per cut-off "
                        f"({noise}): it replaces the combination")
    if ensemble_leads:
        return _ensemble_choice(options[0], best, records, bt, log)
    if options:
        log("ensemble", f"no combination of the best models beat {best.model} on the backtest "
                        f"(best combination {options[0].value:.4f} vs {best.value:.4f}): shipping the single model")
    frame, native = _intervals_for(best.model, frames[best.model], bt)
    how_intervals = "its own" if native else "conformal (from its backtest errors)"
    log("result", f"best model: {best.model} with {dict(best.params)} (backtest {bt.metric.name} {best.value:.4f}); "
                  f"intervals: {how_intervals}")
    recipe = Recipe((best.candidate,), "single", frame, native, tuple(records))
    return Choice(best.model, dict(best.params), best.value, best.std, recipe=recipe)


def _miscoverage(frame: pd.DataFrame) -> float:
    """How far a backtest's interval coverage is from 80 % and 95 % (0 is perfectly calibrated)."""
    inside = {level: ((frame["y"] >= frame[f"lo{level}"]) & (frame["y"] <= frame[f"hi{level}"])).mean()
              for level in (80, 95)}
    return float(abs(inside[80] - 0.80) + abs(inside[95] - 0.95))


def _intervals_for(model: str, frame: pd.DataFrame, bt: Backtester) -> tuple[pd.DataFrame, bool]:
    """A statistical model's own intervals, unless conformal ones were better calibrated on the backtest."""
    if FORECAST_MODELS.get(model).family != "statistical" or "lo80" not in frame.columns:
        return frame, False
    conformal = bt.combine([frame], "mean")
    if _miscoverage(conformal) < _miscoverage(frame):
        return conformal, False
    return frame, True
