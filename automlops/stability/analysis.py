"""``analyze``: refit one configuration many times and measure how much its score moves.

A validation score is one draw from a distribution: another split of the rows, another seed, a
slightly different hyperparameter, and the number changes. The analysis refits the configuration
(a :class:`~automlops.stability.types.StabilitySubject`, given by each engine's adapter) while
changing one thing at a time:

1. **splits** – K resampled train/test splits chosen for the task by the subject (repeated
   stratified K-fold, repeated time-series splits, bootstrap with out-of-bag scoring…), one fixed
   seed: the spread is *data variance*. Its 95 % interval is the Nadeau–Bengio corrected one
   (the splits share training rows, see :mod:`automlops.stability.verdict`).
2. **seeds** – N seeds of the model's own randomness on the one split it was validated on: the
   spread is *algorithm variance*. A model with no randomness skips this section (and says so).
3. **sensitivity** – each hyperparameter swept over ``points`` values around its chosen one (log
   scale where the search space is), the others fixed; each point is refitted on the same
   ``repeats`` resampled splits (*paired*: points differ only by the parameter), so every point
   has a mean and a spread, and a swing smaller than that spread is noise.
4. **fANOVA** – from the search's own trials, which hyperparameter explained the score's
   variation across the space the search visited (:mod:`automlops.stability.fanova`).

All refits are planned first, then run in parallel worker processes within the time budget
(:mod:`automlops.stability.execute`); what did not fit in the budget is skipped and recorded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from automlops.errors import ConfigError, ModelError
from automlops.stability.execute import Task, run_tasks, worker_count
from automlops.stability.fanova import param_importances
from automlops.stability.types import (
    Fit,
    Resample,
    SensitivityCurve,
    Spread,
    StabilityReport,
    StabilitySubject,
)
from automlops.stability.verdict import clipped, corrected_spread, verdict

__all__ = ["analyze", "check_options"]

Progress = Callable[[float, str], None]
POOL_START_SECONDS = 2.0  # starting the worker processes: spawn, import the studio, receive the subject


def check_options(splits: int | None, seeds: int | None, sensitivity: bool, points: int = 5, repeats: int = 3,
                  time_budget: float | None = None, n_jobs: int = -1) -> None:
    """Refuse options that cannot give a spread (K or N of 1, nothing asked...) with a clear ConfigError."""
    for name, value in (("splits", splits), ("seeds", seeds)):
        if value is not None and value < 2:
            what = "splits K" if name == "splits" else "seeds N"
            raise ConfigError(f"{what} must be at least 2: a spread needs two scores or more (got {value})")
    if splits is None and seeds is None and not sensitivity:
        raise ConfigError("nothing to analyse: ask for splits (K), seeds (N) and/or sensitivity")
    if sensitivity and points < 2:
        raise ConfigError(f"sensitivity needs at least 2 points per hyperparameter (got {points})")
    if sensitivity and repeats < 1:
        raise ConfigError(f"sensitivity repeats must be at least 1 (got {repeats})")
    if time_budget is not None and not time_budget > 0:
        raise ConfigError(f"the time budget must be a positive number of seconds (got {time_budget})")
    if n_jobs == 0:
        raise ConfigError("n_jobs must be -1 (every core) or a positive number of worker processes")


def _test_fraction(resamples: Sequence[Resample]) -> float | None:
    """Mean n_test / n_train of the splits (for the corrected interval), when their sizes are known."""
    try:
        ratios = [len(r.test) / len(r.train) for r in resamples if len(r.train)]
    except TypeError:  # an engine's own description of a split, without a length
        return None
    return sum(ratios) / len(ratios) if ratios else None


def _plan_splits(subject: StabilitySubject, k: int, seed: int, notes: list[str]) -> tuple[list[Task], str,
                                                                                          float | None]:
    scheme, resamples = subject.resampling(k, seed)
    notes.append(f"splits: {scheme}")
    return [Task("split", i, r, seed) for i, r in enumerate(resamples)], scheme, _test_fraction(resamples)


def _has_randomness(subject: StabilitySubject, deadline: float | None, time_budget: float | None,
                    started: float) -> bool:
    """The subject's randomness probe (its first fits), held to the analysis' deadline like any refit.

    Its fits get one thread, as the refits in the workers do: a LightGBM fit on every core of a busy
    machine (cores shared with other processes) once took 45 s for what one thread fits in 1 s.
    """
    from automlops.search.deadline import DeadlineExceeded, interrupt_at
    from automlops.tabular.early_stopping import threads_capped

    try:
        with interrupt_at(deadline), threads_capped(1):
            return subject.has_randomness()
    except DeadlineExceeded:
        raise ConfigError(f"a time budget of {time_budget:g} s is too small for even one refit of '{subject.label}': "
                          f"loading and its first fits (the randomness probe, two seeds) were still running after "
                          f"{time.monotonic() - started:.0f} s; give it more seconds") from None


def _plan_seeds(subject: StabilitySubject, n: int, seed: int, notes: list[str],
                has_randomness: Callable[[], bool]) -> list[Task]:
    if not has_randomness():
        notes.append(f"seeds: skipped, '{subject.label}' has no randomness of its own (every seed gives the same "
                     "model), so all of its spread comes from the data")
        return []
    ref = subject.reference_split()
    notes.append(f"seeds: {n} seeds ({seed}…{seed + n - 1}) on the split the model was validated on, rows fixed")
    return [Task("seed", i, ref, seed + i) for i in range(n)]


def _plan_sensitivity(subject: StabilitySubject, points: int, repeats: int, seed: int,
                      notes: list[str]) -> list[Task]:
    sweeps = [s for s in subject.sweeps(points) if len(s.values) >= 2]
    if not sweeps:
        notes.append(f"sensitivity: skipped, '{subject.label}' has no hyperparameter to sweep")
        return []
    if repeats >= 2:  # the first splits of a 5-split scheme: each learns on as many rows as validation did
        scheme, resamples = subject.resampling(max(repeats, 5), seed)
        resamples = resamples[:repeats]
        notes.append(f"sensitivity: {len(sweeps)} hyperparameter(s) × up to {points} values, each refitted on the "
                     f"same {len(resamples)} splits (the first of {scheme}) so the points compare fairly (paired) "
                     "and each has a spread")
    else:
        resamples = [subject.reference_split()]
        notes.append(f"sensitivity: {len(sweeps)} hyperparameter(s), each value refitted once on the validation split")
    tasks = []
    for r, resample in enumerate(resamples):  # repeat-major: a budget cut still leaves whole curves
        for sweep in sweeps:
            for j, value in enumerate(sweep.values):
                tasks.append(Task("sensitivity", j, resample, seed + r, {sweep.param: value}, sweep.param, value))
    return tasks


def _paired_noise(rows: Sequence[Fit], chosen: int) -> float | None:
    """How much a point differs from the chosen one *by chance*: the std over repeats of the paired
    differences (same split, other value), averaged over the points. ``None`` with one repeat."""
    base = {f.seed: f.score for f in rows if f.index == chosen}
    stds = []
    for j in {f.index for f in rows} - {chosen}:
        diffs = [f.score - base[f.seed] for f in rows if f.index == j and f.seed in base]
        if len(diffs) >= 2:
            stds.append(Spread.of(diffs).std)
    return sum(stds) / len(stds) if stds else None


def _curves(subject: StabilitySubject, fits: Sequence[Fit], points: int
            ) -> tuple[tuple[SensitivityCurve, ...], dict[str, float]]:
    """The sensitivity curves and, per hyperparameter, the paired noise its swing is judged against."""
    curves, noise = [], {}
    for sweep in subject.sweeps(points):
        rows = [f for f in fits if f.kind == "sensitivity" and f.param == sweep.param and f.ok]
        if not rows:
            continue
        pts = tuple((value, Spread.of([f.score for f in rows if f.index == j]))
                    for j, value in enumerate(sweep.values) if any(f.index == j for f in rows))
        curves.append(SensitivityCurve(sweep.param, sweep.chosen, sweep.log, sweep.categorical, pts))
        chosen = [j for j, v in enumerate(sweep.values) if v == sweep.chosen]
        paired = _paired_noise(rows, chosen[0]) if chosen else None
        if paired is not None:
            noise[sweep.param] = paired
    return tuple(curves), noise


def _progress(progress: Progress | None, started: float) -> Callable[[Fit, int, int], None]:
    def report(fit: Fit, done: int, total: int) -> None:
        if progress is None:
            return
        what = f"{fit.kind} {fit.index + 1}" if fit.param is None else f"{fit.param}={fit.value}"
        result = f"{fit.score:.4g}" if fit.ok else f"failed ({fit.error})"
        progress(done / max(total, 1), f"refit {done}/{total} ({what}): {result} · {time.monotonic() - started:.0f} s")

    return report


def _budget_check(subject: StabilitySubject, time_budget: float | None) -> float | None:
    """Expected seconds of one refit (from the subject's own timings, if it has them); refuse a budget below it."""
    estimate = getattr(subject, "fit_seconds", None)
    estimate = float(estimate) if isinstance(estimate, (int, float)) and math.isfinite(estimate) else None
    if time_budget is not None and estimate is not None and estimate > time_budget:
        raise ConfigError(f"a time budget of {time_budget:g} s is too small for even one refit of "
                          f"'{subject.label}' (about {estimate:.1f} s each); give it at least "
                          f"{math.ceil(estimate * 2)} s")
    return estimate


def _skipped_note(skipped: Sequence[Task], total: int, cancelled: bool) -> str | None:
    if not skipped:
        return None
    counts: dict[str, int] = {}
    for t in skipped:
        counts[t.kind] = counts.get(t.kind, 0) + 1
    detail = ", ".join(f"{n} {k}" for k, n in counts.items())
    why = "cancelled by the user" if cancelled else "the time budget would have been exceeded"
    return f"{len(skipped)} of {total} planned refits were not run ({detail}): {why}"


def _too_small(time_budget: float | None, subject: StabilitySubject, started: float, estimate: float | None,
               fitted: float | None) -> ConfigError:
    """The budget cannot hold one refit: say what the time went to and how much to give."""
    spent = time.monotonic() - started
    each = f"one refit takes about {estimate:.1f} s" if estimate else "no refit finished in time"
    more = math.ceil(spent + 2 * (estimate or 0.0)) if estimate else None
    return ConfigError(f"a time budget of {time_budget:g} s is too small for even one refit of '{subject.label}': "
                       f"{spent - (fitted or 0.0):.1f} s went to loading the model and its data"
                       + (f" and {fitted:.1f} s to its first fits" if fitted else "")
                       + f", and {each}; give it " + (f"at least {more} s" if more else "more seconds"))


def _no_result(fits: Sequence[Fit], time_budget: float | None, subject: StabilitySubject) -> Exception:
    errors = [f.error for f in fits if f.error]
    if time_budget is not None and errors and all("deadline" in e for e in errors):
        return ConfigError(f"a time budget of {time_budget:g} s is too small for even one refit of "
                           f"'{subject.label}': none finished in time; give it more seconds")
    first = errors[0] if errors else "no score"
    return ModelError(f"every refit of '{subject.label}' failed; the first error: {first}")


def _importances(subject: StabilitySubject, trials: Sequence[Any] | None, notes: list[str]) -> dict[str, float]:
    if trials is None:
        return {}
    dists = getattr(subject, "search_distributions", None)
    try:
        values, note = param_importances(trials, model=getattr(subject, "search_model", None) or subject.label,
                                         direction=subject.direction, distributions=dists() if dists else None)
    except Exception as exc:  # fANOVA is a bonus: never lose the refits over it
        values, note = {}, f"fANOVA importance could not be computed: {exc}"
    notes.append(note)
    model, params = getattr(subject, "search_model", None), subject.params
    if model and values and all(f"{model}__{k}" in params for k in values):  # an ensemble's member: say which
        values = {f"{model}__{k}": v for k, v in values.items()}
    return values


def _schedule(subject: StabilitySubject, tasks: list[Task], n_jobs: int, deadline: float | None,
              estimate: float | None, probe_seconds: float | None, time_budget: float | None, started: float,
              notes: list[str]) -> tuple[int, float | None]:
    """Order ``tasks`` (the probe's free refits first) and choose the worker processes: the worker
    count and the per-refit estimate, or the refusal of a budget too small for one refit."""
    probed = set(getattr(subject, "probed_seeds", ()))  # refits the probe already made cost nothing: first
    tasks.sort(key=lambda t: not (t.kind == "seed" and t.seed in probed))
    workers = worker_count(n_jobs, len(tasks))
    if (probe_seconds or 0.0) > 0.05:  # two fits, one after the other, on the validation split
        estimate = max(estimate or 0.0, (probe_seconds or 0.0) / 2)
    if tasks and deadline is not None and estimate is not None and time.monotonic() + estimate > deadline \
            and not _only_probed(subject, tasks):
        raise _too_small(time_budget, subject, started, estimate, probe_seconds)
    if workers > 1 and deadline is not None and time.monotonic() + (estimate or 0.0) + POOL_START_SECONDS > deadline:
        workers = 1  # too little time left to start worker processes and still finish a refit in them
        notes.append(f"the refits ran in this process: starting worker processes (~{POOL_START_SECONDS:g} s) would "
                     "not have left the time budget room for one refit")
    if tasks:
        notes.append(f"{len(tasks)} refits planned, run in {workers} worker process(es)"
                     + (f" within {time_budget:g} s" if time_budget else ""))
    return workers, estimate


def analyze(subject: StabilitySubject, *, splits: int | None = None, seeds: int | None = None,
            sensitivity: bool = False, points: int = 5, repeats: int = 3, time_budget: float | None = None,
            n_jobs: int = -1, progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
            trials: Sequence[Any] | None = None, tracker: Any = None, parent_run_id: str | None = None,
            model_ref: str = "", seed: int | None = None, started: float | None = None) -> StabilityReport:
    """Run the stability analysis of ``subject`` (see the module docstring) and return its report.

    ``splits``/``seeds``: K splits / N seeds (at least 2 each, ``None`` skips the section);
    ``sensitivity``: sweep every hyperparameter over ``points`` values, each refitted on ``repeats``
    splits; ``time_budget``: seconds for the whole analysis; ``n_jobs``: worker processes (-1 =
    every core); ``progress(fraction, message)`` after each refit; ``cancelled()`` polled between
    batches (a cancelled analysis returns what it has, ``cancelled=True``); ``trials``: the search's
    trials for fANOVA; ``tracker``: log the report as an MLflow run (under ``parent_run_id``);
    ``started``: when the budget's clock started (``time.monotonic()``; default now): a command
    starts it before loading the model, so the budget holds for the whole command.
    """
    check_options(splits, seeds, sensitivity, points, repeats, time_budget, n_jobs)
    started = time.monotonic() if started is None else started
    deadline = None if time_budget is None else started + time_budget
    estimate = _budget_check(subject, time_budget)
    probe: dict[str, float] = {}

    def has_randomness() -> bool:  # timed: its fits are the best estimate of a refit's cost
        begun = time.monotonic()
        random = _has_randomness(subject, deadline, time_budget, started)
        probe["seconds"] = time.monotonic() - begun
        return random

    base = int(seed if seed is not None else getattr(subject, "seed", 0) or 0)
    notes: list[str] = [str(n) for n in getattr(subject, "notes", ())]
    plan = _plan_tasks(subject, splits, seeds, sensitivity, points, repeats, base, notes, has_randomness)
    tasks, scheme, fraction, seeds_skipped = plan
    workers, estimate = _schedule(subject, tasks, n_jobs, deadline, estimate, probe.get("seconds"),
                                  time_budget, started, notes)
    outcome = run_tasks(subject, tasks, workers=workers, deadline=deadline,
                        estimate=None if _only_probed(subject, tasks) else estimate,
                        progress=_progress(progress, started), cancelled=cancelled)
    if tasks and not outcome.cancelled and not any(f.ok for f in outcome.fits):
        raise (_too_small(time_budget, subject, started, estimate, probe.get("seconds"))
               if not outcome.fits and outcome.skipped else _no_result(outcome.fits, time_budget, subject))
    report = _assemble(subject, outcome.fits, notes, scheme=scheme, fraction=fraction, points=points,
                       seeds_skipped=seeds_skipped, trials=trials, model_ref=model_ref, started=started,
                       extra={"planned": len(tasks), "skipped": len(outcome.skipped), "workers": workers,
                              "repeats": repeats, "points": points, "time_budget": time_budget, "seed": base},
                       skipped=_skipped_note(outcome.skipped, len(tasks), outcome.cancelled),
                       cancelled=outcome.cancelled)
    if tracker is not None:
        from automlops.stability.tracking import track_report

        report = track_report(report, tracker, parent_run_id=parent_run_id)
    return report


def _plan_tasks(subject: StabilitySubject, splits: int | None, seeds: int | None, sensitivity: bool, points: int,
                repeats: int, base: int, notes: list[str],
                has_randomness: Callable[[], bool]) -> tuple[list[Task], str, float | None, str | None]:
    """Every refit the analysis asks for: the splits' (with their scheme and test fraction), the seeds'
    (none when the model has no randomness: the last value says so) and the sensitivity sweep's."""
    tasks, scheme, fraction = _plan_splits(subject, splits, base, notes) if splits else ([], "", None)
    seeds_skipped = None
    if seeds:
        seed_tasks = _plan_seeds(subject, seeds, base, notes, has_randomness)
        seeds_skipped = None if seed_tasks else "no randomness"
        tasks += seed_tasks
    if sensitivity:
        tasks += _plan_sensitivity(subject, points, repeats, base, notes)
    if not tasks and seeds_skipped is None:
        raise ConfigError(f"nothing to refit for '{subject.label}': " + "; ".join(notes))
    return tasks, scheme, fraction, seeds_skipped


def _only_probed(subject: StabilitySubject, tasks: Sequence[Task]) -> bool:
    """Whether every planned refit is one the randomness probe already fitted (nothing left to fit)."""
    probed = set(getattr(subject, "probed_seeds", ()))
    return all(t.kind == "seed" and t.seed in probed for t in tasks)


def _section(fits: Sequence[Fit], kind: str) -> list[Fit]:
    return [f for f in fits if f.kind == kind]


def _assemble(subject: StabilitySubject, fits: Sequence[Fit], notes: list[str], *, scheme: str,
              fraction: float | None, points: int, seeds_skipped: str | None, trials: Sequence[Any] | None,
              model_ref: str, started: float, extra: Mapping[str, Any], skipped: str | None,
              cancelled: bool) -> StabilityReport:
    split_fits, seed_fits = _section(fits, "split"), _section(fits, "seed")
    naive = Spread.of([f.score for f in split_fits if f.ok]) if split_fits else None
    split_spread = clipped(corrected_spread(naive, fraction), subject.metric) if naive is not None else None
    if naive is not None and split_spread is not None and fraction is not None and naive.n >= 2:
        notes.append(f"the 95 % CI over splits is Nadeau–Bengio corrected (the splits share training rows): "
                     f"{split_spread.ci_low:.4g}–{split_spread.ci_high:.4g} instead of the naive "
                     f"{naive.ci_low:.4g}–{naive.ci_high:.4g}")
    seed_spread = clipped(Spread.of([f.score for f in seed_fits if f.ok]), subject.metric) if seed_fits else None
    failed = [f for f in fits if not f.ok]
    if failed:
        notes.append(f"{len(failed)} refit(s) failed and are left out; the first: {failed[0].error}")
    if skipped:
        notes.append(skipped)
    curves, noise = _curves(subject, fits, points)
    importances = _importances(subject, trials, notes)
    text = verdict(subject.metric, split_spread, seed_spread, curves, seeds_skipped=seeds_skipped,
                   importances=importances, noise=noise)
    if cancelled:
        text = "partial (cancelled): " + text
    return StabilityReport(
        model=model_ref or subject.label, kind=subject.kind, label=subject.label, metric=subject.metric,
        direction=subject.direction, params=dict(subject.params), resampling=scheme, splits=split_spread,
        seeds=seed_spread, sensitivity=curves, importances=importances, fits=tuple(fits), decisions=tuple(notes),
        verdict=text, seconds=round(time.monotonic() - started, 3), cancelled=cancelled,
        extra={**extra, "test_fraction": fraction,
               "naive_ci": [naive.ci_low, naive.ci_high] if naive is not None and naive.n >= 2 else None,
               "sensitivity_noise": noise})
