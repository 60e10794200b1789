"""Shared studies: what a coordinator and its workers do so that many processes search one study.

:class:`~automlops.search.driver.SearchDriver` runs one search loop; this mixin adds what only matters
when the study lives in a storage other processes share (SQLite or PostgreSQL, opened by
:func:`~automlops.search.storage.open_storage` with heartbeats and retries):

* **Pins.** ``DriverConfig.study_attrs`` (the data version, the train recipe) are written into the
  study by whoever creates it; a process with other values is refused, naming the key.
* **One queue, filled once.** The warm-start defaults – or, for grid search, every grid point – are
  enqueued by exactly one process (an atomic :func:`~automlops.search.storage.claim`); everyone pops
  waiting trials, and popping is atomic in the database, so no point runs twice.
* **Open and closed.** The coordinator sets ``search_open`` while it searches; workers stop at their
  next trial boundary once it is False. The coordinator then ranks the *completed* trials of every
  process – and, if none finished yet, waits for the ones live workers are running.
* **Workers.** :meth:`SharedStudy.search_only` joins an existing study and only runs trials: no
  choice, refit, tracking or saving.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna

from automlops.errors import ConfigError
from automlops.search.engine import TrialOutcome
from automlops.search.storage import claim, open_storage, safe_url, study_names
from automlops.search.strategies import grid_points, quiet_optuna
from automlops.search.trials import best_per_model

if TYPE_CHECKING:
    from automlops.search.budget import TimeBudget
    from automlops.search.driver import DriverConfig
    from automlops.search.engine import DecisionLog, Engine, SearchPlan

__all__ = ["SEARCH_OPEN", "SharedStudy", "WorkerReport"]

SEARCH_OPEN = "search_open"  # study user attr: True while the coordinator searches, False once it stopped
_QUEUE_CLAIM = "automlops:queue"  # study system attr: who fills the study's queue of trials (one process)
_QUEUE_READY = "automlops:queue_ready"  # study system attr: the queue is filled
_QUEUE_WAIT = 30.0  # seconds a joining process waits for the creator to fill the queue


@dataclass(frozen=True)
class WorkerReport:
    """What one :meth:`SearchDriver.search_only` call did in a shared study."""

    study_name: str
    trials_run: int
    completed: int
    failed: int
    pruned: int
    seconds: float
    stopped_because: str  # "n_trials", "time budget", "cancelled", "search closed" or "grid done"


class SharedStudy:
    """Mixin of :class:`~automlops.search.driver.SearchDriver`: the shared-study half of the driver."""

    # what the mixin uses of the driver (set in SearchDriver.__init__ and its search loop)
    engine: Engine
    config: DriverConfig
    budget: TimeBudget
    log: DecisionLog
    plan: SearchPlan | None
    study: optuna.Study | None
    worker: str
    study_role: str
    _planned: int | None
    _grid_queue: bool
    _stop_reason: str | None
    _ran: list[optuna.trial.FrozenTrial]

    if TYPE_CHECKING:  # the driver's own methods the mixin calls
        def _stopping(self) -> bool: ...
        def _maximize(self) -> bool: ...
        def _log_warm(self, warm: Sequence[str]) -> None: ...
        def _open_study(self, n_trials: int | None, *, join: bool = False) -> tuple[optuna.Study, int | None]: ...
        def _optimize(self, study: optuna.Study, n_trials: int | None,
                      callback: Callable[[optuna.Study, optuna.trial.FrozenTrial], None]) -> None: ...
        def _after_trial(self, sink: Any) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]: ...

    def _prepare(self, data: Any) -> SearchPlan:
        """The engine's prepare step, told first whether the study is shared (an optional engine attribute):
        workers of one study must agree on the validation splits, so an engine that adapts them to a timed
        fit (the tabular one) must not do so in a shared study."""
        if hasattr(self.engine, "shared_study"):
            self.engine.shared_study = self.config.storage is not None
        return self.engine.prepare(data, self.log)

    def _fill_shared_queue(self, study: optuna.Study, grid: bool, n_trials: int | None) -> None:
        """Enqueue the warm-start defaults (or every grid point) once per study, not once per worker."""
        assert self.plan is not None
        if claim(study, _QUEUE_CLAIM, self.worker):
            if grid:
                assert self.plan.grid_size is not None
                points, _ = grid_points(self.plan.grid_size, n_trials, self.config.seed)
                for point in points:
                    study.enqueue_trial({"grid_point": point})
                self.log("search", f"the {len(points)} grid points are queued in study '{study.study_name}' once; "
                                   "every worker takes the next waiting one, so no point runs twice")
            else:
                self._log_warm(self.engine.warm_start(study))
            study._storage.set_study_system_attr(study._study_id, _QUEUE_READY, True)
            return
        waited = time.monotonic()
        while _QUEUE_READY not in study._storage.get_study_system_attrs(study._study_id):
            if time.monotonic() - waited > _QUEUE_WAIT:
                self.log("search", f"study '{study.study_name}': its queue was never marked filled (its creator "
                                   "may have died); searching anyway")
                break
            time.sleep(0.2)
        what = "grid points" if grid else "default configurations (warm start)"
        self.log("search", f"joined study '{study.study_name}' ({len(study.trials)} trial(s) so far); its "
                           f"{what} were queued once by the process that created it")

    def _check_study_attrs(self, study: optuna.Study) -> None:
        """Pin ``config.study_attrs`` in the study; a study pinned to other values is refused, naming the key."""
        existing = study.user_attrs
        for key, value in self.config.study_attrs.items():
            mine = json.loads(json.dumps(value))  # what the storage gives back (tuples become lists...)
            if key not in existing:
                study.set_user_attr(key, mine)
            elif existing[key] != mine:
                raise ConfigError(f"study '{study.study_name}' was created for {key} {_differs(existing[key], mine)}; "
                                  "use a new study name or the same data and options")

    def _await_grid(self, study: optuna.Study) -> bool:
        """Wait while other workers run the last grid points; True when a point was re-queued (a dead worker's)."""
        while True:
            if self._waiting(study):
                return True
            running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            if not running or self._stopping() or self.budget.search_time_left() <= 0:
                return False
            time.sleep(0.5)

    def _await_running(self, study: optuna.Study) -> list[TrialOutcome]:
        """No trial of a shared study has finished yet, but workers are still running some: wait for them.

        Giving up while another machine's result is seconds away would waste the whole search, so the
        coordinator waits – while a trial runs, its worker is alive, and the budget's 10 % tolerance lasts.
        """
        total = self.budget.total
        deadline = None if total is None else 1.1 * total - self.budget.fixed_tail
        waited = time.monotonic()
        while True:
            self._waiting(study)  # a dead worker's trial is failed, so it is not waited for
            ranked = best_per_model(study, maximize=self._maximize())
            running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            if ranked or not running or self._stopping() or \
                    (deadline is not None and self.budget.elapsed() >= deadline):
                break
            time.sleep(0.5)
        if ranked:
            self.log("search", f"no trial had finished when the search closed; waited "
                               f"{time.monotonic() - waited:.1f} s for the trials other workers were running")
        return ranked

    def _waiting(self, study: optuna.Study) -> bool:
        """Whether a trial waits in the queue, after failing (and so re-queueing) the trials of dead workers."""
        with warnings.catch_warnings():  # fail_stale_trials is flagged experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return bool(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)))

    def search_only(self, data: Any, *, wait: float = 0.0) -> WorkerReport:
        """Join an existing shared study and run trials in it; no choose, refit, tracking or saving.

        Stops at this worker's own ``n_trials``, its ``time_budget`` (all of it goes to trials: there
        is nothing to refit), a cancel, the coordinator closing the search (``search_open`` False) or,
        for a grid, an empty queue. Without ``n_trials`` and ``time_budget`` it runs until the search
        closes. ``wait``: seconds to wait, after preparing the data, for the study to be created (a
        worker started before its coordinator); the time budget counts from the search's start.
        """
        config = self.config
        config.check(self.engine)
        if not config.storage or not config.study_name:
            raise ConfigError("a worker needs the study's storage URL and name")
        self.study_role = "worker"
        self.budget.total = config.time_budget
        self.budget.fixed_tail, self.budget.first_trial_share = 0.0, 1.0
        self.plan = self._prepare(data)
        if wait > 0:
            self._wait_for_study(config.storage, config.study_name, wait)
            self.budget.started = time.monotonic()
            if self._stopping():
                return WorkerReport(config.study_name, 0, 0, 0, 0, round(self.budget.elapsed(), 3), "cancelled")
        with quiet_optuna():
            study, n_trials = self._open_study(config.n_trials, join=True)
            self.study, self._planned = study, n_trials
            self.log("search", f"worker {self.worker} searches on {safe_url(config.storage)}")
            if study.user_attrs.get(SEARCH_OPEN) is False:
                self._stop_reason = "search closed"
            elif self._grid_queue and not self._waiting(study):
                self._stop_reason = "grid done"
            else:
                self._optimize(study, n_trials, self._after_trial(None))
        states = [t.state for t in self._ran]
        reason = self._stop_reason or ("cancelled" if self._stopping() else "n_trials")
        return WorkerReport(study_name=study.study_name, trials_run=len(self._ran),
                            completed=states.count(optuna.trial.TrialState.COMPLETE),
                            failed=states.count(optuna.trial.TrialState.FAIL),
                            pruned=states.count(optuna.trial.TrialState.PRUNED),
                            seconds=round(self.budget.elapsed(), 3), stopped_because=reason)

    def _wait_for_study(self, url: str, name: str, wait: float) -> None:
        """Poll the storage until the study ``name`` exists or ``wait`` seconds passed (then joining fails)."""
        storage = open_storage(url)
        until = time.monotonic() + wait
        if name not in study_names(storage):
            self.log("search", f"waiting up to {wait:g} s for study '{name}' to be created")
        while name not in study_names(storage) and time.monotonic() < until and not self._stopping():
            time.sleep(0.2)

    # ------------------------------------------------------------------ finish


def _differs(theirs: Any, mine: Any) -> str:
    """``<theirs>, not <mine>`` – for two dicts, only the keys that differ; short either way."""
    if isinstance(theirs, dict) and isinstance(mine, dict):
        keys = sorted(k for k in set(theirs) | set(mine) if theirs.get(k) != mine.get(k))
        theirs = {k: theirs.get(k) for k in keys}
        mine = {k: mine.get(k) for k in keys}

    def short(v: Any) -> str:
        text = json.dumps(v, sort_keys=True, default=str)
        return text if len(text) <= 160 else text[:157] + "..."

    return f"{short(theirs)}, not {short(mine)}"
