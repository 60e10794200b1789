"""The lab's parts on hand-made inputs: trial history and pruning savings from a real Optuna study,
convergence bands, the summary statistics, the verdict, JSON round trips and the option checks."""

from __future__ import annotations

import datetime as dt
import json
import math

import optuna
import pandas as pd
import pytest

from automlops.errors import ConfigError, DataError
from automlops.lab.curves import best_after_trials, best_at_seconds, strategy_bands, time_to_reach
from automlops.lab.history import read_history, saved_seconds
from automlops.lab.report import markdown_table, summary_table, to_markdown
from automlops.lab.runner import _result, _schedule, check_lab_options
from automlops.lab.summary import summarise, target_level, tolerance_for
from automlops.lab.types import LabResult, LabRun, TrialPoint

T0 = dt.datetime(2026, 1, 1, 12, 0, 0)
D = optuna.distributions.FloatDistribution(0.0, 1.0)


def _trial(number_offset: float, duration: float, state: optuna.trial.TrialState, value: float | None,
           steps: int, note: str | None = None, warm: bool = False) -> optuna.trial.FrozenTrial:
    start = T0 + dt.timedelta(seconds=number_offset)
    trial = optuna.trial.create_trial(
        state=state, value=value if state is optuna.trial.TrialState.COMPLETE else None, params={"x": 0.5},
        distributions={"x": D}, intermediate_values={i + 1: 0.5 for i in range(steps)},
        user_attrs={"model": "logistic", **({"note": note} if note else {})},
        system_attrs={"fixed_params": {"x": 0.5}} if warm else None)
    trial.datetime_start, trial.datetime_complete = start, start + dt.timedelta(seconds=duration)
    return trial


@pytest.fixture
def study() -> optuna.Study:
    s = optuna.create_study(direction="maximize")
    C, P = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
    s.add_trials([
        _trial(0.0, 1.0, C, 0.80, 5, warm=True),                            # ends at 1.0: a warm-start default
        _trial(1.0, 0.4, P, None, 2, "pruned after step 2/5"),              # ends at 1.4: 3 steps × 0.2 s saved
        _trial(1.4, 1.2, C, 0.90, 5),                                       # ends at 2.6
        _trial(2.6, 0.3, P, None, 1, "stopped at the time budget's deadline after 0.3 s of fitting"),
        _trial(2.9, 0.0, P, None, 0, "skipped: would not finish within the time budget"),
        _trial(3.0, 1.0, C, 0.85, 5),                                       # ends at 4.0, not better
    ])
    return s


def test_history_orders_trials_and_keeps_the_best_complete_score(study: optuna.Study) -> None:
    points, counts = read_history(study, T0, n_steps=5, maximize=True)
    assert [p.state for p in points] == ["COMPLETE", "PRUNED", "COMPLETE", "STOPPED", "COMPLETE"]  # skipped: out
    assert [p.seconds for p in points] == pytest.approx([1.0, 1.4, 2.6, 2.9, 4.0])
    assert [p.best for p in points] == [0.80, 0.80, 0.90, 0.90, 0.90]
    assert (counts.trials, counts.complete, counts.pruned, counts.stopped, counts.failed) == (5, 3, 1, 1, 0)
    assert [p.warm for p in points] == [True, False, False, False, False]
    assert counts.saved_seconds == pytest.approx(3 * 0.4 / 2)


def test_only_the_pruner_saves_time(study: optuna.Study) -> None:
    trials = study.get_trials()
    assert saved_seconds(trials[1], 5) == pytest.approx(0.6)
    assert saved_seconds(trials[3], 5) == 0.0  # stopped by the deadline: not the pruner's saving
    assert saved_seconds(trials[0], 5) == 0.0


def _run(strategy: str, seed: int, points: list[tuple[float, float]], test: float, val: float | None = None,
         search: float = 10.0, pruned: int = 0, saved: float = 0.0) -> LabRun:
    history = []
    best = -math.inf
    for i, (sec, value) in enumerate(points):
        best = max(best, value)
        history.append(TrialPoint(i, sec, "COMPLETE", value, best, 5, "logistic"))
    return LabRun(strategy, seed, test, val if val is not None else best, "logistic", search + 0.5, search,
                  len(points), len(points) - pruned, pruned, 0, 0, saved, 5, tuple(history))


def test_curves_read_step_functions_and_take_median_and_extremes() -> None:
    a = _run("tpe", 0, [(1.0, 0.5), (2.0, 0.7), (6.0, 0.9)], 0.9)
    b = _run("tpe", 1, [(1.5, 0.6), (3.0, 0.8)], 0.8)
    c = _run("tpe", 2, [(0.5, 0.4), (4.0, 0.95)], 0.85)
    assert best_at_seconds(a.history, 0.9) is None and best_at_seconds(a.history, 2.0) == 0.7
    assert best_after_trials(b.history, 2) == 0.8 and best_after_trials(b.history, 3) is None
    assert time_to_reach(a.history, 0.85, maximize=True) == 6.0
    assert time_to_reach(b.history, 0.85, maximize=True) is None
    by_time, by_trial = strategy_bands("tpe", [a, b, c], budget=8.0)
    at5 = by_time.x.index(5.0)  # 41 points over 8 s: every 0.2 s
    assert (by_time.median[at5], by_time.low[at5], by_time.high[at5]) == (0.8, 0.7, 0.95)
    assert by_time.median[0] is None
    assert by_trial.x == (1.0, 2.0, 3.0)
    assert (by_trial.median[2], by_trial.low[2], by_trial.high[2]) == (0.9, 0.9, 0.9)  # only run a got that far


def test_the_test_score_interval_stays_within_the_metric_range() -> None:
    """Two runs at ROC-AUC 0.99 and 0.93: a t-interval on two values runs past 1; no ROC-AUC can."""
    runs = [_run("tpe", 0, [(1.0, 0.95)], 0.99), _run("tpe", 1, [(1.0, 0.94)], 0.93)]
    (row,) = summarise(runs, ["tpe"], maximize=True, level=None, tol=0.0, metric="roc_auc")
    assert row.test.ci_high == 1.0 and row.test.ci_low < 0.93
    (raw,) = summarise(runs, ["tpe"], maximize=True, level=None, tol=0.0)  # no metric named: the plain interval
    assert raw.test.ci_high > 1.0


def test_summary_pairs_seeds_and_finds_a_real_gap() -> None:
    good = [_run("tpe", s, [(1.0, 0.90 + 0.01 * s)], 0.85 + 0.04 * s) for s in range(4)]
    bad = [_run("random", s, [(3.0, 0.85 + 0.01 * s)], 0.80 + 0.04 * s + 0.002 * (s % 2)) for s in range(4)]
    runs = good + bad
    level = target_level(runs, ["tpe", "random"], maximize=True)
    assert level == pytest.approx(0.865)  # random's median best validation: the least good median
    rows = summarise(runs, ["tpe", "random"], maximize=True, level=level, tol=tolerance_for(level))
    tpe, rnd = rows
    assert tpe.gap is None and tpe.time_to_target == 1.0 and tpe.reached == 4
    assert rnd.gap is not None and rnd.gap.mean == pytest.approx(0.049) and rnd.gap.ci_low > 0
    # only seeds 2 and 3 get within 0.002 of 0.865 (at 3 s): with half the runs never there, the median is not
    assert rnd.time_to_target is None and rnd.reached == 2
    assert rnd.trials_per_min == pytest.approx(4 / (40 / 60))
    # the two test CIs overlap (seeds move both), yet the paired gap is clear
    assert rnd.test.ci_high > tpe.test.ci_low
    result = _result(runs, ["tpe", "random"], [0, 1, 2, 3], metric="accuracy", direction="maximize", budget=10.0,
                     repeats=4, decisions=[], seconds=40.0, cancelled=False, dataset="d", target="y")
    assert "random is behind it beyond noise" in result.verdict
    assert "tpe 1.0 s" in result.verdict and "random did not (2 of 4 runs did)" in result.verdict


def test_verdict_calls_small_differences_noise_and_reports_pruning() -> None:
    a = [_run("tpe", s, [(1.0, 0.9)], [0.95, 0.93, 0.96][s]) for s in range(3)]
    b = [_run("hyperband", s, [(1.0, 0.9)], [0.94, 0.95, 0.94][s], pruned=4, saved=2.5) for s in range(3)]
    result = _result(a + b, ["tpe", "hyperband"], [0, 1, 2], metric="roc_auc", direction="maximize", budget=5.0,
                     repeats=3, decisions=["x"], seconds=30.0, cancelled=False, dataset="d", target="y")
    assert "within noise" in result.verdict
    assert "hyperband pruned 4.0 trials per run, saving about 2.5 s" in result.verdict


def test_verdict_warns_when_the_warm_start_ate_the_budget() -> None:
    warm = TrialPoint(0, 1.0, "COMPLETE", 0.9, 0.9, 5, "logistic", warm=True)
    runs = [LabRun(s, seed, 0.9, 0.9, "logistic", 5.0, 4.5, 1, 1, 0, 0, 0, 0.0, 5, (warm,))
            for s in ("tpe", "qmc") for seed in (0, 1)]
    result = _result(runs, ["tpe", "qmc"], [0, 1], metric="roc_auc", direction="maximize", budget=5.0, repeats=2,
                     decisions=[], seconds=20.0, cancelled=False, dataset="d", target="y")
    assert result.summaries[0].own_per_run == 0.0
    assert result.verdict.startswith("Careful: tpe, qmc spent the whole budget on the warm start")


def test_result_round_trips_through_json_and_summary_is_strict_json() -> None:
    runs = [_run("tpe", s, [(1.0, 0.9), (2.0, 0.92)], 0.9 + s / 100) for s in range(2)]
    runs.append(LabRun("random", 0, float("nan"), float("nan"), "", 1.0, 1.0, 0, 0, 0, 0, 0, 0.0, 5, (),
                       error="no trial finished"))
    result = _result(runs, ["tpe", "random"], [0, 1], metric="accuracy", direction="maximize", budget=5.0,
                     repeats=2, decisions=["d"], seconds=10.0, cancelled=True, dataset="iris@v1", target="y")
    again = LabResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.runs[:2] == result.runs[:2] and again.curves == result.curves
    assert again.summaries[0] == result.summaries[0]
    line = json.dumps(result.summary(), allow_nan=False)  # nan → null
    assert json.loads(line)["strategies"]["random"]["test_mean"] is None
    assert result.verdict.startswith("Cancelled after 3 of 4 runs")
    table = summary_table(result)
    assert list(table["strategy"]) == ["tpe", "random"] and table.loc[1, "runs"] == "0 (+1 failed)"
    text = to_markdown(result)
    assert "| tpe | 2 |" in text and "**Cancelled**" in text and "no trial finished" in text
    assert markdown_table(pd.DataFrame({"a|b": ["x|y"]})).splitlines()[2] == "| x\\|y |"


def test_schedule_rotates_who_goes_first() -> None:
    plan = _schedule(["a", "b", "c"], [0, 1, 2])
    assert [p for p in plan if p[1] == 0][0][0] == "a" and [p for p in plan if p[1] == 1][0][0] == "b"
    assert sorted(plan) == sorted((s, seed) for s in "abc" for seed in range(3))


@pytest.mark.parametrize(("options", "error", "text"), [
    ({"strategies": ["tpe", "bayes"]}, ConfigError, "unknown search strategy 'bayes'"),
    ({"strategies": [" "]}, ConfigError, "at least one search strategy"),
    ({"repeats": 1}, ConfigError, "at least 2 repeats"),
    ({"budget": 1.0}, ConfigError, "too small"),
    ({"target": "price"}, DataError, "target column 'price' is not in the data"),
])
def test_bad_options_are_refused_before_any_run(options: dict, error: type, text: str) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    kwargs = {"budget": 5.0, "repeats": 2, "strategies": ["tpe"], **options}
    target = kwargs.pop("target", "y")
    with pytest.raises(error, match=text):
        check_lab_options(frame, target, **kwargs)


def test_strategies_are_deduplicated_in_order() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    assert check_lab_options(frame, "y", budget=5, repeats=2, strategies=["qmc", "tpe", "qmc"]) == ("qmc", "tpe")
