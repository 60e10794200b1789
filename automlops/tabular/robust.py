"""The tabular engine's significance tests and its *robust* model choice (``--select robust``).

The statistics live in :mod:`automlops.search.significance` (engine-agnostic); this module gives
them what only the tabular engine knows:

* with **cross-validation**, the fold scores of every trial are paired (same folds for every
  trial), and the Nadeau–Bengio correction needs ``n_test / n_train`` of one fold, measured on
  the engine's own splits (1/4 for 5-fold CV; for time-series splits, whose training windows grow,
  the mean validation size over the mean training size: an approximation, the correction was
  derived for random splits);
* with a **single holdout** (large tables), there is one score per model, so the test is a paired
  bootstrap over the validation rows, rescoring each model's out-of-fold predictions (stored in
  the study as the trial's payload) with the run's own metric, all resamples at once as weighted
  sums (:mod:`automlops.tabular.resampled_metrics`): milliseconds per model, no refit.

**Robust selection.** ``TabularEngine(select="robust")`` ships, among the single models not
significantly worse than the best, the one with the fewest tuned hyperparameters, then the
cheapest, then the steadiest (:func:`~automlops.search.significance.robust_pick`). An ensemble
suggested by the preset is then shipped only when it is *significantly* better than the best
single model: an ensemble is never the simple choice, it must earn its place. An ensemble the user
asked for explicitly is built as asked.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from automlops.core.metrics import get_metric, score
from automlops.errors import ConfigError
from automlops.search.engine import DecisionLog, TrialOutcome
from automlops.search.significance import (
    ALPHA,
    BootstrapScores,
    Comparison,
    FoldTest,
    SignificanceTest,
    bootstrap_p_value,
    robust_pick,
)
from automlops.tabular.evaluate import OutOfFold, decode_oof
from automlops.tabular.resampled_metrics import resampled_scores

if TYPE_CHECKING:
    from automlops.tabular.engine import TabularEngine

__all__ = ["SELECT_CHOICES", "OutOfFoldBootstrap", "check_select", "ensemble_earns_its_place", "pick",
           "significance_test"]

SELECT_CHOICES = ("best", "robust")
_UNIT = (0.0, 1.0)
METRIC_BOUNDS = {"accuracy": _UNIT, "balanced_accuracy": _UNIT, "f1": _UNIT, "f1_macro": _UNIT, "roc_auc": _UNIT,
                 "r2": (-math.inf, 1.0), "log_loss": (0.0, math.inf), "rmse": (0.0, math.inf),
                 "mae": (0.0, math.inf), "mape": (0.0, math.inf)}  # what a score can be: intervals are clipped
N_RESAMPLES = 1000


def check_select(select: str) -> None:
    """Refuse an unknown model-choice rule with the known ones."""
    if select not in SELECT_CHOICES:
        raise ConfigError(f"unknown model choice '{select}'; choose one of: {', '.join(SELECT_CHOICES)} (best: the "
                          "top validation score; robust: the simplest model statistically tied with it)")


def _fold_ratio(splits: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """``n_test / n_train`` of one fold, averaged over the splits."""
    n_val = float(np.mean([len(val) for _, val in splits]))
    return n_val / max(float(np.mean([len(tr) for tr, _ in splits])), 1.0)


def significance_test(engine: TabularEngine) -> SignificanceTest:
    """The engine's test: corrected t-test over its folds, or a bootstrap over a single holdout."""
    splits = engine.evaluator.splits
    if len(splits) >= 2 and not engine.evaluator.learning_curve:
        bounds = METRIC_BOUNDS.get(engine.problem.metric, (-math.inf, math.inf))
        return FoldTest(_fold_ratio(splits), n_folds=len(splits), bounds=bounds)
    return OutOfFoldBootstrap(engine)


class OutOfFoldBootstrap:
    """Paired bootstrap over the holdout rows, rescoring each outcome's out-of-fold predictions."""

    def __init__(self, engine: TabularEngine, *, n_resamples: int = N_RESAMPLES) -> None:
        self.problem, self.seed = engine.problem, engine.seed
        self.metric = get_metric(engine.problem.metric)
        self.y = engine.evaluator.y.to_numpy()
        self.rows = np.sort(engine.evaluator.splits[0][1])
        self.boot = BootstrapScores(len(self.rows), n_resamples=n_resamples, seed=engine.seed)
        self._oofs: dict[tuple[int, str], OutOfFold | None] = {}

    @property
    def name(self) -> str:
        return f"paired bootstrap over the {len(self.rows)} validation rows ({self.boot.n_resamples} resamples)"

    def _oof(self, outcome: TrialOutcome) -> OutOfFold | None:
        """The outcome's predictions in the order of ``self.rows``, or None if it has none for them."""
        key = (outcome.number, outcome.model)
        if key not in self._oofs:
            oof = decode_oof(outcome.payload, self.problem) if outcome.payload else None
            if oof is not None and np.array_equal(np.sort(oof.rows), self.rows):
                order = np.argsort(oof.rows, kind="stable")
                oof = OutOfFold(oof.rows[order], oof.folds[order], oof.pred[order],
                                None if oof.proba is None else oof.proba[order])
            else:
                oof = None
            self._oofs[key] = oof
        return self._oofs[key]

    def _scorer(self, oof: OutOfFold) -> Any:
        y, classes = self.y[self.rows], list(self.problem.classes)

        def scorer(idx: np.ndarray) -> float:
            try:
                return score(self.metric, y[idx], oof.pred[idx], None if oof.proba is None else oof.proba[idx], classes)
            except ValueError:  # e.g. a resample with a single class for ROC-AUC
                return math.nan

        return scorer

    def _resampled(self, outcome: TrialOutcome) -> tuple[np.ndarray, float] | None:
        """The outcome's scores on the shared resamples, and on all the validation rows."""
        oof = self._oof(outcome)
        if oof is None:
            return None
        key, scorer = (outcome.number, outcome.model), self._scorer(oof)
        batch = resampled_scores(self.metric.name, self.y[self.rows], oof.pred, oof.proba, self.problem.classes)
        resampled = self.boot.weighted(key, batch) if batch is not None else self.boot.scores(key, scorer)
        return resampled, scorer(np.arange(len(self.rows)))

    def interval(self, outcome: TrialOutcome) -> tuple[float, float]:
        found = self._resampled(outcome)
        if found is None or not np.isfinite(found[0]).any():
            return math.nan, math.nan
        low, high = np.nanpercentile(found[0], [2.5, 97.5])
        return float(low), float(high)

    def compare(self, a: TrialOutcome, b: TrialOutcome) -> Comparison | None:
        found_a, found_b = self._resampled(a), self._resampled(b)
        if found_a is None or found_b is None:
            return None
        observed = found_a[1] - found_b[1]
        return Comparison(bootstrap_p_value(found_a[0], found_b[0], observed), observed, observed, "paired bootstrap")


def pick(engine: TabularEngine, ranked: list[TrialOutcome] | Any, log: DecisionLog) -> TrialOutcome:
    """The robust choice among ``ranked`` single models (best first), with the reason logged."""
    choice, why = robust_pick(list(ranked), engine.significance_test())
    log("selection", f"robust choice: {why}")
    return choice


def ensemble_earns_its_place(engine: TabularEngine, ensemble: TrialOutcome, best: TrialOutcome,
                             log: DecisionLog) -> bool:
    """Robust mode: a preset's ensemble ships only if significantly better than the best single model."""
    test = engine.significance_test()
    result = test.compare(ensemble, best)
    maximize = engine.problem.direction == "maximize"
    ahead = result is not None and (result.difference > 0) == maximize and result.difference != 0
    if result is not None and ahead and result.p_value < ALPHA:
        log("selection", f"robust choice: {ensemble.model} is significantly better than {best.model} "
                         f"(p={result.p_value:.3f}, {test.name}), so the ensemble is shipped")
        return True
    why = "the test cannot compare them" if result is None else f"p={result.p_value:.2f}, {test.name}"
    log("selection", f"robust choice: {ensemble.model} is not significantly better than {best.model} ({why}); "
                     "the simpler single model is shipped")
    return False
