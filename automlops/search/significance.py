"""Is the leader's lead real, or luck? Significance tests for a leaderboard, and a *robust* choice.

A leaderboard ranks models by a validation score, but every score is measured on a few thousand
rows at most: a second model 0.002 behind the first may be just as good. This module says, for each
row, how wide its score's uncertainty is and whether its lead over the **next** row is significant.

**Cross-validation (≥ 2 folds): the Nadeau–Bengio corrected resampled t-test.** Every trial of a
study is scored on the *same* folds, so two models give *paired* fold scores ``a_j`` and ``b_j``.
The naive paired t-test on the differences ``d_j = a_j - b_j`` treats the folds as independent,
but they are not: each pair of folds shares most of its training rows, so the fold scores move
together and the naive test finds "significant" differences far too often. Nadeau & Bengio (2003,
*Inference for the Generalization Error*, Machine Learning 52) correct the variance for that
overlap::

    t = mean(d) / sqrt((1/J + n_test/n_train) * var(d))        with J - 1 degrees of freedom

where ``J`` is the number of folds, ``var`` the sample variance (``ddof=1``) and ``n_test/n_train``
the ratio of validation to training rows of one fold (1/(K-1) for K-fold CV). The extra
``n_test/n_train`` term is what keeps the test honest; Bouckaert & Frank (2004) found it the
best-calibrated of the usual tests. The same corrected variance gives each row's 95 % interval:
``mean ± t(0.975, J-1) · sqrt((1/J + n_test/n_train) · var(scores))``.

**A single holdout: a paired bootstrap.** With one validation split there is one score per model
and no fold variance. Instead the validation rows are resampled with replacement ``B`` times (the
*same* resamples for every model: that is the pairing) and each model is scored on each resample.
The p-value of "A beats B" is the share of resamples whose difference, centred on the observed
one, is at least as far from it as the observed difference is from zero (Efron & Tibshirani, *An
Introduction to the Bootstrap*, ch. 16), and each row's interval is the 2.5–97.5 % percentiles of
its resampled scores. The engine computes these (it owns the predictions and the metric) through
an optional hook, ``engine.significance_test()``; engines without one get the fold test.

Both tests are **two-sided** at ``α = 0.05``: the order of two rows was itself decided by the
observed scores, so a one-sided test would find leads twice as often as it should. Two caveats a
careful reader should keep in mind: each row is the *best* of many trials of its model (the
winner's curse makes leads look a little larger than they are), and no multiple-comparison
correction is applied (each p-value answers one question: this row against the next).

**Robust selection (``--select robust``).** Among the models *tied* with the best one (not
significantly worse, p ≥ α, and scoring inside the best's 95 % interval: the spirit of Breiman's
"one standard error" rule), prefer, in this order: the fewest tuned hyperparameters (a
smaller family, fewer knobs fitted to the validation rows), then the cheapest to fit and predict,
then the most stable (lowest std across folds). A tie is not proof of equality, only the absence
of evidence of a difference; the decisions log says which test was used and with what p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from automlops.search.engine import TrialOutcome

__all__ = ["ALPHA", "BootstrapScores", "Comparison", "FoldTest", "SignificanceTest", "annotate_leaderboard",
           "bootstrap_p_value", "corrected_interval", "corrected_t_test", "leaderboard_caption",
           "outcome_from_row", "paired_bootstrap", "robust_pick", "simplicity_key"]

ALPHA = 0.05
CONFIDENCE = 0.95
SIGNIFICANCE_COLUMNS = ("ci_low", "ci_high", "p_next", "lead")
EVIDENCE_KEYS = ("fold_scores", "payload")  # what an extra (ensemble) row may carry for the tests
_NAN = float("nan")


@dataclass(frozen=True)
class Comparison:
    """The outcome of one two-sided test of "A's score differs from B's"."""

    p_value: float
    difference: float  # mean score of A minus mean score of B
    statistic: float  # the t statistic, or the observed difference for the bootstrap
    test: str


# ------------------------------------------------------------------ the corrected t-test
def _finite(scores: Sequence[float]) -> np.ndarray:
    return np.asarray([float(s) for s in scores], dtype=float)


def _ratio(test_train_ratio: float | None, n_folds: int) -> float:
    """``n_test / n_train`` of one fold; without it, the K-fold value ``1/(K-1)``."""
    return float(test_train_ratio) if test_train_ratio is not None else 1.0 / max(n_folds - 1, 1)


def corrected_t_test(a: Sequence[float], b: Sequence[float], *, test_train_ratio: float | None = None
                     ) -> Comparison:
    """Nadeau–Bengio corrected resampled t-test on paired fold scores (two-sided).

    ``a`` and ``b`` are the two models' scores on the same ``J ≥ 2`` folds, in the same order;
    ``test_train_ratio`` is ``n_test / n_train`` of one fold (default ``1/(J-1)``, K-fold CV).
    """
    from scipy import stats

    x, y = _finite(a), _finite(b)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"the corrected t-test needs paired scores on the same ≥ 2 folds, got {len(x)} and {len(y)}")
    d = x - y
    j, mean = len(d), float(d.mean())
    variance = (1.0 / j + _ratio(test_train_ratio, j)) * float(d.var(ddof=1))
    if variance <= 0.0:  # identical differences on every fold: no noise to test against
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        return Comparison(1.0 if mean == 0.0 else 0.0, mean, t, "corrected t-test")
    t = mean / math.sqrt(variance)
    return Comparison(float(2.0 * stats.t.sf(abs(t), j - 1)), mean, t, "corrected t-test")


def corrected_interval(scores: Sequence[float], *, test_train_ratio: float | None = None,
                       confidence: float = CONFIDENCE) -> tuple[float, float]:
    """A ``confidence`` interval for the mean fold score, with the Nadeau–Bengio variance.

    Wider than the naive ``mean ± t·s/√J``: folds that share training rows are not independent.
    ``(nan, nan)`` with fewer than two folds.
    """
    from scipy import stats

    x = _finite(scores)
    if len(x) < 2 or not np.isfinite(x).all():
        return _NAN, _NAN
    j = len(x)
    half = float(stats.t.ppf(0.5 + confidence / 2, j - 1)) * math.sqrt(
        (1.0 / j + _ratio(test_train_ratio, j)) * float(x.var(ddof=1)))
    return float(x.mean() - half), float(x.mean() + half)


# ------------------------------------------------------------------ the paired bootstrap
def bootstrap_p_value(resampled_a: np.ndarray, resampled_b: np.ndarray, observed: float) -> float:
    """Two-sided p-value of an observed difference from paired bootstrap scores.

    ``resampled_a[i]`` and ``resampled_b[i]`` are the two models' scores on resample ``i`` (the
    same rows for both). Under "no difference" the centred differences ``δᵢ − δ̂`` show how far a
    difference drifts by chance; p = (1 + #{|δᵢ − δ̂| ≥ |δ̂|}) / (B + 1).
    """
    deltas = np.asarray(resampled_a, dtype=float) - np.asarray(resampled_b, dtype=float)
    deltas = deltas[np.isfinite(deltas)]
    if deltas.size == 0:
        return _NAN
    extreme = int(np.sum(np.abs(deltas - observed) >= abs(observed) - 1e-12))
    return float((1 + extreme) / (deltas.size + 1))


COUNT_CHUNK_CELLS = 250_000  # resampled rows drawn at once while the count matrix is built, and scored at once


class BootstrapScores:
    """The scores of many models on the *same* ``B`` resamples of ``n_rows`` validation rows.

    A resample is stored as its *counts* (how often each row was drawn): a ``B × n`` matrix drawn
    once from ``seed``, so every model is scored on identical resamples (the pairing), and each
    model's ``B`` scores are computed once and cached. ``B`` shrinks on very large holdouts so the
    matrix stays under ``max_cells`` numbers, never below 100.

    Memory: a count can never exceed ``n_rows``, so the matrix is kept in the smallest unsigned
    integer type that holds ``n_rows`` (2 bytes a cell up to 65,535 rows: 5 MB at most instead of
    float64's 20 MB), and :meth:`weighted` scores it a few resamples at a time, each slice turned into
    floats only while it is scored. Scored whole, a ROC-AUC sorted, masked and summed copies of the
    full matrix (~100 MB on a 4k-row holdout) at the end of a training, beside the model being saved.
    """

    def __init__(self, n_rows: int, *, n_resamples: int = 1000, seed: int = 0, max_cells: int = 2_500_000) -> None:
        self.n_rows, self.seed = n_rows, seed
        self.n_resamples = int(max(min(n_resamples, max_cells // max(n_rows, 1)), min(n_resamples, 100)))
        self._counts: np.ndarray | None = None
        self._cache: dict[Any, np.ndarray] = {}

    def counts(self) -> np.ndarray:
        """``counts[b, i]``: how many times resample ``b`` drew row ``i`` (unsigned integers ≤ ``n_rows``)."""
        if self._counts is None:
            b, n = self.n_resamples, self.n_rows
            rng = np.random.default_rng(self.seed)
            counts = np.empty((b, n), dtype=np.min_scalar_type(n))
            # A few resamples at a time: the draws (the same stream as one (b, n) draw) and their
            # integer counts then take ~2 MB beside the result, not four matrices of its size.
            step = max(1, COUNT_CHUNK_CELLS // max(n, 1))
            for start in range(0, b, step):
                rows = rng.integers(0, n, size=(min(step, b - start), n))
                flat = (rows + (np.arange(len(rows)) * n)[:, None]).ravel()
                counts[start:start + len(rows)] = np.bincount(flat, minlength=len(rows) * n).reshape(len(rows), n)
            self._counts = counts
        return self._counts

    def weighted(self, key: Any, batch: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The model ``key``'s scores from ``batch(counts)``: the metric as weighted sums over float counts.

        ``batch`` scores each row of counts on its own, so it is given a slice of the resamples at a
        time (about :data:`COUNT_CHUNK_CELLS` cells, 2 MB as floats) and the slices' scores are joined.
        """
        if key not in self._cache:
            counts = self.counts()
            step = max(1, COUNT_CHUNK_CELLS // max(self.n_rows, 1))
            self._cache[key] = np.concatenate([np.asarray(batch(counts[start:start + step].astype(float)), dtype=float)
                                               for start in range(0, len(counts), step)])
        return self._cache[key]

    def scores(self, key: Any, score: Callable[[np.ndarray], float]) -> np.ndarray:
        """The model ``key``'s scores from ``score(rows)`` called once per resample (any metric; slower)."""
        if key not in self._cache:
            everything = np.arange(self.n_rows)
            self._cache[key] = np.asarray([float(score(np.repeat(everything, c.astype(int)))) for c in self.counts()])
        return self._cache[key]


def paired_bootstrap(score_a: Callable[[np.ndarray], float], score_b: Callable[[np.ndarray], float],
                     n_rows: int, *, n_resamples: int = 1000, seed: int = 0) -> Comparison:
    """Paired bootstrap test of "A scores differently from B" over ``n_rows`` validation rows.

    ``score_x(rows)`` scores a model on the given row positions (with repeats);
    ``score_x(np.arange(n_rows))`` is its observed score.
    """
    boot = BootstrapScores(n_rows, n_resamples=n_resamples, seed=seed, max_cells=n_resamples * n_rows)
    everything = np.arange(n_rows)
    observed = float(score_a(everything)) - float(score_b(everything))
    p = bootstrap_p_value(boot.scores("a", score_a), boot.scores("b", score_b), observed)
    return Comparison(p, observed, observed, "paired bootstrap")


# ------------------------------------------------------------------ the tests an engine offers
class SignificanceTest(Protocol):
    """What the leaderboard and the robust choice ask of a test (an engine may supply its own)."""

    @property
    def name(self) -> str:
        """For people: "Nadeau–Bengio corrected resampled t-test over 5 folds"."""
        ...

    def interval(self, outcome: TrialOutcome) -> tuple[float, float]:
        """95 % interval of the outcome's score, ``(nan, nan)`` when not available."""
        ...

    def compare(self, a: TrialOutcome, b: TrialOutcome) -> Comparison | None:
        """Two-sided test of a's score against b's; ``None`` when the test cannot apply."""
        ...


class FoldTest:
    """The corrected t-test on the outcomes' fold scores (any engine whose trials report folds)."""

    def __init__(self, test_train_ratio: float | None = None, n_folds: int | None = None,
                 bounds: tuple[float, float] = (-math.inf, math.inf)) -> None:
        self.test_train_ratio, self.bounds = test_train_ratio, bounds
        folds = f" over {n_folds} folds" if n_folds else " over the validation folds"
        self.name = f"Nadeau–Bengio corrected resampled t-test{folds}"

    def interval(self, outcome: TrialOutcome) -> tuple[float, float]:
        """The corrected t-interval, clipped to the metric's possible values (``bounds``): a symmetric
        interval around an AUC of 0.995 would otherwise promise scores above 1."""
        low, high = corrected_interval(outcome.fold_scores, test_train_ratio=self.test_train_ratio)
        return max(low, self.bounds[0]), min(high, self.bounds[1])

    def compare(self, a: TrialOutcome, b: TrialOutcome) -> Comparison | None:
        if len(a.fold_scores) < 2 or len(a.fold_scores) != len(b.fold_scores):
            return None
        return corrected_t_test(a.fold_scores, b.fold_scores, test_train_ratio=self.test_train_ratio)


# ------------------------------------------------------------------ the annotated leaderboard
def outcome_from_row(row: Mapping[str, Any]) -> tuple[dict[str, Any], TrialOutcome]:
    """Split an extra leaderboard row (an ensemble's) into its display row and a test subject.

    The row may carry ``fold_scores`` and ``payload`` (out-of-fold predictions) for the tests;
    they are removed from the displayed row.
    """
    clean = {k: v for k, v in row.items() if k not in EVIDENCE_KEYS}

    def number(key: str) -> float:
        value = row.get(key)
        return float(value) if isinstance(value, int | float) else _NAN

    outcome = TrialOutcome(number=-1, model=str(row.get("model")), params=dict(row.get("params") or {}),
                           value=number("score"), std=number("std"), fit_seconds=number("fit_seconds"),
                           predict_seconds=number("predict_seconds"), payload=row.get("payload"),
                           fold_scores=tuple(float(s) for s in row.get("fold_scores") or ()))
    return clean, outcome


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.floating | np.integer) and math.isfinite(float(value))


def annotate_leaderboard(board: pd.DataFrame, outcomes: Mapping[str, TrialOutcome], test: SignificanceTest, *,
                         alpha: float = ALPHA, floor: float | None = None) -> pd.DataFrame:
    """Add ``ci_low``, ``ci_high``, ``p_next`` and ``lead`` to a ranked leaderboard (best first).

    ``outcomes`` maps a row's ``model`` label to what the test needs (fold scores, payload).
    ``lead`` is "significant" (p < ``alpha``), "tie", "n/a" (no test applies, e.g. an ensemble
    without out-of-fold predictions) or "" for the last scored row. ``floor``: the lowest score the
    metric can take (0 for an error such as MASE): a t-interval is symmetric and may reach below it
    (a MASE "between -0.19 and ..."), which no model can score, so it is cut there.
    """
    frame = board.copy()
    models = [str(m) for m in frame["model"]] if "model" in frame else []
    scored = [i for i in range(len(frame)) if _is_number(frame["score"].iloc[i])]
    low, high, p_next, lead = [_NAN] * len(frame), [_NAN] * len(frame), [_NAN] * len(frame), [""] * len(frame)
    for i in scored:
        if models[i] in outcomes:
            low[i], high[i] = test.interval(outcomes[models[i]])
            if floor is not None and math.isfinite(low[i]):
                low[i] = max(low[i], floor)
    for i, j in zip(scored, scored[1:], strict=False):
        a, b = outcomes.get(models[i]), outcomes.get(models[j])
        result = test.compare(a, b) if a is not None and b is not None else None
        if result is None or not math.isfinite(result.p_value):
            lead[i] = "n/a"
            continue
        p_next[i] = result.p_value
        lead[i] = "significant" if result.p_value < alpha else "tie"
    for i in range(len(frame)):
        if i not in scored:
            lead[i] = "n/a"
    for name, values in zip(SIGNIFICANCE_COLUMNS, (low, high, p_next, lead), strict=True):
        frame[name] = values
    return frame


def leaderboard_caption(test_name: str, alpha: float = ALPHA, *, tested: bool = True) -> str:
    """One line explaining the significance columns (for the CLI, the dashboard and ``decisions_``).

    ``tested=False``: no pair of rows could be tested (each model was scored once, with no folds
    and no out-of-fold predictions to resample), and the line says so instead.
    """
    if not tested:
        return ("p_next and lead are 'n/a': each model was scored once on one validation set, with no folds "
                "or predictions to resample, so no significance test applies; compare the scores with care")
    return (f"ci_low–ci_high: 95 % interval of each score; p_next: two-sided p-value of a row's lead over the "
            f"next row ({test_name}); lead: 'significant' when p < {alpha:g}, else 'tie' (the two are "
            "indistinguishable on this data)")


# ------------------------------------------------------------------ robust selection
def simplicity_key(outcome: TrialOutcome) -> tuple[int, float, float]:
    """Simplest first: fewest tuned hyperparameters, then cheapest fit + predict, then lowest std."""
    cost = outcome.fit_seconds + outcome.predict_seconds
    return (len(outcome.params), cost if math.isfinite(cost) else math.inf,
            outcome.std if math.isfinite(outcome.std) else math.inf)


def robust_pick(ranked: Sequence[TrialOutcome], test: SignificanceTest, *, alpha: float = ALPHA
                ) -> tuple[TrialOutcome, str]:
    """Among the outcomes tied with the best (``ranked[0]``), the simplest one, and why in words.

    An outcome is *tied* when the test finds no significant difference from the best (p ≥ α)
    **and** its score lies inside the best's 95 % interval. The second condition keeps out a model
    so noisy that the test has no power against it (one bad fold makes its std huge and its p
    large): a tie must be close, not merely unproven. A best scored perfectly on every resample
    has a zero-width interval and so no ties: it is kept. An outcome the test cannot compare with
    the best is left out (no evidence either way).
    """
    best = ranked[0]
    if len(ranked) == 1:
        return best, f"kept {best.model}: it is the only model that finished, there is nothing to compare it with"
    low, high = test.interval(best)
    inside = (lambda v: low <= v <= high) if math.isfinite(low) and math.isfinite(high) else (lambda v: True)
    tied: list[tuple[TrialOutcome, float]] = [(best, 1.0)]
    for other in ranked[1:]:
        result = test.compare(best, other)
        if result is not None and math.isfinite(result.p_value) and result.p_value >= alpha and inside(other.value):
            tied.append((other, result.p_value))
    pick, p = min(tied, key=lambda item: simplicity_key(item[0]))
    names = ", ".join(o.model for o, _ in tied)
    pool = f"{len(tied)} of {len(ranked)} model(s) are statistically tied with the best ({names}; {test.name}, " \
           f"α = {alpha:g})"
    if len(tied) == 1:
        return best, (f"kept the best, {best.model}: no other model is statistically tied with it ({test.name}, "
                      f"α = {alpha:g}; a tie needs p ≥ {alpha:g} and a score inside the best's 95 % interval)")
    if pick is best:
        return best, f"kept the best, {best.model}: {pool}, and it is also the simplest of them"
    return pick, f"chose {pick.model}: tied with {best.model} (p={p:.2f}), {_why_simpler(pick, best)}; {pool}"


def _why_simpler(pick: TrialOutcome, best: TrialOutcome) -> str:
    reasons = []
    if len(pick.params) < len(best.params):
        reasons.append(f"{len(pick.params)} tuned hyperparameter(s) instead of {len(best.params)}")
    cost, best_cost = pick.fit_seconds + pick.predict_seconds, best.fit_seconds + best.predict_seconds
    if cost > 0 and best_cost > cost:
        reasons.append(f"{best_cost / cost:.0f}x faster to fit and predict" if best_cost >= 2 * cost
                       else f"{best_cost / cost:.1f}x faster to fit and predict")
    if not reasons and pick.std < best.std:
        reasons.append(f"steadier across folds (std {pick.std:.4f} vs {best.std:.4f})")
    return ", ".join(reasons) or "simpler by the robust order"
