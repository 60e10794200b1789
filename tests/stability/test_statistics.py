"""The stability analysis' statistics, against hand-computed values (no model is fitted here).

Nadeau–Bengio corrected intervals, intervals kept within a metric's range, the stability levels,
the verdict's reasoning (data vs algorithm variance, paired noise), sweeps around a chosen value,
fANOVA on trials whose score depends on one parameter only, and the trials meta.json keeps.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest
from scipy import stats

from automlops.errors import ConfigError
from automlops.mlops.persist import MAX_SAVED_TRIALS, search_trials
from automlops.stability.analysis import check_options
from automlops.stability.execute import worker_count
from automlops.stability.fanova import param_importances
from automlops.stability.space import RecordingTrial, record_space, sweep_for
from automlops.stability.types import SensitivityCurve, Spread
from automlops.stability.verdict import clipped, corrected_spread, fmt, level, verdict


def test_corrected_interval_matches_the_nadeau_bengio_formula() -> None:
    scores = [0.91, 0.93, 0.90, 0.94, 0.92]
    naive = Spread.of(scores)
    s = float(np.std(scores, ddof=1))
    assert naive.std == pytest.approx(s)
    t = stats.t.ppf(0.975, 4)
    assert naive.ci_high - naive.mean == pytest.approx(t * s / math.sqrt(5))
    fixed = corrected_spread(naive, 0.25)  # 5-fold: n_test / n_train = 1/4
    assert fixed.ci_high - fixed.mean == pytest.approx(t * math.sqrt((1 / 5 + 0.25) * s ** 2))
    assert fixed.ci_low < naive.ci_low and fixed.mean == naive.mean and fixed.scores == naive.scores
    assert corrected_spread(naive, None) is naive  # unknown split sizes: the plain t-interval stays


def test_intervals_stay_within_the_metrics_range() -> None:
    high = Spread(4, 0.995, 0.004, 0.988, 1.003, 0.99, 0.999, ())
    assert clipped(high, "roc_auc").ci_high == 1.0
    assert clipped(high, "rmse").ci_high == 1.003  # an error in the data's units has no upper bound
    low = Spread(4, 0.01, 0.02, -0.02, 0.04, 0.0, 0.03, ())
    assert clipped(low, "accuracy").ci_low == 0.0
    assert clipped(low, "r2").ci_low == -0.02  # R² can be negative
    mase = Spread.of([0.05, 0.9, 0.1, 1.6, 0.2])  # backtest MASEs: "95 % CI -0.58 – 2.23" was printed
    assert mase.ci_low < 0 and clipped(mase, "mase").ci_low == 0.0 and clipped(mase, "log_loss").ci_low == 0.0
    assert clipped(mase, "mase").ci_high == mase.ci_high  # an error has no upper bound


def test_levels_and_number_formatting() -> None:
    assert level(Spread.of([0.95, 0.951, 0.949]), "accuracy") == "stable"
    assert level(Spread.of([0.90, 0.95, 0.93]), "accuracy") == "somewhat stable"
    assert level(Spread.of([0.70, 0.95, 0.83]), "accuracy") == "unstable"
    assert level(Spread.of([50.0, 50.5, 49.5]), "rmse") == "stable"  # 1 % of the mean: judged relative
    assert level(Spread.of([40.0, 60.0, 50.0]), "rmse") == "unstable"
    assert fmt(0.98712, 0.004) == "0.9871" and fmt(0.004) == "0.0040" and fmt(float("nan")) == "n/a"


def test_verdict_separates_data_from_algorithm_variance() -> None:
    splits = Spread.of([0.95, 0.96, 0.94, 0.955, 0.945])
    quiet_seeds = Spread.of([0.950, 0.951, 0.9505])
    text = verdict("accuracy", splits, quiet_seeds, ())
    assert text.startswith("somewhat stable") or text.startswith("stable")
    assert "across 5 splits" in text and "most of the spread is the data" in text
    loud_seeds = Spread.of([0.90, 0.99, 0.95])
    assert "model's own randomness" in verdict("accuracy", splits, loud_seeds, ())
    same = Spread.of([0.95, 0.95, 0.95])
    assert "exactly the same score" in verdict("accuracy", splits, same, ())
    assert "no randomness" in verdict("accuracy", splits, None, (), seeds_skipped="no randomness")


def test_verdict_judges_a_swing_against_its_paired_noise() -> None:
    curve = SensitivityCurve("learning_rate", 0.1, True, False,
                             ((0.01, Spread.of([0.90, 0.91])), (0.1, Spread.of([0.95, 0.96]))))
    assert curve.swing == pytest.approx(0.05)
    assert "beyond the noise" in verdict("accuracy", None, None, (curve,), noise={"learning_rate": 0.005})
    assert "within the noise" in verdict("accuracy", None, None, (curve,), noise={"learning_rate": 0.04})


def test_log_sweep_is_geometric_within_a_decade_and_passes_through_the_chosen_value() -> None:
    sweep = sweep_for("learning_rate", optuna.distributions.FloatDistribution(0.01, 0.3, log=True), 0.05, 5)
    assert sweep is not None and sweep.log and 0.05 in sweep.values
    assert min(sweep.values) >= 0.01 and max(sweep.values) <= 0.3
    ratios = np.diff(np.log10(sweep.values))
    assert len(sweep.values) == 5 and np.all(ratios > 0)
    ints = sweep_for("n_estimators", optuna.distributions.IntDistribution(50, 800, log=True), 300, 5)
    assert ints is not None and 300 in ints.values and all(isinstance(v, int) for v in ints.values)
    lin = sweep_for("subsample", optuna.distributions.FloatDistribution(0.5, 1.0), 0.9, 3)
    assert lin is not None and lin.values[0] >= 0.5 and lin.values[-1] <= 1.0 and 0.9 in lin.values
    cat = sweep_for("weights", optuna.distributions.CategoricalDistribution(("uniform", "distance")), "distance", 5)
    assert cat is not None and cat.categorical and set(cat.values) == {"uniform", "distance"}


def test_a_search_space_is_recorded_without_a_study() -> None:
    from automlops.core.problem import Problem, TaskType
    from automlops.tabular.zoo import get_model

    problem = Problem(task=TaskType.CLASSIFICATION, target="y", metric="roc_auc", direction="maximize")
    dists = record_space(get_model("lightgbm").search_space, {"learning_rate": 0.05}, "lightgbm", problem)
    assert set(dists) >= {"n_estimators", "learning_rate", "num_leaves", "subsample"}
    assert dists["learning_rate"].log and not dists["subsample"].log
    trial = RecordingTrial({"C": 3.0}, "logistic")
    assert trial.suggest_float("logistic__C", 1e-3, 1e3, log=True) == 3.0 and "C" in trial.distributions


def _trials(n: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        a, b = float(rng.uniform(0, 1)), float(rng.uniform(0, 1))
        out.append({"number": i, "model": "m", "state": "COMPLETE", "value": 3 * a + 0.01 * b,
                    "params": {"a": a, "b": b}})
    out.append({"number": n, "model": "other", "state": "COMPLETE", "value": 9.0, "params": {"z": 1.0}})
    out.append({"number": n + 1, "model": "m", "state": "PRUNED", "value": None, "params": {"a": 0.5, "b": 0.5}})
    return out


def test_fanova_finds_the_parameter_that_drives_the_score() -> None:
    importances, note = param_importances(_trials(30), model="m", direction="maximize")
    assert set(importances) == {"a", "b"} and importances["a"] > 0.9 > importances["b"]
    assert "30 completed trial(s) of 'm'" in note
    none, why = param_importances(_trials(3), model="m", direction="maximize")
    assert none == {} and "at least 5" in why


def test_saved_trials_are_capped_and_keep_complete_ones_first() -> None:
    rows = [{"number": i, "model": "m", "state": "COMPLETE" if i % 2 else "PRUNED", "value": float(i),
             "std": 0.0, "duration": 0.1, "params": {"a": i}, "note": None} for i in range(2 * MAX_SAVED_TRIALS + 10)]
    kept = search_trials(pd.DataFrame(rows))
    assert len(kept) == MAX_SAVED_TRIALS and all(r["state"] == "COMPLETE" for r in kept)
    assert set(kept[0]) == {"number", "model", "state", "value", "params"}
    assert search_trials(pd.DataFrame({"state": []})) == []


@pytest.mark.parametrize(("options", "words"), [
    ({"splits": 1, "seeds": None, "sensitivity": False}, "splits K must be at least 2"),
    ({"splits": None, "seeds": 1, "sensitivity": False}, "seeds N must be at least 2"),
    ({"splits": None, "seeds": None, "sensitivity": False}, "nothing to analyse"),
    ({"splits": None, "seeds": None, "sensitivity": True, "points": 1}, "at least 2 points"),
    ({"splits": 3, "seeds": None, "sensitivity": False, "n_jobs": 0}, "n_jobs"),
])
def test_options_that_cannot_give_a_spread_are_refused(options: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        check_options(**options)  # type: ignore[arg-type]


def test_worker_count_never_exceeds_the_refits() -> None:
    assert worker_count(4, 2) == 2 and worker_count(1, 10) == 1 and worker_count(-1, 1) == 1
