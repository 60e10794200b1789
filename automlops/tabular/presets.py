"""Presets: ready-made trade-offs between speed and quality, stored as plain data.

* ``fast``   – ~15 trials over light models (linear, k-NN, trees, random forest): a first answer
  in seconds. It validates with one holdout split from 1,000 rows up; below that it uses 5-fold CV
  anyway, because a holdout of a few dozen rows is noise (a tree scoring a "perfect" log-loss on
  24 iris rows scored 3.1 on the test rows).
* ``medium`` (the default) – ~40 trials, adds gradient boosting (LightGBM, CatBoost, XGBoost, HistGB); then a
  weighted ensemble of the best model of each family, its weights learned by Caruana's ensemble
  selection on the out-of-fold predictions (what AutoGluon does), kept when it beats the best
  single model there.
* ``best``   – spends the whole time budget over every model, then stacks the top models.

A time budget always wins: when one is given the search runs until the budget (less the time
kept for refitting and saving) is spent, and the preset's trial count becomes a floor only in
spirit — a budget is a promise about wall time.
"""

from __future__ import annotations

from dataclasses import dataclass

from automlops.core.registry import Registry

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    name: str
    n_trials: int | None
    time_budget: float | None
    light_only: bool
    validation: str
    ensemble: str  # none | voting | stacking
    ensemble_top_k: int
    description: str


PRESETS: Registry[Preset] = Registry("preset")
PRESETS.add("fast", Preset("fast", 15, None, True, "auto", "none", 0,
                           "light models, 15 trials (or until the time budget, if you set one); one holdout split from "
                           "1,000 rows up: seconds"))
PRESETS.add("medium", Preset("medium", 40, None, False, "auto", "weighted", 6,
                             "every model including gradient boosting, 40 trials (or until the time budget, if you "
                             "set one), cross-validation where the budget affords it, and a weighted ensemble of "
                             "the best models when it beats the best one"))
PRESETS.add("best", Preset("best", None, 120.0, False, "auto", "stacking", 3,
                           "every model until the time budget runs out, then a stack of the top 3"))


def get_preset(name: str) -> Preset:
    return PRESETS.get(name)
