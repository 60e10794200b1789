"""After the search: choose what to ship, and what that will cost.

* **choose** – the best single model, or an ensemble of the best models when asked (or when the
  preset's ensemble beats the best model *out of fold*: the members' out-of-fold predictions,
  read back from the study, are combined exactly as the ensemble would combine them, so the
  comparison costs no refit). The best trial of each model may come from any worker of the study.
  An ensemble whose fits would overrun the time budget is cut down or skipped, and ``decisions``
  says so.
* **tail_seconds** – while the search runs, what the work after it would cost if it stopped now
  (the fits for the test score, the refit on all rows, the save), so the time budget keeps it back.

Fitting the choice, its one test and the refit on all rows are in :mod:`.final_fit`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from automlops.core.metrics import get_metric
from automlops.core.problem import TaskType
from automlops.errors import ConfigError
from automlops.search.budget import TimeBudget
from automlops.search.engine import Candidate, Choice, DecisionLog, TrialOutcome
from automlops.search.significance import outcome_from_row
from automlops.tabular import calibration, robust
from automlops.tabular import ensemble as ens
from automlops.tabular.boosting_size import (
    LEAF_SAVE_SECONDS,
    catboost_tree_save_seconds,
    fitted_leaves_per_tree,
)
from automlops.tabular.evaluate import (
    OutOfFold,
    boosters,
    decode_oof,
    encode_oof,
    trees_of,
    trees_per_round,
)
from automlops.tabular.zoo import get_model
from automlops.tabular.zoo_boosting import BOOSTED_TREE_SAVE, HIST_GB_TREE_SAVE

if TYPE_CHECKING:
    from automlops.tabular.engine import TabularEngine

__all__ = ["SelectionPlan", "all_rows_ratio", "boosted_save_seconds", "choose", "tail_seconds", "train_rows_ratio"]


def _better(engine: TabularEngine, a: float, b: float) -> bool:
    return a > b if engine.problem.direction == "maximize" else a < b


def train_rows_ratio(engine: TabularEngine) -> float:
    """How many more rows a fit on all training rows sees than a trial's fit (one fold's training part)."""
    fold_rows = np.mean([len(train) for train, _ in engine.evaluator.splits])
    return len(engine.evaluator.y) / max(float(fold_rows), 1.0)


def _fit_seconds(engine: TabularEngine, members: Sequence[TrialOutcome], kind: str) -> float:
    """Expected time to fit ``members`` on all training rows (stacking refits them per inner fold)."""
    seconds = sum(o.fit_seconds + o.predict_seconds for o in members) * train_rows_ratio(engine)
    return seconds * (1 + ens.STACKING_CV if kind == "stacking" else 1)


def _save_seconds(engine: TabularEngine, members: Sequence[TrialOutcome]) -> float:
    """Expected time to save the final model: some models cost per sub-model (a forest's trees, a
    boosted model's trees: the rounds early stopping kept in the trial, one tree per class each).
    Each member is written once, however many attributes of an ensemble hold it (mlops/_skops_refs.py)."""
    per_round = trees_per_round(len(engine.problem.classes))
    seconds = 0.0
    for o in members:
        rounds = engine.rounds_by_trial.get(o.number)
        count = rounds * per_round if rounds else float(o.params.get("n_estimators", 0))
        seconds += get_model(o.model).save_seconds_per_estimator * count
    return seconds


@dataclass
class SelectionPlan:
    """The members ensemble selection would keep if the search stopped now, refreshed as trials finish.

    The time budget keeps back what the post-search work will cost. For a weighted ensemble that
    depends on *which* models the selection keeps (often one or two, sometimes a slow forest), so
    the selection is re-run on the current out-of-fold predictions when the pool has changed, at
    most once every ``every`` seconds (it takes ~0.1-1 s on 20k rows); in between the last answer
    stands. Planning for "the top three" instead left up to a fifth of the budget unused.
    """

    every: float = 2.0
    key: tuple[int, ...] = ()
    members: tuple[int, ...] = ()  # trial numbers
    at: float = -float("inf")
    oofs: dict[int, OutOfFold] = field(default_factory=dict)

    def members_of(self, engine: TabularEngine, pool: list[TrialOutcome]) -> list[TrialOutcome]:
        pool = [o for o in pool if o.payload is not None]
        key = tuple(o.number for o in pool)
        if len(pool) >= 2 and key != self.key and time.monotonic() - self.at >= self.every:
            self.oofs = self.decoded(engine, pool)
            self.members = tuple(o.number for o, _ in _select_weights(engine, pool, self.oofs))
            self.key, self.at = key, time.monotonic()
        by_number = {o.number: o for o in pool}
        planned = [by_number[n] for n in self.members if n in by_number]
        # a member whose trial was beaten since by a better one of its model: plan for the newer trial
        return planned or pool[:1]

    def decoded(self, engine: TabularEngine, pool: Sequence[TrialOutcome]) -> dict[int, OutOfFold]:
        """The out-of-fold predictions of ``pool``'s trials, decoded once per trial."""
        return {o.number: self.oofs.get(o.number) or decode_oof(str(o.payload), engine.problem)
                for o in pool if o.payload is not None}


def tail_seconds(engine: TabularEngine, ranked: Sequence[TrialOutcome]) -> float:
    """Time the post-search work would need if the search stopped now: fit(s) for the test, the
    refit on all rows, and the final save.

    A model the search kept fitted (one holdout split: :class:`~.evaluate.KeptModels`) scores the
    test rows without a second fit, for the best single model and for each member of a vote. The
    kept models no plan needs are let go here, as the plan changes.
    """
    single = _fit_seconds(engine, ranked[:1], "none")
    # the best trial's own model scores the test rows when it was kept (one holdout split): no fit
    scored = 0.0 if engine.kept.get(ranked[0].candidate) is not None else single
    refit, save = single, _save_seconds(engine, ranked[:1])
    config = engine.ensemble_config
    needed = {ranked[0].model}
    if config.kind != "none":
        if config.kind == "weighted" and not config.members:
            members = engine.selection_plan.members_of(engine, _members(engine, ranked))
        else:
            members = list(ranked[: config.top_k])
        needed |= {o.model for o in members}
        blend = _fit_seconds(engine, members, config.kind)
        if blend > refit:  # an ensemble's members are fitted anew, but for the ones a vote can reuse
            refit = blend
            reuses = config.kind != "stacking" and config.voting != "hard"  # see blend_refit.reusable
            fresh = [o for o in members if not reuses or engine.kept.get(o.candidate) is None]
            scored = _fit_seconds(engine, fresh, config.kind)
        save = max(save, _save_seconds(engine, members))
    engine.kept.retain(needed)
    return scored + (refit * all_rows_ratio(engine) if engine.refit_full else 0.0) + save


def all_rows_ratio(engine: TabularEngine) -> float:
    """How many more rows the refit on train + test rows sees than a fit on the training rows."""
    return (len(engine.X) + len(engine.test)) / max(len(engine.X), 1)


def choose(engine: TabularEngine, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: TimeBudget) -> Choice:
    """The best single model, or an ensemble of the top models (see the module docstring); then the
    temperature its probabilities get, if the metric scores confidence (:mod:`.calibration`)."""
    choice = _choose(engine, ranked, log, budget)
    engine.temperature = _temperature(engine, choice, ranked, log)
    return choice


def _temperature(engine: TabularEngine, choice: Choice, ranked: Sequence[TrialOutcome],
                 log: DecisionLog) -> float | None:
    """Fit a temperature on the chosen model's out-of-fold probabilities; None when it does not apply
    (a metric of labels or order, too few rows) or does not lower their log-loss."""
    problem = engine.problem
    if problem.task is not TaskType.CLASSIFICATION or not get_metric(problem.metric).scores_confidence:
        return None
    if isinstance(choice.recipe, Candidate):
        payload = next((o.payload for o in ranked if o.candidate == choice.recipe), None)
    else:
        payload = next((row.get("payload") for row in choice.extra_rows if row.get("model") == choice.label), None)
    oof = decode_oof(str(payload), problem) if payload is not None else None
    if oof is None or oof.proba is None:
        return None
    if len(oof.rows) < calibration.MIN_ROWS:
        log("calibration", f"no temperature scaling: {len(oof.rows)} out-of-fold rows are too few to fit it on "
                           f"(at least {calibration.MIN_ROWS})")
        return None
    codes = np.searchsorted(np.asarray(problem.classes), engine.evaluator.y.to_numpy()[oof.rows])
    temperature, before, after = calibration.fit_temperature(oof.proba, codes)
    if not after < before:
        log("calibration", f"no temperature scaling: no temperature lowers the out-of-fold log-loss ({before:.4f})")
        return None
    how = "sharpens" if temperature < 1 else "softens"
    log("calibration", f"temperature scaling: T = {temperature:.3f} {how} the probabilities, out-of-fold "
                       f"log-loss {before:.4f} -> {after:.4f} on {len(oof.rows)} rows; the predicted classes do "
                       "not change (calibration.py)")
    return temperature


def _choose(engine: TabularEngine, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: TimeBudget) -> Choice:
    best = ranked[0]
    log("result", f"best single model: {best.model} ({engine.problem.metric} {best.value:.4f} ± {best.std:.4f} "
                  "on validation)")
    if engine.select == "robust":  # the simplest model statistically tied with the best (tabular/robust.py)
        best = robust.pick(engine, ranked, log)
    single = Choice(best.model, dict(best.params), best.value, best.std, recipe=best.candidate)
    if engine.ensemble_config.kind == "none":
        return single
    return _try_ensemble(engine, ranked, single, log, budget)


def _members(engine: TabularEngine, ranked: Sequence[TrialOutcome]) -> list[TrialOutcome]:
    config = engine.ensemble_config
    by_model = {o.model: o for o in ranked if o.payload is not None}
    if config.members:
        missing = [m for m in config.members if m not in by_model]
        if missing:
            raise ConfigError(f"ensemble member(s) {', '.join(missing)} have no finished trial; add them to the "
                              "models searched or give the search more time")
        return [by_model[m] for m in config.members]
    return list(by_model.values())[: config.top_k]


def _select_weights(engine: TabularEngine, members: list[TrialOutcome], oofs: dict[int, OutOfFold]
                    ) -> list[tuple[TrialOutcome, int]]:
    """Caruana's ensemble selection over the members' out-of-fold predictions: who is in, picked how often."""
    counts = ens.ensemble_selection([oofs[o.number] for o in members], engine.problem,
                                    engine.evaluator.y.to_numpy(), get_metric(engine.problem.metric))
    return [(o, int(c)) for o, c in zip(members, counts, strict=True) if c > 0]


def _blend_required_seconds(engine: TabularEngine, members: Sequence[TrialOutcome]) -> float:
    """What a weighted blend cannot do without: its fit for the test score and its save.

    Its refit on all rows is left out on purpose: :func:`~automlops.tabular.blend_refit.refit_blend`
    refits the members one by one under the deadline, heaviest first, and a member not refitted
    in time keeps its fit on the training rows. Paying for the refit up front used to cost the blend
    its members instead (diamonds at 60 s: CatBoost and the MLP left out, external RMSE 543; counted
    this way they stay in, 535.6 and 534.6 in two runs, even where only the heaviest member is then refitted).
    """
    return _fit_seconds(engine, members, "weighted") + _save_seconds(engine, members)


def _affordable_selection(engine: TabularEngine, pool: list[TrialOutcome], log: DecisionLog,
                          budget: TimeBudget) -> tuple[list[TrialOutcome], tuple[float, ...]]:
    """Ensemble selection among the members whose fits for the test score fit in the time left.

    When the selected blend would overrun the budget, its costliest member (never the best model)
    leaves the pool and the selection runs again: a cheaper blend beats no blend. The refit on all
    rows is not part of this check (see :func:`_blend_required_seconds`).
    """
    left_out: list[str] = []
    oofs = engine.selection_plan.decoded(engine, pool)  # mostly decoded already while planning the budget
    while True:
        chosen = _select_weights(engine, pool, oofs)
        members = [o for o, _ in chosen]
        needed = _blend_required_seconds(engine, members)
        late = budget.deadline is not None and time.monotonic() + needed + budget.fixed_tail > budget.deadline
        if len(members) < 2 or not late:
            break
        costly = max((o for o in members if o is not pool[0]), key=lambda o: o.fit_seconds + o.predict_seconds)
        left_out.append(costly.model)
        pool = [o for o in pool if o is not costly]
    total = sum(c for _, c in chosen)
    dropped = ""
    if left_out:
        dropped = f"; left out for time (fitting them for the test would overrun the budget): {', '.join(left_out)}"
        if budget.deadline is not None:  # say what the time went on: often the best model itself
            best, left = pool[0], budget.deadline - time.monotonic() - budget.fixed_tail
            dropped += (f" (the best model, {best.model}, alone needs ~{_blend_required_seconds(engine, [best]):.1f}"
                        f" s of the {max(left, 0.0):.1f} s left)")
    log("ensemble", f"ensemble selection ({ens.SELECTION_ROUNDS} rounds of greedy picks over the out-of-fold "
                    f"predictions of {len(pool) + len(left_out)} models) kept "
                    + ", ".join(f"{o.model} {c}/{total}" for o, c in chosen) + dropped)
    return members, tuple(float(c) / total for _, c in chosen)


def _try_ensemble(engine: TabularEngine, ranked: Sequence[TrialOutcome], single: Choice, log: DecisionLog,
                  budget: TimeBudget) -> Choice:
    config, problem = engine.ensemble_config, engine.problem
    members = _members(engine, ranked)
    if len(members) < 2:
        log("ensemble", "skipped: fewer than two models finished, nothing to combine")
        return single
    if config.kind == "weighted":
        members, weights = _affordable_selection(engine, members, log, budget)
        if len(members) < 2:
            log("ensemble", "the selection kept only the best single model: no ensemble")
            return single
        config = replace(config, weights=weights)
    needed = _fit_seconds(engine, members, config.kind)
    if budget.deadline is not None and time.monotonic() + needed + budget.fixed_tail > budget.deadline:
        log("ensemble", f"skipped {config.kind}: fitting it (~{needed:.1f} s) would overrun the time budget; "
                        "keeping the best single model")
        return single
    oofs = [decode_oof(o.payload, problem) for o in members if o.payload is not None]
    combined = ens.oof_ensemble_predictions(config, oofs, problem, engine.evaluator.y.to_numpy(), engine.seed)
    mean, std, per_fold = engine.evaluator.score_oof(combined.rows, combined.folds, combined.pred, combined.proba)
    names = [o.model for o in members]
    label = f"{config.kind}({', '.join(names)})"
    params = {"kind": config.kind, "members": names, "voting": config.voting,
              "weights": list(config.weights) if config.weights else None, "meta_model": config.meta_name(problem)}
    row = {"model": label, "score": mean, "std": std, "trials": 0, "pruned": 0, "failed": 0, "params": params,
           "fold_scores": per_fold, "payload": encode_oof(combined, problem)}  # for the leaderboard's tests
    if engine.select == "robust" and engine.ensemble_from_preset:
        _, outcome = outcome_from_row(row)
        if not robust.ensemble_earns_its_place(engine, outcome, ranked[0], log):
            return Choice(single.label, single.params, single.val_score, single.val_std, single.recipe, (row,))
    if engine.ensemble_from_preset and not _better(engine, mean, single.val_score):
        log("ensemble", f"{label} scored {mean:.4f} ± {std:.4f}, not better than the best single model "
                        f"({single.val_score:.4f}); keeping the single model")
        return Choice(single.label, single.params, single.val_score, single.val_std, single.recipe, (row,))
    verdict = "better than" if _better(engine, mean, single.val_score) else "compared with"
    how = f"weights {[round(w, 3) for w in config.weights]}" if config.weights else "equal weights"
    log("ensemble", f"{label} scored {mean:.4f} ± {std:.4f} out of fold, {verdict} the best single model "
                    f"({single.val_score:.4f}); the ensemble is the final model ({how})")
    return Choice(label, params, mean, std, recipe=[o.candidate for o in members], extra_rows=(row,))


def boosted_save_seconds(engine: TabularEngine, fitted: Any) -> float:
    """Time to save a fitted model's boosted trees: kept rounds × classes × a tree's cost. A LightGBM or
    XGBoost tree costs its leaves (counted on the fitted model: the trees of a 98-class model are ~15×
    cheaper to write than the ceiling says); a CatBoost model is one binary blob, far cheaper
    (``boosting_size.catboost_tree_save_seconds``); scikit-learn's HistGradientBoosting pays per tree
    (``zoo_boosting.HIST_GB_TREE_SAVE``)."""
    n_classes = len(engine.problem.classes)
    return sum(trees_of(b, n_classes) * _tree_save_seconds(b, n_classes) for b in boosters(fitted))


def _tree_save_seconds(booster: Any, n_classes: int) -> float:
    """What saving one tree of this fitted boosting model costs."""
    if hasattr(booster, "n_trees_per_iteration_"):
        return HIST_GB_TREE_SAVE
    model = getattr(booster, "estimator_", booster)
    if (catboost := catboost_tree_save_seconds(model, trees_per_round(n_classes))) is not None:
        return catboost
    leaves = fitted_leaves_per_tree(model)
    return BOOSTED_TREE_SAVE if leaves is None else leaves * LEAF_SAVE_SECONDS
