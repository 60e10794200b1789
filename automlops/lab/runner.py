"""``run_lab``: the same table, budget and seeds for every search strategy, then the comparison.

**The protocol.** Each strategy searches the table ``repeats`` times, with the seeds ``seed``,
``seed + 1``, ... Each run is a real AutoML fit through :class:`~automlops.tabular.runner.AutoMLRunner`
(the tabular engine and the search driver, exactly what ``automlops train`` runs) with the lab's time
budget, which covers the whole fit: preparing the data, the search, and the final fit and test.
A seed fixes the test rows, the validation folds and the sampler's randomness, so seed ``s`` gives
every strategy the same data cut: the comparison is *paired* (see :mod:`automlops.lab.summary`).

**Fair time.** The runs run one after the other, never in parallel: each gets the whole machine, so
a strategy's budget buys the same compute. They are ordered seed by seed, and within a seed the
strategies take turns going first (a rotation): a slow first run (libraries loading, caches cold)
or a busy machine for a minute does not always hit the same strategy. The model libraries are
imported before the first run for the same reason.

**What each run is.** Ensembles are off (the lab compares *searches*, and a blend on top would
mix two things), the final model is not refitted on every row (the test score is measured before
that refit anyway, so it would only cost time), and runs are not tracked in MLflow one by one. The
test score is the chosen single model's score on the rows kept aside.
"""

from __future__ import annotations

import datetime as dt
import importlib
import time
from collections.abc import Callable, Sequence

import pandas as pd

from automlops.core.results import ProgressEvent
from automlops.errors import AutoMLOpsError, Cancelled, ConfigError, DataError
from automlops.lab.curves import strategy_bands
from automlops.lab.history import read_history
from automlops.lab.summary import summarise, target_level, tolerance_for, verdict
from automlops.lab.types import LabResult, LabRun
from automlops.search.strategies import STRATEGIES

__all__ = ["DEFAULT_STRATEGIES", "MIN_BUDGET", "check_lab_options", "run_lab"]

DEFAULT_STRATEGIES = ("tpe", "random", "grid", "hyperband", "cmaes", "qmc")
MIN_BUDGET = 2.0  # seconds: below this, preparing the data leaves no time for a single trial

Progress = Callable[[float, str], None]


class _CancelFlag:
    """The search driver's stop event, read from the lab's ``cancelled()`` (sticky once true)."""

    def __init__(self, cancelled: Callable[[], bool] | None) -> None:
        self._cancelled, self._set = cancelled, False

    def is_set(self) -> bool:
        if not self._set and self._cancelled is not None and self._cancelled():
            self._set = True
        return self._set


def check_lab_options(frame: pd.DataFrame, target: str, *, budget: float, repeats: int,
                      strategies: Sequence[str]) -> tuple[str, ...]:
    """Refuse what cannot give a fair comparison, before any run starts; return the strategies."""
    names = tuple(dict.fromkeys(s.strip() for s in strategies if s.strip()))
    if not names:
        raise ConfigError(f"name at least one search strategy ({', '.join(STRATEGIES.names())})")
    for name in names:
        STRATEGIES.get(name)  # unknown → ConfigError naming the known ones
    if repeats < 2:
        raise ConfigError("a lab needs at least 2 repeats per strategy: with one seed there is no spread, so no "
                          "way to tell a better strategy from a lucky one (use --repeats 3 or more)")
    if budget < MIN_BUDGET:
        raise ConfigError(f"a budget of {budget:g} s is too small: each run needs at least {MIN_BUDGET:g} s to "
                          "prepare the data and finish one trial")
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:12])) + (", ..." if frame.shape[1] > 12 else "")
        raise DataError(f"target column '{target}' is not in the data (columns: {shown})")
    return names


def _warm_up() -> None:
    """Import every available model library now, so the first run does not pay for it."""
    from automlops.tabular.zoo import ZOO

    for _, spec in ZOO.items():
        for module in spec.requires:
            try:
                importlib.import_module(module)
            except ImportError:
                continue


def _one_run(frame: pd.DataFrame, target: str, strategy: str, seed: int, *, budget: float, preset: str,
             models: Sequence[str] | None, stop: _CancelFlag, on_trial: Callable[[ProgressEvent], None]
             ) -> LabRun | None:
    """One strategy, one seed; ``None`` when the lab was cancelled during the run."""
    from automlops.tabular.runner import AutoMLRunner

    runner = AutoMLRunner(target, preset=preset, search=strategy, models=list(models) if models else None,
                          ensemble="none", time_budget=budget, seed=seed, refit_full=False,
                          keep_scored_model=False, callbacks=[on_trial], stop_event=stop)  # type: ignore[arg-type]
    started, clock = dt.datetime.now(), time.monotonic()
    error: str | None = None
    try:
        runner.fit(frame)
    except Cancelled:
        return None
    except AutoMLOpsError as exc:
        if runner.driver_.study is None:  # refused before searching (the data, a model name): every run would be
            raise
        error = str(exc)
    wall = time.monotonic() - clock
    driver = runner.driver_
    maximize = driver.plan is None or driver.plan.problem.direction == "maximize"
    n_steps = driver.plan.n_steps if driver.plan is not None else 1
    history, counts = read_history(driver.study, started, n_steps=n_steps, maximize=maximize) \
        if driver.study is not None else ((), None)
    ok = error is None
    return LabRun(strategy=strategy, seed=seed, test_score=float(runner.test_score_) if ok else float("nan"),
                  best_val=float(runner.val_score_) if ok else float("nan"),
                  best_model=runner.best_model_name_ if ok else "", wall_seconds=wall,
                  search_seconds=float(driver.timings.get("search_end", wall)),
                  n_trials=counts.trials if counts else 0, n_complete=counts.complete if counts else 0,
                  n_pruned=counts.pruned if counts else 0, n_stopped=counts.stopped if counts else 0,
                  n_failed=counts.failed if counts else 0, saved_seconds=counts.saved_seconds if counts else 0.0,
                  n_steps=n_steps, history=history, error=error)


def _schedule(strategies: Sequence[str], seeds: Sequence[int]) -> list[tuple[str, int]]:
    """Seed by seed; within seed number i the strategies rotate by i (see the module docstring)."""
    k = len(strategies)
    return [(strategies[(i + j) % k], s) for i, s in enumerate(seeds) for j in range(k)]


def _problem_of(frame: pd.DataFrame, target: str) -> tuple[str, str]:
    from automlops.core.problem import infer_problem

    problem = infer_problem(frame, target)
    return problem.metric, problem.direction


def _decisions(strategies: Sequence[str], seeds: Sequence[int], budget: float, preset: str,
               models: Sequence[str] | None) -> list[str]:
    out = [f"{len(strategies)} strategies × {len(seeds)} seeds ({', '.join(map(str, seeds))}) = "
           f"{len(strategies) * len(seeds)} runs of {budget:g} s each, one after the other (each run gets the whole "
           "machine), seed by seed with the strategies taking turns going first",
           "a seed fixes the test rows, the validation folds and the sampler's randomness: seed s gives every "
           "strategy the same data cut, so test scores are compared pair by pair",
           f"each run: preset '{preset}'" + (f", models {', '.join(models)}" if models else "")
           + ", no ensemble (the lab compares searches), no refit on all rows, no MLflow run per run"]
    if any(s != "grid" for s in strategies):
        out.append("every strategy but grid first tries each model's default settings (the studio's warm start), "
                   "so the first trials are the same for all of them; they differ from there on")
    if "cmaes" in strategies and (models is None or len(models) > 1):
        out.append("cmaes: with several models the model choice and each model's own hyperparameters fall back to "
                   "random sampling (CMA-ES only handles numeric parameters every trial shares); search one model "
                   "to see CMA-ES proper")
    if "grid" in strategies:
        out.append("grid: walks each model's small fixed grid in a seeded random order until the budget ends")
    return out


def run_lab(frame: pd.DataFrame, target: str, *, budget: float, repeats: int,
            strategies: Sequence[str] = DEFAULT_STRATEGIES, seed: int = 0, progress: Progress | None = None,
            cancelled: Callable[[], bool] | None = None, preset: str = "medium",
            models: Sequence[str] | None = None, dataset: str = "") -> LabResult:
    """Run every strategy ``repeats`` times on ``frame`` with the same budget and seeds; compare them.

    ``progress(fraction_done, message)`` is called as trials end; ``cancelled()`` is polled between
    trials, and a cancelled lab returns what finished (``cancelled=True``).
    """
    names = check_lab_options(frame, target, budget=budget, repeats=repeats, strategies=strategies)
    metric, direction = _problem_of(frame, target)
    seeds = tuple(seed + i for i in range(repeats))
    plan, stop, clock = _schedule(names, seeds), _CancelFlag(cancelled), time.monotonic()
    decisions = _decisions(names, seeds, budget, preset, models)
    runs: list[LabRun] = []
    _warm_up()
    for index, (strategy, run_seed) in enumerate(plan):
        if stop.is_set():
            break
        on_trial = _progress_hook(progress, index, len(plan), strategy, run_seed, budget)
        on_trial(ProgressEvent("trial", "starting", elapsed=0.0, budget=budget))
        run = _one_run(frame, target, strategy, run_seed, budget=budget, preset=preset, models=models,
                       stop=stop, on_trial=on_trial)
        if run is None:
            decisions.append(f"cancelled during {strategy} seed {run_seed}: that run is left out")
            break
        if run.error:
            decisions.append(f"{strategy} seed {run_seed} failed: {run.error}")
        runs.append(run)
    if progress is not None:
        progress(1.0, "lab cancelled" if stop.is_set() else "lab finished")
    return _result(runs, names, seeds, metric=metric, direction=direction, budget=budget, repeats=repeats,
                   decisions=decisions, seconds=time.monotonic() - clock, cancelled=stop.is_set(), dataset=dataset,
                   target=target)


def _progress_hook(progress: Progress | None, index: int, total: int, strategy: str, seed: int,
                   budget: float) -> Callable[[ProgressEvent], None]:
    def hook(event: ProgressEvent) -> None:
        if progress is None or event.kind != "trial":
            return
        done = (index + min(1.0, (event.elapsed or 0.0) / budget)) / total
        best = f", best {event.best_score:.4f}" if event.best_score is not None else ""
        trial = f": trial {event.trial}" if event.trial else ""
        progress(min(done, 0.999), f"run {index + 1}/{total} · {strategy} seed {seed}{trial}{best}")

    return hook


def _result(runs: Sequence[LabRun], names: Sequence[str], seeds: Sequence[int], *, metric: str, direction: str,
            budget: float, repeats: int, decisions: list[str], seconds: float, cancelled: bool, dataset: str,
            target: str) -> LabResult:
    maximize = direction == "maximize"
    level = target_level(runs, names, maximize=maximize)
    tol = tolerance_for(level) if level is not None else 0.0
    rows = summarise(runs, names, maximize=maximize, level=level, tol=tol, metric=metric)
    curves = tuple(band for name in names for band in strategy_bands(name, [r for r in runs if r.strategy == name],
                                                                     budget))
    text = verdict(rows, metric=metric, maximize=maximize, level=level, tol=tol)
    failed = [r for r in runs if r.error]
    if failed and not any(r.ok for r in runs):
        text += (f" Every run failed; the first said: {failed[0].error}. Give each run a bigger budget (or fewer, "
                 "cheaper models).")
    if cancelled:
        text = f"Cancelled after {len(runs)} of {len(names) * len(seeds)} runs; from those: " + text
    return LabResult(dataset=dataset, target=target, metric=metric, direction=direction, budget=budget,
                     repeats=repeats, seeds=tuple(seeds), strategies=tuple(names), runs=tuple(runs),
                     summaries=rows, curves=curves, target_level=level, tolerance=tol, verdict=text,
                     decisions=tuple(decisions), seconds=seconds, cancelled=cancelled)
