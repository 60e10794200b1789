"""A model's search space, read back without a study: recorded ranges and the sweeps built on them.

The zoo writes each search space as ordinary code (``s.float("learning_rate", 0.01, 0.3,
log=True)``), which Optuna runs against a trial. To learn the ranges *without* searching, the
space is run once against a :class:`RecordingTrial`: it answers every ``suggest_*`` call with the
chosen configuration's value (so conditional branches follow the chosen path) and records the
range asked for, as an Optuna distribution.

A **sweep** then walks each hyperparameter around its chosen value, the others fixed:

* on a **log** range (learning rates, regularisation strengths, tree counts) the values are
  spaced evenly in log10 within one decade either side (×10 and ÷10, clipped to the range): a
  step from 0.01 to 0.03 matters as much as one from 0.1 to 0.3;
* on a **linear** range, evenly within ±25 % of the range's width around the chosen value;
* **integers** are rounded (duplicates dropped); **categories** take every choice.

The chosen value is always one of the points, so each curve passes through the configuration the
search picked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from automlops.stability.types import Sweep

__all__ = ["RecordingTrial", "record_space", "sweep_for", "sweeps_from"]


class RecordingTrial:
    """Stands in for an Optuna trial: answers with the chosen values and records each distribution."""

    def __init__(self, chosen: Mapping[str, Any], prefix: str = "") -> None:
        self.chosen, self.prefix = dict(chosen), prefix
        self.distributions: dict[str, Any] = {}

    def _name(self, name: str) -> str:
        return name[len(self.prefix) + 2:] if self.prefix and name.startswith(self.prefix + "__") else name

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False, step: int = 1) -> int:
        import optuna.distributions as od

        key = self._name(name)
        self.distributions[key] = od.IntDistribution(int(low), int(high), log=log)
        return int(self.chosen.get(key, low))

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False,
                      step: float | None = None) -> float:
        import optuna.distributions as od

        key = self._name(name)
        self.distributions[key] = od.FloatDistribution(float(low), float(high), log=log)
        return float(self.chosen.get(key, low))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        import optuna.distributions as od

        key = self._name(name)
        self.distributions[key] = od.CategoricalDistribution(tuple(choices))
        return self.chosen.get(key, list(choices)[0])


def record_space(space: Callable[..., Any], chosen: Mapping[str, Any], prefix: str, *args: Any) -> dict[str, Any]:
    """The distributions ``space(Suggest(trial, prefix), *args)`` asks for, following ``chosen``'s branch."""
    from automlops.search.suggest import Suggest

    trial = RecordingTrial(chosen, prefix)
    space(Suggest(trial, prefix), *args)
    return trial.distributions


def _numeric_points(low: float, high: float, chosen: float, points: int, *, log: bool) -> list[float]:
    if log and low > 0 and chosen > 0:
        lo, hi = math.log10(max(low, chosen / 10)), math.log10(min(high, chosen * 10))
        raw = [10 ** (lo + (hi - lo) * i / (points - 1)) for i in range(points)]
    else:
        half = 0.25 * (high - low)
        lo, hi = max(low, chosen - half), min(high, chosen + half)
        raw = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
    scale = math.log10 if log and low > 0 and chosen > 0 else float
    step = abs(scale(raw[-1]) - scale(raw[0])) / max(points - 1, 1)
    nearest = min(range(points), key=lambda i: abs(scale(raw[i]) - scale(chosen)))
    if abs(scale(raw[nearest]) - scale(chosen)) < step / 2:
        raw[nearest] = chosen  # the curve passes through the chosen configuration...
    else:  # ...without losing an end of the range when the window was clipped
        raw.append(chosen)
    return raw


def sweep_for(name: str, dist: Any, chosen: Any, points: int) -> Sweep | None:
    """The :class:`Sweep` of one hyperparameter (``None`` when its range leaves nothing to sweep)."""
    import optuna.distributions as od

    if isinstance(dist, od.CategoricalDistribution):
        choices = tuple(dist.choices)
        if chosen not in choices:
            choices = (chosen, *choices)
        return Sweep(name, choices, chosen, categorical=True) if len(choices) >= 2 else None
    if chosen is None or isinstance(chosen, bool) or not isinstance(chosen, (int, float)):
        return None
    raw = _numeric_points(float(dist.low), float(dist.high), float(chosen), max(points, 2), log=bool(dist.log))
    if isinstance(dist, od.IntDistribution):
        values: tuple[Any, ...] = tuple(sorted({int(round(v)) for v in raw} | {int(chosen)}))
    else:  # round the others for people; the chosen value stays exact
        values = tuple(sorted({v if v == chosen else float(f"{v:.3g}") for v in raw}))
    return Sweep(name, values, chosen, log=bool(dist.log)) if len(values) >= 2 else None


def sweeps_from(distributions: Mapping[str, Any], chosen: Mapping[str, Any], points: int) -> list[Sweep]:
    """A sweep for every chosen hyperparameter whose range is known (in the space's order)."""
    out = []
    for name, dist in distributions.items():
        if name in chosen:
            sweep = sweep_for(name, dist, chosen[name], points)
            if sweep is not None:
                out.append(sweep)
    return out
