"""``TabularEngine``: supervised learning on a table (classification and regression), as an
:class:`~automlops.search.engine.Engine` of the search driver.

What it does at each step of the driver's loop:

* **prepare** – infer the task and metric from the target, drop rows without a target, put dated
  rows in time order, cut off the final **test rows** (kept untouched until the very end), plan the
  features (what to drop, encode, impute), choose the validation scheme and the models to search;
* **suggest / evaluate** – one Optuna trial = one model + hyperparameters, cross-validated fold by
  fold (see :mod:`automlops.tabular.evaluate`), each fold being one unit of *resource* for Hyperband;
* **choose / finalize** – see :mod:`automlops.tabular.finalize` (ensembles, the tail's cost) and
  :mod:`automlops.tabular.final_fit` (fit, test once, refit on all rows).

Its registries are its own: the model zoo (:mod:`~automlops.tabular.zoo`), the presets
(:mod:`~automlops.tabular.presets`) and the supervised metrics (:mod:`automlops.core.metrics`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automlops.config import get_settings
from automlops.core.fit import ValidationSummary
from automlops.core.metrics import METRICS, get_metric
from automlops.core.problem import Problem, TaskType, infer_problem
from automlops.errors import ConfigError, DataError
from automlops.search.engine import (
    Candidate,
    Choice,
    DecisionLog,
    Evaluation,
    Finalized,
    SearchPlan,
    TrialOutcome,
)
from automlops.search.strategies import STRATEGIES
from automlops.tabular import ensemble as ens
from automlops.tabular import explain_fit, final_fit, finalize, robust
from automlops.tabular.evaluate import Evaluator, FoldFit, KeptModels
from automlops.tabular.preprocessing import plan_features
from automlops.tabular.presets import PRESETS, get_preset
from automlops.tabular.search import SearchSpace
from automlops.tabular.validation import (
    SMALL_DATA_ROWS,
    choose_validation,
    detect_time_column,
    drop_classes_left_single,
    drop_single_row_classes,
    split_test,
)
from automlops.tabular.validation_cost import probe_cross_validation
from automlops.tabular.zoo import ZOO, ModelSpec, available_models

__all__ = ["SUPPORTED_TASKS", "TabularData", "TabularEngine"]

SUPPORTED_TASKS = (TaskType.CLASSIFICATION, TaskType.REGRESSION)


@dataclass(frozen=True)
class TabularData:
    """A training table, and optionally a separate test table (then ``test_rows`` index *that* one)."""

    frame: pd.DataFrame
    test_frame: pd.DataFrame | None = None


def _planning_deadline(log: DecisionLog) -> float | None:
    """When feature planning (its leakage check) must stop: its share of the time left, if there is a budget.

    The decision log is the engine's one view of the driver's clock: ``_clock`` is the time spent
    and ``_budget`` the total (``None`` without a time budget).
    """
    total = log.time_budget()
    if total is None:
        return None
    left = max(0.0, total - log.elapsed())
    return time.monotonic() + get_settings().leakage_time_share * left


class TabularEngine:
    """Classification and regression on one table (see the module docstring)."""

    name = "tabular"
    kind = "tabular"
    models = ZOO
    presets = PRESETS
    metrics = METRICS

    def __init__(self, target: str | None, *, task: str | TaskType | None = None, metric: str | None = None,
                 preset: str = "medium", search: str = "tpe", validation: str | None = None,
                 models: Sequence[str] | None = None, ensemble: str | ens.EnsembleConfig = "auto", seed: int = 0,
                 test_size: float = 0.2, time_column: str | None = None, refit_full: bool = True,
                 keep_scored_model: bool = True, select: str = "best") -> None:
        self.target, self.task, self.metric, self.preset = target, task, metric, preset
        self.search, self.validation_mode, self.model_names = search, validation, models
        self.ensemble, self.seed, self.test_size = ensemble, seed, test_size
        self.time_column, self.refit_full, self.keep_scored_model = time_column, refit_full, keep_scored_model
        self.select = select  # "best" (top validation score) or "robust" (see automlops.tabular.robust)
        self._significance: Any = None
        self.selection_plan = finalize.SelectionPlan()  # what the time budget reserves for the final blend
        self.kept = KeptModels(maximize=True)  # the best holdout model so far, fitted (reset in prepare)
        self.explain_reserved = 0.0  # seconds the budget keeps for the optional SHAP summary
        self.rounds_by_trial: dict[int, int] = {}  # boosting rounds early stopping kept, per trial number
        self.shared_study = False  # set by the driver: workers of one study must agree on the validation
        self.split_share: float | None = None  # the share of rows _split kept aside (None: test rows given)
        self.temperature: float | None = None  # fitted by choose when the metric scores confidence (calibration.py)

    # ------------------------------------------------------------------ prepare
    def prepare(self, data: pd.DataFrame | TabularData, log: DecisionLog) -> SearchPlan:
        """Problem → test rows → features → models → validation (each choice logged)."""
        robust.check_select(self.select)
        self._significance = None
        data = data if isinstance(data, TabularData) else TabularData(data)
        frame, positions = self._clean(data.frame, log)
        with self._regression_hint():
            train, test, test_rows = self._split(frame, positions, data.test_frame, log)
        self.plan = plan_features(train, self.problem, deadline=_planning_deadline(log))
        for note in self.plan.dropped_notes():
            log("features", note)
        for message in (*self.plan.warnings, *self.plan.notes):
            log("features", message)
        self.X, self.y, self.test = train[self.plan.input_columns], train[self.problem.target], test
        mode = self.validation_mode or get_preset(self.preset).validation
        with self._regression_hint():
            self.validation = choose_validation(self.problem, self.y, mode=mode,
                                                n_columns=len(self.plan.input_columns), time_budget=log.time_budget())
        self.specs = self._choose_models(len(train), log)
        self.splits = self.validation.splits(self.X, self.y, self.seed)
        self._ready: dict[tuple[str, str, int], FoldFit] = {}  # fold fits made ahead (validation_cost)
        if mode == "auto":
            self._afford_validation(log)
        log("validation", self.validation.reason)
        self.kept = KeptModels(maximize=self.problem.direction == "maximize")
        self.ensemble_config, self.ensemble_from_preset = ens.resolve_ensemble(
            self.ensemble, get_preset(self.preset).ensemble, get_preset(self.preset).ensemble_top_k)
        self.ensemble_config.validate(self.problem, get_metric(self.problem.metric).needs_proba)
        return self._search_plan(test_rows)

    def _clean(self, df: pd.DataFrame, log: DecisionLog) -> tuple[pd.DataFrame, np.ndarray]:
        """Infer the problem, drop rows without a target, sort by time; track each row's position."""
        if not isinstance(df, pd.DataFrame) or df.empty:
            raise DataError("the training data is empty")
        problem = infer_problem(df, self.target, task=self.task, metric=self.metric, time_column=self.time_column)
        if problem.task not in SUPPORTED_TASKS:
            raise ConfigError(f"tabular AutoML trains classification and regression models; '{problem.task.value}' "
                              "has its own engine")
        for reason in problem.reasons:
            log("task", reason)
        positions = np.arange(len(df))
        keep = df[problem.target].notna().to_numpy()
        if not keep.all():
            log("data", f"dropped {int((~keep).sum())} rows whose target '{problem.target}' is missing")
            df, positions = df[keep], positions[keep]
        if df[problem.target].dtype == object and pd.api.types.infer_dtype(df[problem.target]) == "boolean":
            # True/False with gaps is read as text-like objects; scikit-learn cannot tell their target type
            df = df.assign(**{str(problem.target): df[problem.target].astype(bool)})
        if problem.task is TaskType.CLASSIFICATION:
            df, positions = drop_single_row_classes(df, positions, str(problem.target), log)
        problem = self._time_axis(df, problem, log)
        if problem.time_column:
            order = np.argsort(df[problem.time_column].to_numpy(), kind="stable")
            df, positions = df.iloc[order], positions[order]
        if problem.task is TaskType.CLASSIFICATION:
            problem = replace(problem, classes=tuple(np.unique(df[problem.target].to_numpy()).tolist()))
        else:  # counts have a loss of their own (zoo: LightGBM's Poisson start)
            values = df[problem.target].to_numpy(dtype=float)
            problem = replace(problem, count_target=bool(values.min() >= 0 and (values % 1 == 0).all()))
        self.problem = problem
        return df.reset_index(drop=True), positions

    @contextmanager
    def _regression_hint(self) -> Iterator[None]:
        """A refusal over too-rare classes of a target the engine *read* as classes of whole numbers (a count
        such as arrests 0-12) also says how to predict it as a number instead."""
        try:
            yield
        except DataError as refusal:
            classes = self.problem.classes or ()
            if self.task is not None or len(classes) < 3 or not all(
                    isinstance(c, int | float | np.number) and not isinstance(c, bool | np.bool_) for c in classes):
                raise
            raise DataError(f"{refusal}; '{self.problem.target}' was read as {len(classes)} classes (whole numbers): "
                            "to predict it as a number, set the task to regression (--task regression)") from None

    @staticmethod
    def _time_axis(df: pd.DataFrame, problem: Problem, log: DecisionLog) -> Problem:
        if problem.time_column is not None:
            return problem
        column = detect_time_column(df, problem.target)
        if column is not None:
            log("validation", f"'{column}' is a date column sorted in time order, so it is used as the time "
                              "axis (no shuffling: the future must not leak into the past)")
        return replace(problem, time_column=column)

    def _split(self, frame: pd.DataFrame, positions: np.ndarray, test_frame: pd.DataFrame | None,
               log: DecisionLog) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
        """Cut off the test rows; return train, test and the test rows' positions in the input."""
        if test_frame is not None:
            keep = test_frame[self.problem.target].notna().to_numpy()
            log("validation", "the test rows were given separately")
            self.split_share = None
            return frame, test_frame[keep], np.flatnonzero(keep)
        self.split_share = self.test_size  # recorded: the rows dropped below leave the count short of it
        ordered = (self.validation_mode or get_preset(self.preset).validation) == "timeseries"
        train, test, why = split_test(frame, self.problem, test_size=self.test_size, random_state=self.seed,
                                      ordered=ordered)
        log("validation", why)
        train, test_rows = train.reset_index(drop=True), positions[test.index.to_numpy()]
        if self.problem.task is TaskType.CLASSIFICATION:
            target = str(self.problem.target)
            train, test, test_rows = drop_classes_left_single(train, test, test_rows, target, log)
            kept = np.concatenate([train[target].to_numpy(), test[target].to_numpy()])
            self.problem = replace(self.problem, classes=tuple(np.unique(kept).tolist()))
        return train, test, test_rows

    def _afford_validation(self, log: DecisionLog) -> None:
        """Cross-validation chosen by size under a time budget is kept only if timing the warm start's
        first fits says the budget affords it (:mod:`automlops.tabular.validation_cost`); else the first
        fold becomes one holdout. Either way those fits are kept for their trials.

        Not in a shared study (its workers must agree on the splits, and timings differ between
        machines), nor under a pruning strategy (Hyperband's steps are then folds, or slices of a holdout).
        """
        plan, total = self.validation, log.time_budget()
        if (total is None or self.shared_study or STRATEGIES.get(self.search).prunes
                or plan.kind not in ("kfold", "stratified") or len(self.y) < SMALL_DATA_ROWS):
            return
        probe = probe_cross_validation(self.X, self.y, self.problem, self.plan, self.splits, self.specs,
                                       max(0.0, total - log.elapsed()), self.seed)
        self._ready = probe.ready
        if probe.affordable:
            self.validation = replace(plan, reason=f"{plan.reason}; {probe.reason}")
            return
        holdout = choose_validation(self.problem, self.y, mode="holdout", holdout_size=1 / plan.n_splits)
        self.validation = replace(holdout, first_fold_of=plan.kind, reason=(
            f"{plan.reason.split(', so ')[0]}, but {probe.reason}; so the first of the {plan.n_splits} folds is one "
            f"{holdout.holdout_size:.0%} holdout instead"))
        self.splits = self.splits[:1]

    def _choose_models(self, n_rows: int, log: DecisionLog) -> list[ModelSpec]:
        preset = get_preset(self.preset)
        specs = available_models(self.problem.task, names=self.model_names, n_rows=n_rows,
                                 light_only=preset.light_only and not self.model_names)
        if not specs:
            raise ConfigError(f"no model is available for {self.problem.task.value}")
        who = "chosen by the user" if self.model_names else f"from the '{preset.name}' preset"
        log("models", f"{len(specs)} model(s) {who}: {', '.join(s.name for s in specs)}")
        return specs

    def _search_plan(self, test_rows: np.ndarray) -> SearchPlan:
        strategy = STRATEGIES.get(self.search)
        splits = self.splits
        self.evaluator = Evaluator(self.X, self.y, self.problem, self.plan, get_metric(self.problem.metric),
                                   splits, seed=self.seed, learning_curve=strategy.prunes, ready=self._ready)
        self._ready = {}
        self.space = SearchSpace(self.specs, self.problem, grid=strategy.name == "grid")
        grid = len(self.space.grid_points) if self.space.grid_points is not None else None
        summary = ValidationSummary(self.validation.kind, self.validation.n_splits, self.validation.reason)
        return SearchPlan(problem=self.problem, validation=summary, test_rows=test_rows,
                          n_steps=self.evaluator.n_steps, models=tuple(s.name for s in self.specs),
                          fingerprint=self._fingerprint(splits), grid_size=grid,
                          input_columns=tuple(self.plan.input_columns), feature_schema=self.plan.schema())

    def _fingerprint(self, splits: list[tuple[np.ndarray, np.ndarray]]) -> str:
        """Digest of the training rows, the splits and the search space: equal for every worker of a study."""
        digest = hashlib.sha256(pd.util.hash_pandas_object(pd.concat([self.X, self.y], axis=1), index=False)
                                .to_numpy().tobytes())
        for train, val in splits:
            digest.update(np.asarray(train, dtype=np.int64).tobytes() + np.asarray(val, dtype=np.int64).tobytes())
        digest.update(repr((self.problem.metric, self.search, [s.name for s in self.specs])).encode())
        return digest.hexdigest()[:16]

    # ------------------------------------------------------------------ search
    def suggest(self, trial: optuna.Trial) -> Candidate:
        return self.space.suggest(trial)

    def warm_start(self, study: optuna.Study) -> list[str]:
        return self.space.warm_start(study)

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        evaluation = self.evaluator.evaluate(candidate, trial, deadline=deadline)
        self.kept.offer(candidate, evaluation.mean, self.evaluator.take_fitted(), evaluation.fit_seconds)
        if trial is not None and self.evaluator.last_rounds:
            self.rounds_by_trial[trial.number] = self.evaluator.last_rounds  # the time budget's save estimate
        return evaluation

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        return finalize.tail_seconds(self, ranked)

    # ------------------------------------------------------------------ finish
    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: Any) -> Choice:
        return finalize.choose(self, ranked, log, budget)

    def finalize(self, choice: Choice, log: DecisionLog, budget: Any) -> Finalized:
        return final_fit.fit_final(self, choice, log, budget)

    def significance_test(self) -> Any:
        """The test behind the leaderboard's significance columns and ``select="robust"`` (optional hook)."""
        if self._significance is None:
            self._significance = robust.significance_test(self)
        return self._significance

    def explain_reserve(self, tracked: bool, total: float | None) -> float:
        """Seconds to keep back from the search for the training-time SHAP summary (optional hook)."""
        self.explain_reserved = explain_fit.explain_reserve(tracked, total)  # the refit may take them
        return self.explain_reserved

    def explain(self, final: Finalized, log: DecisionLog, budget: Any, *, tracked: bool) -> Finalized:
        """Add a SHAP summary to the final artifact when tracked and cheap (optional hook)."""
        return explain_fit.explain_final(self, final, log, budget, tracked=tracked)

    def run_params(self) -> dict[str, Any]:
        params = {"models": ",".join(self.model_names or []) or "auto", "ensemble": str(self.ensemble)}
        return {**params, "select": self.select} if self.select != "best" else params

