"""``SearchDriver``: the one search loop every engine plugs into.

The driver knows nothing about tables, images or clusters. It runs the same loop for any
:class:`~automlops.search.engine.Engine`::

    prepare → open the study → trials until the budget, the trial count or a cancel stops them
            → choose (single model or ensemble) → finalize (fit, test) → track → FitResult

and owns what must be identical for every task: the Optuna study (in memory, SQLite or PostgreSQL),
the :class:`~automlops.search.budget.TimeBudget`, cancel, progress callbacks and MLflow tracking.

**The objective.** Each trial asks the engine for a candidate, checks the budget and the cancel
flag, lets the engine evaluate it (the engine reports intermediate scores so a pruner can stop it),
and writes into the trial what any worker may need later: model, hyperparameters, timings and – when
the trial is the best of its model so far – the engine's payload (out-of-fold predictions).

**Cancel.** Setting ``stop_event`` stops the search after the running trial; the driver then raises
:class:`~automlops.errors.Cancelled` instead of refitting, and the MLflow run is tagged cancelled and
ended KILLED: a cancelled search never publishes a model.

**Sharing a study.** With ``storage`` and ``study_name``, several processes can run
``SearchDriver.fit`` on the same study at once. The study remembers a *fingerprint* of the data and
validation splits, and refuses a worker whose data differs; each process then ranks the trials of
*all* workers, so the one that finishes ensembles and refits the best configurations, whoever ran them.

**Coordinator and workers.** A shared study is opened through :func:`~automlops.search.storage.open_storage`
(heartbeats: a trial of a worker killed mid-trial is marked failed and retried with the same
hyperparameters). ``fit`` is the *coordinator*: it creates or joins the study, pins ``study_attrs``
(e.g. the data version and the train recipe) in it, sets the study attribute ``search_open`` while it
searches, then ensembles and refits whatever completed, whoever ran it. :meth:`SearchDriver.search_only`
is a *worker*: it joins an existing study and runs trials until its own trial count or time budget, a
cancel, or the coordinator closing the search – it never chooses, refits, tracks or saves. The one-time
queue of a shared study (the warm-start defaults, or every grid point) is filled by exactly one process
(:func:`~automlops.search.storage.claim`); everyone else pops waiting trials, which is atomic, so no
grid point and no default configuration runs twice. That half of the driver – pins, the queue, waiting
for other workers, ``search_only`` – lives in :mod:`automlops.search.shared` (a mixin).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import optuna
import pandas as pd

from automlops.core.fit import FitResult
from automlops.core.memory import frozen_heap, release_unused_memory
from automlops.core.results import ProgressEvent
from automlops.errors import Cancelled, ConfigError, DataError
from automlops.search.budget import TimeBudget
from automlops.search.driver_config import DriverConfig
from automlops.search.engine import DecisionLog, Engine, Evaluation, SearchPlan
from automlops.search.shared import SEARCH_OPEN, SharedStudy, WorkerReport
from automlops.search.storage import open_storage
from automlops.search.strategies import STRATEGIES, create_study, quiet_optuna
from automlops.search.tracking_sink import TrackingSink
from automlops.search.trial_notes import STARVED, failures_note, first_note, starved_note
from automlops.search.trials import (
    NO_GRID_POINT,
    PAYLOAD_ATTR,
    best_per_model,
    build_leaderboard,
    is_best_of_its_model,
    trials_frame,
)

__all__ = ["SEARCH_OPEN", "STARVED", "DriverConfig", "SearchDriver", "WorkerReport"]

Callback = Callable[[ProgressEvent], None]


class SearchDriver(SharedStudy):
    """Run an engine's search under a time budget with tracking (see the module docstring)."""

    def __init__(self, engine: Engine, config: DriverConfig, *, tracker: Any = None,
                 callbacks: Sequence[Callback] = (), stop_event: threading.Event | Any = None) -> None:
        self.engine, self.config, self.tracker = engine, config, tracker
        self.callbacks, self.stop_event = list(callbacks), stop_event
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.budget = TimeBudget(None, started=config.started_at or time.monotonic())
        self.log = DecisionLog(self._emit, self.budget.elapsed, lambda: self.budget.total)
        self.study: optuna.Study | None = None
        self.plan: SearchPlan | None = None
        self.timings: dict[str, float] = {}
        self._shared = False  # the study lives in a storage other processes may share
        self._grid_queue = False  # a shared grid: trials only run enqueued grid points
        self._stop_reason: str | None = None
        self._ran: list[optuna.trial.FrozenTrial] = []  # trials this process ran (search_only's report)
        self.study_role = "coordinator"  # search_only makes it a "worker"

    # ------------------------------------------------------------------ helpers
    def _emit(self, event: ProgressEvent) -> None:
        for callback in self.callbacks:
            callback(event)

    def _stopping(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def _maximize(self) -> bool:
        assert self.plan is not None
        return self.plan.problem.direction == "maximize"

    def _plan_budget(self) -> int | None:
        preset = self.engine.presets.get(self.config.preset)
        total = self.config.time_budget if self.config.time_budget is not None else preset.time_budget
        self.budget.total = total
        n_trials = self.config.n_trials
        if n_trials is None and total is None:
            n_trials = preset.n_trials
        elif n_trials is None:
            self.log("budget", f"time budget {total:g} s: trials run until it is nearly spent, keeping time "
                               "to refit, test, log and save")
        return n_trials

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any) -> FitResult:
        """Prepare, search, choose, finalize and track; return the frozen record of it all."""
        self.config.check(self.engine)
        n_trials = self._plan_budget()
        self.budget.fixed_tail = 1.5 if self.tracker is not None else 0.3  # logging the model + saving
        reserve = getattr(self.engine, "explain_reserve", None)  # optional: time kept for explanations
        self.budget.fixed_tail += reserve(self.tracker is not None, self.budget.total) if reserve else 0.0
        self.budget.first_trial_share = float(getattr(self.engine, "first_trial_share", 0.5))  # optional
        with frozen_heap():  # the refit's garbage collection visits only what this fit made (core.memory)
            return self._fit(data, n_trials)

    def _fit(self, data: Any, n_trials: int | None) -> FitResult:
        self.plan = self._prepare(data)
        self.budget.refuse_if_spent(getattr(self.engine, "least_work_seconds", lambda: 0.0)())  # optional hook
        sink = TrackingSink(self.tracker, run_name=self.config.run_name, problem=self.plan.problem,
                            dataset=self.config.dataset, on_run=self._on_run, engine=self.engine.name)
        self.budget.backlog = sink.backlog_seconds
        try:
            with quiet_optuna():
                self._search(sink, n_trials)
            if self._stopping():  # a cancelled search ships nothing: no refit, no test, no model
                raise Cancelled(f"cancelled after {len(self.study.trials) if self.study else 0} trial(s); nothing "
                                "was refitted or saved")
            result = self._finish()
        except BaseException as exc:
            sink.fail(exc)
            raise
        return self._track(sink, result)

    def _on_run(self, run_id: str) -> None:
        self._emit(ProgressEvent("stage", f"tracking: MLflow run {run_id}", elapsed=self.budget.elapsed(),
                                 budget=self.budget.total, extra={"run_id": run_id}))

    def _run_params(self, n_trials: int | None) -> dict[str, Any]:
        assert self.plan is not None
        p, c = self.plan.problem, self.config
        return {"engine": self.engine.name, "task": p.task.value, "target": p.target, "metric": p.metric,
                "direction": p.direction,
                "preset": c.preset, "search": c.search, "validation": self.plan.validation.kind,
                "n_splits": self.plan.validation.n_splits, "n_trials": n_trials, "time_budget": self.budget.total,
                "seed": c.seed, **self.engine.run_params(), **c.extra_params}

    # ------------------------------------------------------------------ search
    def _open_study(self, n_trials: int | None, *, join: bool = False) -> tuple[optuna.Study, int | None]:
        """Create or join the study, check it fits this search, and fill its queue once."""
        assert self.plan is not None
        strategy = STRATEGIES.get(self.config.search)
        storage = open_storage(self.config.storage) if self.config.storage else None
        self._shared = storage is not None
        self._grid_queue = self._shared and strategy.name == "grid"
        study, note = create_study(strategy, direction=self.plan.problem.direction, seed=self.config.seed,
                                   n_trials=n_trials, n_steps=self.plan.n_steps, grid_size=self.plan.grid_size,
                                   storage=storage, study_name=self.config.study_name, create=not join)
        self._check_fingerprint(study)
        self._check_study_attrs(study)
        if self._shared and study.direction.name.lower() != self.plan.problem.direction:
            raise ConfigError(f"study '{study.study_name}' {study.direction.name.lower()}s its metric but this search "
                              f"would {self.plan.problem.direction} it; use a new study name")
        grid = f"; grid of {self.plan.grid_size} points" if strategy.name == "grid" else ""
        self.log("search", f"{strategy.label}: {strategy.explanation}{grid}")
        if note and not join:  # a joining worker walks the grid its study's creator queued
            self.log("search", note)
        if strategy.name == "grid" and note is None and n_trials is None and not self._shared:
            n_trials = self.plan.grid_size
        if self._shared:
            self._fill_shared_queue(study, strategy.name == "grid", n_trials)
        else:
            self._log_warm(self.engine.warm_start(study))
        return study, n_trials

    def _log_warm(self, warm: Sequence[str]) -> None:
        if warm:
            self.log("search", "each model's default settings are tried first (warm start), in this order: "
                     + ", ".join(warm))

    def _check_fingerprint(self, study: optuna.Study) -> None:
        """A shared study must be searched on the same data and splits by every worker."""
        assert self.plan is not None
        mine = f"{self.engine.name}:{self.plan.fingerprint}"
        theirs = study.user_attrs.get("fingerprint")
        if theirs is None:
            study.set_user_attr("fingerprint", mine)
        elif theirs != mine:
            raise ConfigError(f"study '{study.study_name}' was created for other data, engine or validation "
                              "settings; use a new study name or the same data version and options")

    def _search(self, sink: TrackingSink, n_trials: int | None) -> None:
        study, n_trials = self._open_study(n_trials)
        self.study, self._planned = study, n_trials
        sink.start(self._run_params(n_trials))
        if self._shared:
            study.set_user_attr(SEARCH_OPEN, True)
        try:
            self._optimize(study, n_trials, self._after_trial(sink))
        finally:
            if self._shared:  # workers stop at their next trial boundary; the finish uses completed trials only
                study.set_user_attr(SEARCH_OPEN, False)
                self._waiting(study)  # a dead worker's trial is marked failed now (and re-queued for a resume)
        self.timings["search_end"] = self.budget.elapsed()

    def _optimize(self, study: optuna.Study, n_trials: int | None,
                  callback: Callable[[optuna.Study, optuna.trial.FrozenTrial], None]) -> None:
        """Run trials; the coordinator of a shared grid then waits for other workers' last points."""
        while True:
            left = None if n_trials is None else n_trials - len(self._ran)
            if left is not None and left <= 0:
                return
            study.optimize(self._objective, n_trials=left, callbacks=[callback], catch=(Exception,),
                           gc_after_trial=False)
            if self._stop_reason != "grid done" or self.study_role != "coordinator" or not self._await_grid(study):
                return
            self._stop_reason = None  # a dead worker's point came back to the queue: run it

    def _objective(self, trial: optuna.Trial) -> float:
        system = trial.study._storage.get_trial_system_attrs(trial._trial_id) if self._shared else {}
        if self._grid_queue and "fixed_params" not in system:  # the queue was emptied by another worker meanwhile
            self._stop_reason = "grid done"
            trial.study.stop()
            trial.set_user_attr("note", NO_GRID_POINT)
            raise optuna.TrialPruned(NO_GRID_POINT)
        candidate = self.engine.suggest(trial)
        for key, value in (("model", candidate.model), ("params", dict(candidate.params)), ("worker", self.worker)):
            trial.set_user_attr(key, value)
        if "failed_trial" in system:  # a retry of a trial whose worker died (same hyperparameters)
            trial.set_user_attr("retry_of", system["failed_trial"])
        if self._stopping():
            trial.study.stop()
            trial.set_user_attr("note", "cancelled by the user")
            raise optuna.TrialPruned("cancelled")
        if not self.budget.can_start(candidate.model):
            trial.set_user_attr("note", "skipped: would not finish within the time budget")
            raise optuna.TrialPruned("skipped for time")
        started = time.monotonic()
        try:  # a trial still running at its deadline is interrupted (see search/deadline.py)
            result = self.engine.evaluate(candidate, trial, self.budget.trial_deadline())
        except optuna.TrialPruned as exc:
            trial.set_user_attr("note", str(exc) or "pruned")
            raise
        except Exception as exc:
            trial.set_user_attr("note", f"{type(exc).__name__}: {exc}"[:300])
            raise
        self.budget.record(candidate.model, time.monotonic() - started)
        self._record(trial, candidate.model, result)
        return result.mean

    def _record(self, trial: optuna.Trial, model: str, result: Evaluation) -> None:
        """Write into the study what another worker needs to ensemble or refit this trial."""
        for key in ("std", "fit_seconds", "predict_seconds", "fold_scores"):
            trial.set_user_attr(key, getattr(result, key))
        if result.payload is not None and is_best_of_its_model(trial.study, model, result.mean,
                                                               maximize=self._maximize()):
            trial.set_user_attr(PAYLOAD_ATTR, result.payload)

    def _after_trial(self, sink: TrackingSink | None) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
        def callback(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            ranked = best_per_model(study, maximize=self._maximize())
            if ranked and sink is not None:  # a worker refits nothing: no tail to keep time for
                total = self.budget.total or 0.0
                self.budget.tail_estimate = min(1.3 * self.engine.tail_seconds(ranked), 0.35 * total)
            if trial.user_attrs.get("note") != NO_GRID_POINT:
                self._ran.append(trial)
                if sink is not None:
                    sink.log_trial(trial)
            release_unused_memory()  # the trial's models are gone; give their pages back
            best = ranked[0] if ranked else None
            self._emit(ProgressEvent(
                "trial", f"trial {trial.number} {trial.user_attrs.get('model')} {trial.state.name}",
                trial=trial.number + 1, n_trials=self._planned, elapsed=self.budget.elapsed(),
                budget=self.budget.total, best_score=best.value if best else None,
                best_model=best.model if best else None, state=trial.state.name, value=trial.value))
            reason = self._stop_reason or self._reason_to_stop(study)
            if reason is not None:
                self._stop_reason = reason
                study.stop()

        return callback

    def _reason_to_stop(self, study: optuna.Study) -> str | None:
        """Why the search should stop after this trial, or None to go on."""
        if self._stopping():
            return "cancelled"
        left = self.budget.search_time_left()
        if self.budget.total is not None and left < max(0.05, 0.5 * self.budget.cheapest_expected()):
            return "time budget"
        if self._grid_queue and not self._waiting(study):
            return "grid done"
        if self.study_role == "worker" and study.user_attrs.get(SEARCH_OPEN) is False:
            return "search closed"
        return None

    def _finish(self) -> FitResult:
        assert self.study is not None and self.plan is not None
        ranked = best_per_model(self.study, maximize=self._maximize())
        if not ranked and self._shared:
            ranked = self._await_running(self.study)
        if not ranked:
            raise DataError("no trial finished: every model failed on this data or the time budget was too "
                            f"small (first error: {self._first_failure()})")
        self._say_failures()
        self._say_if_starved()
        choice = self.engine.choose(ranked, self.log, self.budget)
        self.timings["refit_start"] = self.budget.elapsed()
        release_unused_memory(collect=True)
        final = self.engine.finalize(choice, self.log, self.budget)
        explain = getattr(self.engine, "explain", None)  # optional: e.g. a SHAP summary for the run
        if explain is not None:
            final = explain(final, self.log, self.budget, tracked=self.tracker is not None)
        self.timings["refit_seconds"] = final.refit_seconds
        leaderboard = self._leaderboard(choice.extra_rows)
        self._input_example = final.input_example
        return FitResult(
            engine=self.engine.name, problem=self.plan.problem, best_model=choice.label,
            best_params=dict(choice.params), val_score=choice.val_score, val_std=choice.val_std,
            test_score=final.test_score, test_metrics=dict(final.test_metrics), test_rows=self.plan.test_rows,
            validation=self.plan.validation, leaderboard=leaderboard, trials=trials_frame(self.study),
            decisions=(), timings={}, artifact=final.artifact, config=self._run_params(self._planned),
            study_name=self.study.study_name, input_columns=self.plan.input_columns,
            feature_schema=self.plan.feature_schema)

    def _say_if_starved(self) -> None:
        """The budget ended a search in which too few trials finished: said (:func:`.trial_notes.starved_note`)."""
        if self.budget.total is None or self._planned is not None or self._stop_reason != "time budget":
            return
        if (note := starved_note(self._ran, self.budget.total)) is not None:
            self.log("search", note)

    def _leaderboard(self, extra_rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """The ranked leaderboard with spreads and significance (the engine's test, if it has one)."""
        from automlops.search.significance import FoldTest, leaderboard_caption

        assert self.study is not None
        hook = getattr(self.engine, "significance_test", None)  # optional: e.g. a bootstrap for a holdout
        test = hook() if hook is not None else FoldTest()
        board = build_leaderboard(self.study, maximize=self._maximize(), test=test, extra_rows=extra_rows)
        scored = int(pd.to_numeric(board["score"], errors="coerce").notna().sum())
        tested = bool(board["lead"].isin(["significant", "tie"]).any()) or scored < 2  # < 2: nothing to compare
        self.log("significance", leaderboard_caption(test.name, tested=tested))
        return board

    def _say_failures(self) -> None:
        """One decision for the trials that raised: how many, which models, and the first error."""
        assert self.study is not None
        if (note := failures_note(self.study.get_trials(deepcopy=False))) is not None:
            self.log("search", note)

    def _first_failure(self) -> str:
        assert self.study is not None
        return first_note(self.study.get_trials(deepcopy=False))

    def _track(self, sink: TrackingSink, result: FitResult) -> FitResult:
        """Log the result to MLflow within what is left of the budget; say what could not be logged."""
        self.timings["tracking_start"] = self.budget.elapsed()
        deadline = self.budget.deadline
        timeout = self.config.tracking_timeout if deadline is None else max(1.0, deadline - time.monotonic())
        draft = replace(result, decisions=tuple(self.log.items), timings=dict(self.timings))
        run_id, errors = sink.finish(draft, self._input_example, timeout=timeout)
        if errors:
            self.log("tracking", "MLflow logging failed or was cut short, the model is still trained and can "
                                 "be saved: " + "; ".join(errors[:3]))
        self.timings["wall"] = self.budget.elapsed()
        return replace(result, run_id=run_id, tracking_errors=tuple(errors), decisions=tuple(self.log.items),
                       timings=dict(self.timings))

