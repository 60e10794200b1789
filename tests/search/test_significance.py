"""The leaderboard's statistics against hand-computed values (scipy only for the t distribution)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from automlops.search.engine import TrialOutcome
from automlops.search.significance import (
    BootstrapScores,
    FoldTest,
    annotate_leaderboard,
    bootstrap_p_value,
    corrected_interval,
    corrected_t_test,
    leaderboard_caption,
    outcome_from_row,
    paired_bootstrap,
    robust_pick,
    simplicity_key,
)
from automlops.search.trials import LEADERBOARD_COLUMNS

A = [0.90, 0.92, 0.88, 0.91, 0.89]
B = [0.87, 0.90, 0.88, 0.88, 0.86]  # differences 0.03 0.02 0.00 0.03 0.03


def test_corrected_t_test_matches_the_nadeau_bengio_formula_by_hand() -> None:
    # mean(d) = 0.022; var(d, ddof=1) = (0.008² + 0.002² + 0.022² + 0.008² + 0.008²) / 4 = 1.7e-4
    # 5-fold CV: n_test/n_train = 1/4, so the corrected variance is (1/5 + 1/4) · 1.7e-4 = 7.65e-5
    t_by_hand = 0.022 / math.sqrt(7.65e-5)
    assert t_by_hand == pytest.approx(2.51531, abs=1e-5)
    result = corrected_t_test(A, B, test_train_ratio=0.25)
    assert result.statistic == pytest.approx(t_by_hand)
    assert result.difference == pytest.approx(0.022)
    assert result.p_value == pytest.approx(2 * stats.t.sf(t_by_hand, df=4))
    assert 0.05 < result.p_value < 0.1  # "tie" at α = 0.05 ...
    naive = stats.ttest_rel(A, B)  # ... which the naive paired t-test (folds as independent) calls significant
    assert naive.pvalue < 0.05 < result.p_value


def test_without_the_correction_it_is_the_paired_t_test() -> None:
    assert corrected_t_test(A, B, test_train_ratio=0.0).p_value == pytest.approx(stats.ttest_rel(A, B).pvalue)
    # the default ratio is K-fold's 1/(K-1), and the test is symmetric (two-sided)
    assert corrected_t_test(A, B).p_value == pytest.approx(corrected_t_test(B, A, test_train_ratio=0.25).p_value)


def test_degenerate_and_bad_fold_scores() -> None:
    assert corrected_t_test(A, A).p_value == 1.0
    shifted = corrected_t_test([x + 0.01 for x in A], A)  # the same lead on every fold: no noise at all
    assert shifted.p_value == 0.0 and shifted.statistic == math.inf
    with pytest.raises(ValueError, match="same ≥ 2 folds"):
        corrected_t_test(A, B[:4])
    with pytest.raises(ValueError):
        corrected_t_test([0.9], [0.8])


def test_corrected_interval_by_hand() -> None:
    mean, var = float(np.mean(A)), float(np.var(A, ddof=1))
    half = stats.t.ppf(0.975, 4) * math.sqrt((1 / 5 + 1 / 4) * var)
    low, high = corrected_interval(A, test_train_ratio=0.25)
    assert (low, high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    naive_half = stats.t.ppf(0.975, 4) * math.sqrt(var / 5)
    assert high - low > 2 * naive_half  # wider than the naive interval: folds are not independent
    assert all(math.isnan(v) for v in corrected_interval([0.9]))


def test_bootstrap_p_value_by_hand() -> None:
    # δᵢ = [0.1, 0.0, 0.2, -0.1], δ̂ = 0.1: |δᵢ − δ̂| = [0, 0.1, 0.1, 0.2] ≥ 0.1 three times → (1+3)/(4+1)
    a, b = np.array([0.6, 0.5, 0.7, 0.4]), np.array([0.5, 0.5, 0.5, 0.5])
    assert bootstrap_p_value(a, b, 0.1) == pytest.approx(0.8)
    assert math.isnan(bootstrap_p_value(np.array([np.nan]), np.array([0.5]), 0.1))


def _accuracy(correct: np.ndarray):  # noqa: ANN202 - a scorer over row positions
    return lambda rows: float(correct[rows].mean())


def test_paired_bootstrap_matches_a_plain_loop() -> None:
    rng = np.random.default_rng(1)
    right_a, right_b = rng.random(200) < 0.85, rng.random(200) < 0.80
    result = paired_bootstrap(_accuracy(right_a), _accuracy(right_b), 200, n_resamples=500, seed=3)
    counts = BootstrapScores(200, n_resamples=500, seed=3).counts().astype(float)  # the same resamples, drawn again
    assert counts.shape == (500, 200) and (counts.sum(axis=1) == 200).all()
    deltas = (counts @ right_a - counts @ right_b) / 200
    observed = right_a.mean() - right_b.mean()
    expected = (1 + np.sum(np.abs(deltas - observed) >= abs(observed) - 1e-12)) / 501
    assert result.difference == pytest.approx(observed)
    assert result.p_value == pytest.approx(expected) and result.test == "paired bootstrap"


def test_the_counts_are_small_integers_and_are_scored_a_slice_at_a_time_with_the_same_results() -> None:
    """A 4k-row holdout: the matrix holds 2-byte counts, and a ROC-AUC over it (which sorts, masks and sums
    copies of the counts) is computed slice by slice: the same scores as the whole float matrix at once,
    without the ~100 MB of copies that costs (measured with tracemalloc, which sees numpy's buffers)."""
    import tracemalloc

    from automlops.tabular.resampled_metrics import resampled_scores

    rng = np.random.default_rng(5)
    n, b = 4057, 600
    y = np.where(rng.random(n) < 0.3, "yes", "no")
    proba = np.clip(0.3 + 0.4 * (y == "yes") + rng.normal(0, 0.2, n), 0, 1)
    batch = resampled_scores("roc_auc", y, np.where(proba > 0.5, "yes", "no"), np.c_[1 - proba, proba], ("no", "yes"))
    assert batch is not None
    boot = BootstrapScores(n, n_resamples=b, seed=7)
    counts = boot.counts()
    assert counts.dtype == np.uint16 and counts.nbytes == 2 * b * n  # counts ≤ n rows: 2 bytes hold them
    assert BootstrapScores(200, n_resamples=10).counts().dtype == np.uint8
    whole = batch(counts.astype(float))
    tracemalloc.start()
    try:
        sliced = boot.weighted("model", batch)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(sliced, whole, rtol=0, atol=1e-12)
    assert boot.weighted("model", lambda c: c[:, 0]) is sliced  # cached per model key
    assert peak < 12 * 2**20, f"scoring the resamples took {peak / 2**20:.1f} MB"


def test_paired_bootstrap_extremes() -> None:
    right = np.random.default_rng(2).random(300) < 0.7
    assert paired_bootstrap(_accuracy(right), _accuracy(right), 300, n_resamples=200).p_value == 1.0
    perfect, poor = np.ones(300, bool), np.random.default_rng(3).random(300) < 0.5
    assert paired_bootstrap(_accuracy(perfect), _accuracy(poor), 300, n_resamples=200).p_value == pytest.approx(1 / 201)


def _outcome(model: str, folds: list[float], n_params: int = 1, fit: float = 0.1, number: int = 0) -> TrialOutcome:
    return TrialOutcome(number, model, {f"p{i}": i for i in range(n_params)}, float(np.mean(folds)),
                        float(np.std(folds)), fit, 0.01, None, tuple(folds))


def _board(outcomes: list[TrialOutcome]) -> pd.DataFrame:
    return pd.DataFrame({"rank": range(1, len(outcomes) + 1), "model": [o.model for o in outcomes],
                         "score": [o.value for o in outcomes], "std": [o.std for o in outcomes]})


def test_annotate_leaderboard_columns_and_leads() -> None:
    strong = _outcome("strong", [0.95, 0.96, 0.95, 0.97, 0.96])
    close = _outcome("close", [0.95, 0.95, 0.95, 0.96, 0.96])
    weak = _outcome("weak", [0.70, 0.72, 0.71, 0.69, 0.70])
    board = pd.concat([_board([strong, close, weak]),
                       pd.DataFrame({"rank": [4, 5], "model": ["ensemble", "failed"], "score": [0.6, np.nan]})],
                      ignore_index=True)
    test = FoldTest(0.25, n_folds=5)
    out = annotate_leaderboard(board, {o.model: o for o in (strong, close, weak)}, test)
    assert list(out["lead"]) == ["tie", "significant", "n/a", "", "n/a"]
    assert out["p_next"].iloc[0] == pytest.approx(corrected_t_test(strong.fold_scores, close.fold_scores).p_value)
    assert out["p_next"].iloc[1] < 0.05 and out[["p_next"]].iloc[2:].isna().all().all()
    assert (out["ci_low"].iloc[:3] < out["score"].iloc[:3]).all() and (out["score"].iloc[:3] < out["ci_high"].iloc[:3]).all()
    assert math.isnan(out["ci_low"].iloc[3])  # the ensemble row brought no fold scores
    assert {"ci_low", "ci_high", "p_next", "lead"} <= set(LEADERBOARD_COLUMNS)
    assert "Nadeau–Bengio corrected resampled t-test over 5 folds" in leaderboard_caption(test.name)
    assert "no significance test applies" in leaderboard_caption(test.name, tested=False)


def test_an_extra_row_brings_its_evidence_and_shows_none_of_it() -> None:
    row = {"model": "weighted(a, b)", "score": 0.9, "std": 0.01, "params": {"kind": "weighted"},
           "fold_scores": [0.89, 0.91], "payload": "abc"}
    clean, outcome = outcome_from_row(row)
    assert "fold_scores" not in clean and "payload" not in clean and clean["model"] == "weighted(a, b)"
    assert outcome.fold_scores == (0.89, 0.91) and outcome.payload == "abc" and outcome.number == -1


def test_robust_pick_prefers_the_simplest_tied_model() -> None:
    best = _outcome("boosting", [0.95, 0.96, 0.95, 0.97, 0.96], n_params=6, fit=1.2, number=1)
    linear = _outcome("linear", [0.95, 0.95, 0.95, 0.96, 0.96], n_params=1, fit=0.1, number=2)
    tree = _outcome("tree", [0.955, 0.95, 0.95, 0.965, 0.96], n_params=2, fit=0.05, number=3)
    poor = _outcome("poor", [0.70, 0.72, 0.71, 0.69, 0.70], n_params=0, fit=0.01, number=4)
    choice, why = robust_pick([best, tree, linear, poor], FoldTest(0.25, n_folds=5))
    assert choice is linear  # fewest hyperparameters first, although tree is faster
    assert why.startswith("chose linear: tied with boosting (p=") and "1 tuned hyperparameter(s) instead of 6" in why
    assert "11x faster to fit and predict" in why  # (1.2 + 0.01) / (0.1 + 0.01)
    assert "3 of 4 model(s)" in why and "(boosting, tree, linear;" in why and "poor" not in why
    assert simplicity_key(tree) < simplicity_key(best)


def test_robust_pick_keeps_the_best_when_nothing_is_tied() -> None:
    best = _outcome("boosting", [0.95, 0.96, 0.95, 0.97, 0.96], n_params=6)
    noisy = _outcome("noisy", [0.96, 0.30, 0.95, 0.97, 0.95], n_params=1)  # p ≥ α, but far outside the interval
    choice, why = robust_pick([best, noisy], FoldTest(0.25, n_folds=5))
    assert corrected_t_test(best.fold_scores, noisy.fold_scores, test_train_ratio=0.25).p_value > 0.05
    assert choice is best and why.startswith("kept the best, boosting: no other model is statistically tied")


def test_fold_intervals_are_clipped_to_the_metrics_range() -> None:
    near_one = _outcome("auc", [0.98, 1.0, 0.99, 1.0, 0.98])
    low, high = FoldTest(0.25).interval(near_one)
    assert high > 1.0  # the symmetric t-interval itself ...
    assert FoldTest(0.25, bounds=(0.0, 1.0)).interval(near_one) == (low, 1.0)  # ... is cut at what AUC can be


def test_an_error_s_interval_never_reaches_below_zero() -> None:
    """A t-interval is symmetric: five backtest MASEs from 0.05 to 1.6 gave "between -0.19 and ..." (seen on
    AirPassengers), a score no model can have. A leaderboard of a minimised metric (an error, ≥ 0) cuts it at
    0; a maximised one (R² may be negative) keeps it."""
    import optuna

    from automlops.search.trials import build_leaderboard

    folds = [0.05, 0.9, 0.1, 1.6, 0.2]
    assert corrected_interval(folds)[0] < 0  # the raw interval
    for maximize in (False, True):
        study = optuna.create_study(direction="maximize" if maximize else "minimize")
        study.add_trial(optuna.trial.create_trial(value=float(np.mean(folds)), user_attrs={
            "model": "auto_arima", "params": {}, "std": float(np.std(folds)), "fold_scores": folds}))
        low = build_leaderboard(study, maximize=maximize)["ci_low"].iloc[0]
        assert low == (corrected_interval(folds)[0] if maximize else 0.0)
