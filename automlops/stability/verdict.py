"""The plain-language verdict of a stability analysis, and the corrected interval over splits.

**How stable is stable?** A spread means something only next to the metric's scale. For scores
bounded by 0 and 1 (accuracy, ROC-AUC, F1, R²…) the standard deviation is judged as is: below
0.01 the score is *stable*, below 0.03 *somewhat stable*, above that *unstable*. For error
metrics in the data's own units (RMSE, MAE…) it is judged relative to the mean (the coefficient
of variation): below 3 %, below 10 %, above.

**Data or algorithm?** The spread across splits is *data variance* (which rows the model learns
from and is judged on); the spread across seeds on one fixed split is *algorithm variance* (the
model's own randomness). Comparing the two says where the uncertainty lives.

**Is a swing real?** Along a sensitivity sweep every value is refitted on the same splits, so
two points differ only by the hyperparameter (a *paired* design). The noise a swing is judged
against is the standard deviation, over those splits, of each point's difference from the chosen
value: a swing below twice that noise is called chance.

**Splits overlap.** K resampled splits share most of their training rows, so their scores are
not independent and the textbook t-interval is too narrow. Nadeau & Bengio (2003) showed that the
variance of the mean over J such splits is better estimated by ``(1/J + n_test/n_train) · s²``
instead of ``s²/J``; the interval over splits uses that corrected variance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from automlops.stability.types import SensitivityCurve, Spread

__all__ = ["BOUNDED_METRICS", "clipped", "corrected_spread", "fmt", "level", "verdict"]

BOUNDED_METRICS = frozenset({"accuracy", "balanced_accuracy", "roc_auc", "f1", "f1_macro", "f1_weighted",
                             "precision", "recall", "r2", "silhouette", "average_precision", "iou", "miou",
                             "map", "dice", "mcc", "top5_accuracy"})


def corrected_spread(spread: Spread, test_fraction: float | None, confidence: float = 0.95) -> Spread:
    """``spread`` with the Nadeau–Bengio corrected t-interval (``test_fraction`` = n_test / n_train)."""
    if test_fraction is None or spread.n < 2 or not math.isfinite(spread.std):
        return spread
    from scipy import stats

    half = float(stats.t.ppf(0.5 + confidence / 2, spread.n - 1)) * math.sqrt(
        (1.0 / spread.n + test_fraction) * spread.std ** 2)
    return Spread(spread.n, spread.mean, spread.std, spread.mean - half, spread.mean + half, spread.min,
                  spread.max, spread.scores)


UPPER_BOUNDED = BOUNDED_METRICS  # no score above 1
ERROR_METRICS = frozenset({"rmse", "mae", "mape", "mase", "smape", "log_loss", "davies_bouldin",
                           "calinski_harabasz"})  # errors and scores ≥ 0 with no upper end
LOWER_BOUNDED = (BOUNDED_METRICS - {"r2", "silhouette", "mcc"}) | ERROR_METRICS  # no score below 0


def clipped(spread: Spread, metric: str) -> Spread:
    """``spread`` with its interval kept within the metric's possible range (a ROC-AUC CI ends at 1)."""
    low = max(spread.ci_low, 0.0) if metric in LOWER_BOUNDED else spread.ci_low
    high = min(spread.ci_high, 1.0) if metric in UPPER_BOUNDED else spread.ci_high
    return Spread(spread.n, spread.mean, spread.std, low, high, spread.min, spread.max, spread.scores)


def fmt(value: float, scale: float | None = None) -> str:
    """A number with as many decimals as ``scale`` (a spread) makes meaningful: 0.004 → '0.004'."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if scale is not None and scale == 0:  # no spread to size the decimals by: four significant digits
        return f"{value:.4g}"
    ref = abs(scale) if scale is not None and math.isfinite(scale) and scale > 0 else abs(value)
    if ref == 0:
        return f"{value:.3g}"
    decimals = max(0, min(6, 1 - int(math.floor(math.log10(ref)))))
    return f"{value:.{decimals}f}"


def level(spread: Spread, metric: str) -> str:
    """'stable', 'somewhat stable' or 'unstable' (see the module docstring for the thresholds)."""
    if spread.n < 2 or not math.isfinite(spread.std):
        return "not measured"
    if metric in BOUNDED_METRICS:
        size, limits = spread.std, (0.01, 0.03)
    else:
        size, limits = spread.std / max(abs(spread.mean), 1e-12), (0.03, 0.10)
    return "stable" if size < limits[0] else "somewhat stable" if size < limits[1] else "unstable"


def _source(splits: Spread | None, seeds: Spread | None, seeds_skipped: str | None) -> str:
    if seeds is None or seeds.n < 2:
        if seeds_skipped == "no randomness":
            return "the model has no randomness of its own, so all of the spread is the data"
        return ""
    if seeds.std <= 1e-12:
        return (f"{seeds.n} seeds give exactly the same score, so all of the spread is the data"
                if splits is not None and splits.n >= 2 else "")
    if splits is None or splits.n < 2:
        return ""  # the seeds' spread is already the headline
    moved = f"seeds move it ±{fmt(seeds.std)}"
    if seeds.std < 0.5 * splits.std:
        return f"{moved}, so most of the spread is the data"
    if seeds.std > 2 * splits.std:
        return f"{moved}, so most of the spread is the model's own randomness"
    return f"{moved}, about as much as the data does"


def _sensitivity(curves: Sequence[SensitivityCurve], noise: Mapping[str, float]) -> str:
    """The most sensitive hyperparameter, its swing judged against its *paired* noise when measured."""
    if not curves:
        return ""
    top = max(curves, key=lambda c: c.swing)
    if top.swing <= 0:
        return "no hyperparameter moves it"
    text = f"most sensitive to {top.param} ({fmt(top.swing)} swing"
    level_ = noise.get(top.param)
    if level_ is not None and top.swing < 2 * level_:
        return text + f", within the noise of ±{fmt(level_)}: no hyperparameter moves it beyond chance)"
    if level_ is not None:
        return text + f", beyond the noise of ±{fmt(level_)})"
    return text + ")"


def verdict(metric: str, splits: Spread | None, seeds: Spread | None, curves: Sequence[SensitivityCurve],
            *, seeds_skipped: str | None = None, importances: Mapping[str, float] | None = None,
            noise: Mapping[str, float] | None = None) -> str:
    """One paragraph: stability level, spread with CI, data vs algorithm, most sensitive hyperparameter."""
    head = splits if splits is not None and splits.n >= 2 else seeds
    if (head is None or head.n < 2) and not curves and seeds_skipped == "no randomness":
        return ("no randomness: every seed gives the same model, so its algorithm variance is zero and all of "
                "its spread comes from the data (ask for splits to measure it)")
    parts: list[str] = []
    if head is not None and head.n >= 2 and head.std <= 1e-12:
        where = f"{head.n} splits" if head is splits else f"{head.n} seeds"
        parts.append(f"stable: {metric} {fmt(head.mean, 0.0)}, exactly the same across {where}")
    elif head is not None and head.n >= 2:
        where = f"{head.n} splits" if head is splits else f"{head.n} seeds"
        parts.append(f"{level(head, metric)}: {metric} {fmt(head.mean, head.std)} ±{fmt(head.std)} across {where} "
                     f"(95 % CI {fmt(head.ci_low, head.std)}–{fmt(head.ci_high, head.std)})")
    source = _source(splits, seeds, seeds_skipped)
    if source:
        parts.append(source)
    sens = _sensitivity(curves, noise or {})
    if sens:
        parts.append(sens)
    if importances:
        name, share = max(importances.items(), key=lambda kv: kv[1])
        parts.append(f"in the search, {name} explained {share:.0%} of the score's variation (fANOVA)")
    return "; ".join(parts) if parts else "not enough refits finished to judge the stability"
