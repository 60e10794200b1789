"""``AutoMLRunner``: the one entry point of tabular AutoML.

It follows the scikit-learn contract: ``__init__`` only stores the configuration, ``fit(df)``
does the work and returns ``self``, and everything learned ends with ``_``:

* ``problem_``, ``plan_``, ``validation_`` – what was inferred (task, features, splits);
* ``study_``, ``leaderboard_`` – the Optuna study and the best trial of every model;
* ``best_estimator_`` – the fitted pipeline (preprocessing + model, or an ensemble of them);
* ``val_score_`` ± ``val_std_`` and ``test_metrics_`` – validation and the final, untouched test;
* ``decisions_`` – every automatic choice in plain words.

The steps: infer the problem → cut off the test rows → plan the features → choose the validation →
search (Optuna) → optionally ensemble the best models → refit the winner on all training rows →
score the test rows once → log it all to MLflow.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone

from automlops.core.metrics import get_metric, score_all
from automlops.core.problem import TaskType, infer_problem
from automlops.core.results import Decision, ProgressEvent
from automlops.errors import ConfigError, DataError
from automlops.tabular import ensemble as ens
from automlops.tabular.budget import TimeBudget
from automlops.tabular.evaluate import (
    Evaluator,
    OutOfFold,
    build_pipeline,
    one_openmp_thread,
    predict_outputs,
)
from automlops.tabular.leaderboard import build_leaderboard
from automlops.tabular.preprocessing import plan_features
from automlops.tabular.presets import get_preset
from automlops.tabular.search import STRATEGIES, Candidate, SearchSpace, create_study
from automlops.tabular.tracking_sink import TrackingSink
from automlops.tabular.validation import choose_validation, detect_time_column, split_test
from automlops.tabular.zoo import available_models

__all__ = ["AutoMLRunner"]

Callback = Callable[[ProgressEvent], None]
SUPPORTED_TASKS = (TaskType.CLASSIFICATION, TaskType.REGRESSION)


class AutoMLRunner:
    """Search, ensemble, refit, test and track a tabular model (see the module docstring)."""

    def __init__(self, target: str | None = None, *, task: str | TaskType | None = None, metric: str | None = None,
                 preset: str = "medium", search: str = "tpe", validation: str | None = None,
                 models: Sequence[str] | None = None, ensemble: str | ens.EnsembleConfig = "none",
                 n_trials: int | None = None, time_budget: float | None = None, seed: int = 0,
                 test_size: float = 0.2, time_column: str | None = None, tracker: Any = None,
                 dataset: dict[str, Any] | None = None, run_name: str | None = None,
                 callbacks: Sequence[Callback] = (), storage: str | None = None, study_name: str | None = None,
                 started_at: float | None = None, stop_event: threading.Event | None = None,
                 refit_full: bool = False) -> None:
        self.target, self.task, self.metric, self.preset = target, task, metric, preset
        self.search, self.validation, self.models, self.ensemble = search, validation, models, ensemble
        self.n_trials, self.time_budget, self.seed, self.test_size = n_trials, time_budget, seed, test_size
        self.time_column, self.tracker, self.dataset, self.run_name = time_column, tracker, dataset, run_name
        self.callbacks, self.storage, self.study_name = callbacks, storage, study_name
        self.started_at, self.stop_event, self.refit_full = started_at, stop_event, refit_full

    # ----------------------------------------------------------------------------- helpers
    def _decide(self, topic: str, message: str) -> None:
        self.decisions_.append(Decision(topic, message))
        self._emit(ProgressEvent("stage", f"{topic}: {message}", elapsed=self.budget_.elapsed(),
                                 budget=self.budget_.total))

    def _emit(self, event: ProgressEvent) -> None:
        for callback in self.callbacks:
            callback(event)

    def _ensemble_config(self) -> tuple[ens.EnsembleConfig, bool]:
        preset = get_preset(self.preset)
        return ens.resolve_ensemble(self.ensemble, preset.ensemble, preset.ensemble_top_k)

    def _check_config(self) -> None:
        get_preset(self.preset)
        STRATEGIES.get(self.search)
        if self.n_trials is not None and self.n_trials < 1:
            raise ConfigError("n_trials must be at least 1")
        if self.time_budget is not None and self.time_budget <= 0:
            raise ConfigError("the time budget must be a positive number of seconds")

    # ----------------------------------------------------------------------------- stages
    def _prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(df, pd.DataFrame) or df.empty:
            raise DataError("the training data is empty")
        problem = infer_problem(df, self.target, task=self.task, metric=self.metric, time_column=self.time_column)
        if problem.task not in SUPPORTED_TASKS:
            raise ConfigError(f"tabular AutoML trains classification and regression models; '{problem.task.value}' "
                              "has its own engine")
        for reason in problem.reasons:
            self._decide("task", reason)
        missing = int(df[problem.target].isna().sum())
        if missing:
            df = df[df[problem.target].notna()]
            self._decide("data", f"dropped {missing} rows whose target '{problem.target}' is missing")
        if problem.time_column is None:
            column = detect_time_column(df, problem.target)
            if column is not None:
                self._decide("validation", f"'{column}' is a date column sorted in time order, so it is used as "
                                           "the time axis (no shuffling: the future must not leak into the past)")
            problem = replace(problem, time_column=column)
        if problem.time_column:
            df = df.sort_values(problem.time_column, kind="stable")
        if problem.task is TaskType.CLASSIFICATION:
            problem = replace(problem, classes=tuple(np.unique(df[problem.target].to_numpy()).tolist()))
        self.problem_ = problem
        return df.reset_index(drop=True)

    def _choose_models(self, n_rows: int) -> list:
        preset = get_preset(self.preset)
        specs = available_models(self.problem_.task, names=self.models, n_rows=n_rows,
                                 light_only=preset.light_only and not self.models)
        if not specs:
            raise ConfigError(f"no model is available for {self.problem_.task.value}")
        who = "chosen by the user" if self.models else f"from the '{preset.name}' preset"
        self._decide("models", f"{len(specs)} model(s) {who}: {', '.join(s.name for s in specs)}")
        return specs

    def _plan_budget(self) -> tuple[int | None, float | None]:
        preset = get_preset(self.preset)
        budget = self.time_budget if self.time_budget is not None else preset.time_budget
        n_trials = self.n_trials
        if n_trials is None and budget is None:
            n_trials = preset.n_trials
        elif n_trials is None:
            self._decide("budget", f"time budget {budget:g} s: trials run until it is nearly spent, keeping time "
                                   "to refit, test, log and save")
        return n_trials, budget

    # ----------------------------------------------------------------------------- fit
    def fit(self, df: pd.DataFrame, test_df: pd.DataFrame | None = None) -> AutoMLRunner:
        """Run the whole AutoML pipeline on ``df``; ``test_df`` (optional) replaces the test split."""
        self.decisions_: list[Decision] = []
        self.budget_ = TimeBudget(None, started=self.started_at or time.monotonic())
        self._check_config()
        n_trials, total = self._plan_budget()
        self.budget_.total = total
        self.budget_.fixed_tail = 1.5 if self.tracker is not None else 0.3  # logging the model + saving
        df = self._prepare(df)
        problem = self.problem_
        if test_df is None:
            ordered = (self.validation or get_preset(self.preset).validation) == "timeseries"
            train, test, why = split_test(df, problem, test_size=self.test_size, random_state=self.seed,
                                          ordered=ordered)
        else:
            train, test, why = df, test_df[test_df[problem.target].notna()], "the test rows were given separately"
        self._decide("validation", why)
        train = train.reset_index(drop=True)
        self.plan_ = plan_features(train, problem)
        for col, reason in self.plan_.dropped.items():
            self._decide("features", f"dropped '{col}': {reason}")
        for warning in self.plan_.warnings:
            self._decide("features", warning)
        X, y = train[self.plan_.input_columns], train[problem.target]
        preset = get_preset(self.preset)
        mode = self.validation or preset.validation
        self.validation_ = choose_validation(problem, y, mode=mode)
        self._decide("validation", self.validation_.reason)
        specs = self._choose_models(len(train))
        config, from_preset = self._ensemble_config()
        config.validate(problem, get_metric(problem.metric).needs_proba)
        self._sink = TrackingSink(self.tracker, run_name=self.run_name, problem=problem, dataset=self.dataset)
        self.budget_.backlog = self._sink.backlog_seconds
        try:
            self._search(X, y, specs, n_trials)
            self._finish(X, y, test, config, from_preset)
        except BaseException as exc:
            self._sink.fail(exc)
            raise
        return self

    def _search(self, X: pd.DataFrame, y: pd.Series, specs: list, n_trials: int | None) -> None:
        problem, strategy = self.problem_, STRATEGIES.get(self.search)
        metric = get_metric(problem.metric)
        splits = self.validation_.splits(X, y, self.seed)
        self.evaluator_ = Evaluator(X, y, problem, self.plan_, metric, splits, seed=self.seed,
                                    learning_curve=strategy.prunes)
        space = SearchSpace(specs, problem, grid=strategy.name == "grid")
        grid_size = len(space.grid_points) if space.grid_points is not None else None
        study, note = create_study(strategy, direction=problem.direction, seed=self.seed, n_trials=n_trials,
                                   n_steps=self.evaluator_.n_steps, grid_size=grid_size, storage=self.storage,
                                   study_name=self.study_name)
        self._decide("search", f"{strategy.label}: {strategy.explanation}"
                     + (f"; grid of {grid_size} points" if grid_size else ""))
        if note:
            self._decide("search", note)
        if strategy.name == "grid" and note is None and n_trials is None:
            n_trials = grid_size
        warm = space.warm_start(study)
        if warm:
            self._decide("search", "each model's default settings are tried first (warm start), in this order: "
                         + ", ".join(warm))
        self.study_, self._planned = study, n_trials
        self._oof: dict[str, tuple[float, OutOfFold | None, Candidate, Any]] = {}
        self._sink.start(self._run_params(n_trials, strategy.name))
        study.optimize(self._objective(space), n_trials=n_trials, callbacks=[self._after_trial],
                       catch=(Exception,), gc_after_trial=False)
        self.timings_ = {"search_end": self.budget_.elapsed()}
        self.leaderboard_ = build_leaderboard(study, maximize=problem.direction == "maximize")
        if self.leaderboard_["score"].notna().sum() == 0:
            raise DataError("no trial finished: every model failed on this data or the time budget was too small "
                            f"(first error: {self._first_failure()})")

    def _first_failure(self) -> str:
        for t in self.study_.get_trials(deepcopy=False):
            if t.user_attrs.get("note"):
                return str(t.user_attrs["note"])
        return "none recorded"

    def _objective(self, space: SearchSpace) -> Callable[[optuna.Trial], float]:
        def objective(trial: optuna.Trial) -> float:
            candidate = space.suggest(trial)
            trial.set_user_attr("model", candidate.model)
            trial.set_user_attr("params", candidate.params)
            if self.stop_event is not None and self.stop_event.is_set():
                trial.study.stop()
                trial.set_user_attr("note", "cancelled by the user")
                raise optuna.TrialPruned("cancelled")
            if not self.budget_.can_start(candidate.model):
                trial.set_user_attr("note", "skipped: would not finish within the time budget")
                raise optuna.TrialPruned("skipped for time")
            started = time.monotonic()
            try:
                first = not self.budget_.durations  # the first trial always finishes: some result beats none
                deadline = None if first else self.budget_.search_deadline()
                result = self.evaluator_.evaluate(candidate, trial, deadline=deadline)
            except optuna.TrialPruned as exc:
                trial.set_user_attr("note", str(exc) or "pruned")
                raise
            except Exception as exc:
                trial.set_user_attr("note", f"{type(exc).__name__}: {exc}"[:300])
                raise
            self.budget_.record(candidate.model, time.monotonic() - started)
            for key in ("std", "fit_seconds", "predict_seconds", "fold_scores"):
                trial.set_user_attr(key, getattr(result, key))
            best = self._oof.get(candidate.model)
            if best is None or self._better(result.mean, best[0]):
                self._oof[candidate.model] = (result.mean, result.oof, candidate, result)
            return result.mean

        return objective

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.problem_.direction == "maximize" else a < b

    def _after_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self._update_tail_estimate()
        best_model, best_value = None, None
        for name, (value, *_) in self._oof.items():
            if best_value is None or self._better(value, best_value):
                best_model, best_value = name, value
        self._sink.log_trial(trial)
        self._emit(ProgressEvent("trial", f"trial {trial.number} {trial.user_attrs.get('model')} {trial.state.name}",
                                 trial=trial.number + 1, n_trials=self._planned, elapsed=self.budget_.elapsed(),
                                 budget=self.budget_.total, best_score=best_value, best_model=best_model,
                                 state=trial.state.name, value=trial.value))
        stop_for_time = self.budget_.total is not None and \
            self.budget_.search_time_left() < max(0.05, 0.5 * self.budget_.cheapest_expected())
        if stop_for_time or (self.stop_event is not None and self.stop_event.is_set()):
            study.stop()

    def _update_tail_estimate(self) -> None:
        """Time the post-search work will need: refit the best (and ensemble members)."""
        if not self._oof:
            return
        ranked = sorted(self._oof.values(), key=lambda v: v[0], reverse=self.problem_.direction == "maximize")
        refit = self._ensemble_seconds([ranked[0][2].model], "none")
        config, _ = self._ensemble_config()
        if config.kind != "none":
            refit = max(refit, self._ensemble_seconds([r[2].model for r in ranked[: config.top_k]], config.kind))
        if self.refit_full:
            refit *= 2.25  # a second fit, on train + test rows
        total = self.budget_.total or 0.0
        self.budget_.tail_estimate = min(1.3 * refit, 0.35 * total)  # the rest is checked before ensembling

    def _ensemble_seconds(self, models: list[str], kind: str) -> float:
        """Expected time to fit ``models`` on all training rows (stacking refits them per inner fold)."""
        folds = 1 if self.evaluator_.learning_curve else self.evaluator_.n_steps
        scale = 1.0 + 1.0 / max(folds, 2)  # the refit sees all rows, a fold saw (k-1)/k of them
        seconds = sum(self._oof[m][3].fit_seconds + self._oof[m][3].predict_seconds for m in models) * scale
        return seconds * (1 + ens.STACKING_CV if kind == "stacking" else 1)

    def _finish(self, X: pd.DataFrame, y: pd.Series, test: pd.DataFrame, config: ens.EnsembleConfig,
                from_preset: bool) -> None:
        problem, lb = self.problem_, self.leaderboard_
        best_row = lb.iloc[0]
        _, _, candidate, result = self._oof[best_row["model"]]
        self.best_model_name_, self.best_params_ = candidate.model, candidate.params
        self.val_score_, self.val_std_ = result.mean, result.std
        final = build_pipeline(candidate, self.plan_, problem, self.seed)
        self._decide("result", f"best single model: {candidate.model} ({problem.metric} {result.mean:.4f} "
                               f"± {result.std:.4f} on validation)")
        if config.kind != "none":
            final = self._try_ensemble(config, from_preset, final)
        self.timings_["refit_start"] = self.budget_.elapsed()
        t0 = time.perf_counter()
        with warnings.catch_warnings(), one_openmp_thread():
            warnings.simplefilter("ignore")
            self.best_estimator_ = final.fit(X, y)
            self.refit_seconds_ = time.perf_counter() - t0
            pred, proba = predict_outputs(self.best_estimator_, test[self.plan_.input_columns], problem)
        y_test = test[problem.target].to_numpy()
        self.test_metrics_ = score_all(problem.task, y_test, pred, proba, problem.classes)
        self.test_score_ = self.test_metrics_.get(problem.metric, float("nan"))
        self.n_test_rows_ = len(test)
        self._decide("result", f"final model {self.best_model_name_}: test {problem.metric} = {self.test_score_:.4f} "
                               f"on {len(test)} untouched rows")
        if self.refit_full:
            self._refit_on_all_rows(final, X, y, test)
        self.timings_["tracking_start"] = self.budget_.elapsed()
        self.run_id_ = self._sink.finish(self, X.head(5))
        self.tracking_errors_ = list(self._sink.errors)
        if self.tracking_errors_:
            self._decide("tracking", "MLflow logging failed, the model is still trained and can be saved: "
                                     + "; ".join(self.tracking_errors_[:3]))
        self.wall_seconds_ = self.budget_.elapsed()

    def _refit_on_all_rows(self, final: Any, X: pd.DataFrame, y: pd.Series, test: pd.DataFrame) -> None:
        """Refit the chosen pipeline on train + test rows (more data, same recipe)."""
        deadline = self.budget_.deadline
        if deadline is not None and time.monotonic() + 1.5 * self.refit_seconds_ + self.budget_.fixed_tail > deadline:
            self._decide("result", "kept the model trained on the training rows: refitting on all rows would "
                                   "overrun the time budget")
            return
        X_all = pd.concat([X, test[self.plan_.input_columns]], ignore_index=True)
        y_all = pd.concat([y, test[self.problem_.target]], ignore_index=True)
        with warnings.catch_warnings(), one_openmp_thread():
            warnings.simplefilter("ignore")
            self.best_estimator_ = clone(final).fit(X_all, y_all)
        self._decide("result", f"refitted the final model on all {len(X_all)} rows (train + test): the test score "
                               "above was measured before, so it describes a model that saw fewer rows")

    def _try_ensemble(self, config: ens.EnsembleConfig, from_preset: bool, single: Any) -> Any:
        problem, lb = self.problem_, self.leaderboard_
        names = list(config.members) if config.members else \
            [m for m in lb["model"] if m in self._oof][: config.top_k]
        missing = [m for m in names if m not in self._oof]
        if missing:
            raise ConfigError(f"ensemble member(s) {', '.join(missing)} have no finished trial; add them to the "
                              "models searched or give the search more time")
        if len(names) < 2:
            self._decide("ensemble", "skipped: fewer than two models finished, nothing to combine")
            return single
        deadline = self.budget_.deadline
        needed = self._ensemble_seconds(names, config.kind)
        if deadline is not None and time.monotonic() + needed + self.budget_.fixed_tail > deadline:
            self._decide("ensemble", f"skipped {config.kind}: fitting it (~{needed:.1f} s) would overrun the time "
                                     "budget; keeping the best single model")
            return single
        oofs = [oof for m in names if (oof := self._oof[m][1]) is not None]
        y_all = self.evaluator_.y.to_numpy()
        combined = ens.oof_ensemble_predictions(config, oofs, problem, y_all, self.seed)
        mean, std, _ = self.evaluator_.score_oof(combined.rows, combined.folds, combined.pred, combined.proba)
        label = f"{config.kind}({', '.join(names)})"
        self.leaderboard_ = pd.concat([self.leaderboard_, pd.DataFrame([{
            "model": label, "score": mean, "std": std, "trials": 0, "pruned": 0, "failed": 0,
            "params": {"kind": config.kind, "members": names, "voting": config.voting,
                       "weights": config.weights, "meta_model": config.meta_name(problem)}}])], ignore_index=True)
        maximize = problem.direction == "maximize"
        self.leaderboard_ = self.leaderboard_.sort_values(["score"], ascending=not maximize).reset_index(drop=True)
        self.leaderboard_["rank"] = range(1, len(self.leaderboard_) + 1)
        if from_preset and not self._better(mean, self.val_score_):
            self._decide("ensemble", f"{label} scored {mean:.4f} ± {std:.4f}, not better than the best single "
                                     f"model ({self.val_score_:.4f}); keeping the single model")
            return single
        verdict = "better than" if self._better(mean, self.val_score_) else "compared with"
        self._decide("ensemble", f"{label} scored {mean:.4f} ± {std:.4f} out of fold, {verdict} the best single "
                                 f"model ({self.val_score_:.4f}); the ensemble is the final model")
        members = [(m, build_pipeline(self._oof[m][2], self.plan_, problem, self.seed)) for m in names]
        self.best_model_name_, self.best_params_ = label, self.leaderboard_.iloc[0]["params"]
        self.val_score_, self.val_std_ = mean, std
        return ens.build_ensemble(config, members, problem, self.seed)

    def _run_params(self, n_trials: int | None, search: str) -> dict[str, Any]:
        p = self.problem_
        return {"task": p.task.value, "target": p.target, "metric": p.metric, "preset": self.preset,
                "search": search, "validation": self.validation_.kind, "n_splits": self.validation_.n_splits,
                "n_trials": n_trials, "time_budget": self.budget_.total, "seed": self.seed,
                "models": ",".join(self.models or []) or "auto", "ensemble": str(self.ensemble)}

    def summary(self) -> dict[str, Any]:
        """The headline numbers of a finished fit (JSON-friendly)."""
        trials = self.study_.get_trials(deepcopy=False)
        return {"task": self.problem_.task.value, "target": self.problem_.target, "metric": self.problem_.metric,
                "best_model": self.best_model_name_, "val_score": self.val_score_, "val_std": self.val_std_,
                "test_score": self.test_score_, "test_metrics": self.test_metrics_, "n_trials": len(trials),
                "n_pruned": sum(t.state is optuna.trial.TrialState.PRUNED for t in trials),
                "wall_seconds": self.wall_seconds_, "run_id": self.run_id_}

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.best_estimator_.predict(X))
