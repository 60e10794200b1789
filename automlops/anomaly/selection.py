"""How to choose an anomaly detector when nobody can say which rows are anomalies.

With labels, choosing is easy: keep the detector with the best ROC-AUC. Without them, there is
no right answer to score against, and a detector's own numbers cannot judge it (every detector is
perfectly happy with its own ranking). This module implements the criterion the engine uses, the
mean of two measurable properties of a good ranking:

**Agreement with a panel of diverse detectors (leave-own-family-out consensus).**

1. *Rank-normalise.* Detectors score on incomparable scales (a distance, a log-probability, a
   path length...). Each score is replaced by its rank among the training rows, divided by the
   number of rows: 0.9 then means "more anomalous than 90 % of the training rows", whatever the
   detector (:class:`RankCalibrator`, which also places *new* rows on the same scale).
2. *A panel.* In ``prepare``, seven detectors with very different ideas of "anomalous"
   (isolation, tail probabilities ×2, local density, distance, boundary, histograms; see
   :data:`~automlops.anomaly.detectors.PANEL`) are fitted once, at their default settings. The
   *consensus* is the mean of their rank scores. Errors of unlike detectors are partly
   independent, so the consensus ranks rows more reliably than a typical panel member – the
   "wisdom of crowds" argument behind outlier ensembles (Aggarwal & Sathe, *Outlier Ensembles*, 2017).
3. *Agreement* is the Spearman correlation between a candidate's ranking and the consensus of the
   panel members of *other* families – leaving its own family out, so a detector is never
   rewarded for agreeing with itself. A mis-set detector (an SVM frontier that hugs every point)
   ranks noise and agrees with nobody.

**Stability under resampling.** The training rows are split once into two random halves; the
candidate is fitted on each half and both fits score every training row. Stability is the Spearman
correlation of the two rankings. A ranking that changes when half the data is swapped reflects the
sample, not the data's structure (LOF with very few neighbours, a tiny isolation forest); the same
idea as stability-based model selection in clustering (Ben-Hur et al., 2002; Lange et al., 2004).
Agreement alone punishes a detector that is right *alone* (on digits, only histograms see the
planted zeros); stability gives such a detector a second way to earn its place.

The criterion, ``agreement_stability``, is the mean of the two (−1…1, higher is better). It is
fixed in ``prepare`` (the panel and the halves do not move while Optuna searches, so a trial's
value means the same at trial 2 and trial 200, and every worker of a shared study computes the same
numbers). The shipped model averages the rank scores of the best candidate of each of the top two
families: averaging lowers the variance of an unsupervised choice, its main risk.

How good is it? Measured honestly (``benchmarks/anomaly_quality.py``, planted anomalies, labels
never used, 30 s budget): slightly above the *median* single default detector on breast_cancer
(0.939 vs 0.934 ROC-AUC) and digits (0.636 vs 0.519), slightly below it on wine (0.981 vs 0.987),
and 0.01–0.2 below the *best* single default detector chosen *with hindsight* (COPOD, INNE, HBOS
– a different one per table). No internal criterion is known to match that oracle in general (Ma,
Zhao & Akoglu, "A large-scale study on unsupervised outlier model selection", 2023). Across the
candidates of 10 planted tables, agreement correlated positively with the true ROC-AUC on 8; adding
stability helped most on digits and changed little elsewhere, but it favours the tail-probability
detectors (ECOD, COPOD), which are stable by construction.

The **threshold** turns scores into 0/1 flags. With ``contamination`` given, it is the
(1 − contamination) quantile of the training scores. With ``"auto"``, each member's *raw* training
scores are judged by the Hampel identifier – a row is an outlier of that detector when its score is
more than 3 robust standard deviations (1.4826 × MAD) above the median – and the median share of
such rows across members is the contamination, kept within [1/n, 0.5]. PyOD's own default (0.1)
is an arbitrary constant; the MAD rule adapts to how heavy the scores' upper tail really is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from automlops.core.metrics import MetricContext, MetricSpec
from automlops.core.problem import TaskType
from automlops.core.registry import Registry

__all__ = ["ANOMALY_METRICS", "LABEL_METRICS", "Panel", "RankCalibrator", "agreement", "auto_contamination",
           "label_metrics", "rank_scores", "stability"]

HAMPEL_K = 3.0
_TASK = (TaskType.ANOMALY,)


def rank_scores(scores: np.ndarray) -> np.ndarray:
    """Each score's rank among ``scores`` over their number: "more anomalous than this share of rows"."""
    from scipy.stats import rankdata

    return np.asarray(rankdata(scores), dtype=float) / max(1, len(scores))


class RankCalibrator:
    """Maps a detector's raw scores to [0, 1): the share of training rows with a lower score.

    Between training scores it interpolates; beyond the largest one it keeps growing slowly
    towards 1 (so two extreme new rows still keep their order), and likewise below the smallest.
    """

    def __init__(self, train_scores: np.ndarray) -> None:
        s = np.sort(np.asarray(train_scores, dtype=float))
        self.sorted_ = s
        n = len(s)
        self.levels_ = (np.arange(n) + 0.5) / n
        spread = float(np.quantile(s, 0.99) - np.quantile(s, 0.5))
        self.spread_ = spread if spread > 0 else float(np.ptp(s)) or 1.0

    def transform(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        s, n = self.sorted_, len(self.sorted_)
        out = np.interp(raw, s, self.levels_)
        above = np.clip((raw - s[-1]) / self.spread_, 0.0, None)
        below = np.clip((s[0] - raw) / self.spread_, 0.0, None)
        out = np.where(raw > s[-1], 1 - 0.5 / n + 0.5 / n * above / (1 + above), out)
        return np.where(raw < s[0], 0.5 / n / (1 + below), out)


def agreement(scores: np.ndarray, consensus: np.ndarray) -> float:
    """Spearman correlation between a candidate's ranking and the consensus (−1…1, higher agrees more)."""
    r = rank_scores(scores)
    if np.ptp(r) == 0 or np.ptp(consensus) == 0:
        return 0.0
    return float(np.corrcoef(r, consensus)[0, 1])


def stability(fit_and_score: Any, halves: tuple[np.ndarray, np.ndarray]) -> float:
    """Spearman correlation of the rankings of two fits, each on one half of the rows, scoring all rows.

    ``fit_and_score(rows)`` fits on ``rows`` and returns the scores of every row. A candidate that
    cannot be fitted on half the rows (too few for its neighbours) earns 0.
    """
    try:
        first, second = (np.asarray(fit_and_score(h), dtype=float) for h in halves)
    except (ValueError, np.linalg.LinAlgError):
        return 0.0
    if not (np.all(np.isfinite(first)) and np.all(np.isfinite(second))):
        return 0.0
    return agreement(first, rank_scores(second))


@dataclass
class Panel:
    """The fixed panel's rank scores on the training rows (and the fitted members, to score new rows)."""

    ranks: dict[str, np.ndarray]
    members: dict[str, Any]  # name -> (fitted detector, RankCalibrator)

    def consensus(self, leave_out: str | None = None) -> np.ndarray:
        """Mean rank score of the panel, without the family ``leave_out``."""
        kept = [r for name, r in self.ranks.items() if name != leave_out] or list(self.ranks.values())
        return np.mean(kept, axis=0)

    def consensus_on(self, Xt: np.ndarray) -> np.ndarray:
        """The consensus on new (already transformed) rows, on the training rows' scale."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts = [cal.transform(det.decision_function(Xt)) for det, cal in self.members.values()]
        return np.mean(parts, axis=0)


# ---------------------------------------------------------------- label metrics (evaluation only)
def _roc_auc(c: MetricContext) -> float:
    return float(skm.roc_auc_score(c.y_true, c.pred))


def _pr_auc(c: MetricContext) -> float:
    return float(skm.average_precision_score(c.y_true, c.pred))


def _precision_at_k(c: MetricContext) -> float:
    y, s = np.asarray(c.y_true), np.asarray(c.pred, dtype=float)
    k = int(y.sum())
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean()) if k else float("nan")


def _agreement_stability_metric(c: MetricContext) -> float:
    return float((c.extra["agreement"] + c.extra["stability"]) / 2)


ANOMALY_METRICS: Registry[MetricSpec] = Registry("anomaly metric")
ANOMALY_METRICS.add("agreement_stability", MetricSpec(
    "agreement_stability", "Agreement + stability", "maximize", _TASK, False, _agreement_stability_metric,
    "mean of the ranking's agreement with a panel of diverse default detectors and its stability across two "
    "halves of the rows (no labels used)"))
ANOMALY_METRICS.add("roc_auc", MetricSpec(
    "roc_auc", "ROC-AUC", "maximize", _TASK, False, _roc_auc,
    "chance that a known anomaly scores above a normal row"))
ANOMALY_METRICS.add("pr_auc", MetricSpec(
    "pr_auc", "PR-AUC", "maximize", _TASK, False, _pr_auc,
    "average precision over the ranking: rewards putting known anomalies at the very top"))
ANOMALY_METRICS.add("precision_at_k", MetricSpec(
    "precision_at_k", "Precision@k", "maximize", _TASK, False, _precision_at_k,
    "share of known anomalies among the k highest scores (k = number of known anomalies)"))
LABEL_METRICS: tuple[str, ...] = ("roc_auc", "pr_auc", "precision_at_k")


def label_metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC and precision@k of ``scores`` against known anomalies (empty without both classes)."""
    y = np.asarray(y, dtype=int)
    if y.min(initial=0) == y.max(initial=0) or len(np.unique(y)) < 2:
        return {}
    context = MetricContext(y_true=y, pred=np.asarray(scores, dtype=float))
    return {name: ANOMALY_METRICS.get(name).fn(context) for name in LABEL_METRICS}


def auto_contamination(raw_scores: Mapping[str, np.ndarray]) -> tuple[float, str]:
    """The Hampel (median + 3 MAD) share of outlying training scores, median over detectors."""
    shares = []
    for scores in raw_scores.values():
        s = np.asarray(scores, dtype=float)
        med = float(np.median(s))
        mad = 1.4826 * float(np.median(np.abs(s - med)))
        if mad <= 0:
            mad = float(np.std(s)) or 1.0
        shares.append(float(np.mean(s > med + HAMPEL_K * mad)))
    n = len(next(iter(raw_scores.values())))
    share = float(np.clip(np.median(shares), 1.0 / max(n, 1), 0.5))
    per = ", ".join(f"{k} {v:.1%}" for k, v in zip(raw_scores, shares, strict=True))
    return share, (f"auto: median over the detectors of the share of training scores above median + "
                   f"{HAMPEL_K:g}·MAD (Hampel identifier): {per} → {share:.1%}")
