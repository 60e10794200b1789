"""Choosing by labels when the labels are few: does tuning on them beat a detector left at its defaults?

With a label column of known anomalies (``select_by_label``), every candidate gets a number –
ROC-AUC on the training rows – and the search keeps the highest. But known anomalies are usually
few (15 among 360 rows on the breast_cancer benchmark), and the search tries hundreds of
candidates: the highest of hundreds of noisy numbers is high partly *by luck* (the winner's curse).
It then does worse on new rows than its training number promised, sometimes worse than a detector
left at its library defaults, whose settings nothing fitted to the labels.

A standard error around the winner's number does not see that luck: the winner was *picked*
because it was lucky on these very rows. What can be measured is the **procedure**. The bootstrap
replays both ways of choosing many times:

1. draw the training rows with replacement (anomalies and normal rows separately, so each draw
   holds as many of each); the rows never drawn (about a third) are that draw's *out-of-bag* rows;
2. *search*: pick the best of the search's candidates by the label metric on the drawn rows;
   *defaults*: pick the best detector at its defaults the same way;
3. score both picks on the out-of-bag rows, which neither pick saw.

The mean out-of-bag difference estimates how much choosing among the tuned candidates gains over
choosing among the defaults *on rows that did not take part in the choice* – the winner's curse
included (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 17; the same idea as
nested cross-validation). The search's choice is shipped only when that gain is larger than its
own standard error – the *one-standard-error rule* (Breiman et al., 1984): between two ways of
choosing that do about as well, take the simpler one, here the detector nothing was tuned on.
Otherwise the best default detector is shipped, and the decision log says why, with the numbers.

Every candidate the search tried takes part, not only the best ones: keeping "the 20 best" would
choose them on *all* the training rows, out-of-bag rows included, and the replay would inherit the
very luck it is meant to measure (on breast_cancer it then reported a gain that the test rows did
not show). Cost is bounded: at most :data:`MAX_CANDIDATES` candidates (a random sample beyond),
:data:`MAX_ROWS` rows and :data:`DRAWS` draws, about a second on the benchmark tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

__all__ = ["DRAWS", "INTERVAL_DRAWS", "MAX_ROWS", "MAX_CANDIDATES", "Replay", "SortedScores", "replay_choice",
           "roc_auc_interval"]

DRAWS = 100
INTERVAL_DRAWS = 400  # bootstrap draws of a test ROC-AUC's interval (about 0.1 s on 10,000 test rows)
MAX_ROWS = 1_000
MAX_CANDIDATES = 300

Metric = Callable[[np.ndarray, np.ndarray], float]  # (labels, scores) -> value, higher is better


class SortedScores:
    """Candidates' scores, each sorted once: then the ROC-AUC of *any weighting* of the rows is a cumulative sum.

    ROC-AUC is the chance that an anomaly outranks a normal row (ties count half). Walk a
    candidate's rows from the lowest score up, summing the weight of the normal rows met so far:
    each anomaly's credit is that sum (plus half the normal weight tied with it), and the AUC is
    the anomalies' weighted credit over (anomaly weight × normal weight). A bootstrap draw is a
    weighting (how often each row was drawn; the out-of-bag rows are weight 1, the rest 0), so
    every draw costs one pass over a presorted matrix instead of a fresh sort per candidate.
    """

    def __init__(self, scores: np.ndarray) -> None:
        scores = np.atleast_2d(np.asarray(scores, dtype=float))
        k, m = scores.shape
        self.order = np.argsort(scores, axis=1, kind="stable")
        ranked = np.take_along_axis(scores, self.order, axis=1)
        position = np.broadcast_to(np.arange(m), (k, m))
        starts = np.ones((k, m), dtype=bool)
        starts[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
        ends = np.ones((k, m), dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        self.first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)  # where each tie group starts
        self.last = np.minimum.accumulate(np.where(ends, position, m)[:, ::-1], axis=1)[:, ::-1]  # ...and ends

    def roc_auc(self, y: np.ndarray, weights: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Each candidate's ROC-AUC with row ``i`` counted ``weights[i]`` times (only candidates ``which``)."""
        pick = slice(None) if which is None else which
        order, first, last = self.order[pick], self.first[pick], self.last[pick]
        normal = (weights * (y == 0))[order]
        anomaly = (weights * (y == 1))[order]
        below = np.zeros((normal.shape[0], normal.shape[1] + 1))
        np.cumsum(normal, axis=1, out=below[:, 1:])
        under = np.take_along_axis(below, first, axis=1)  # normal weight strictly below the tie group
        through = np.take_along_axis(below, last + 1, axis=1)  # ...and up to its end
        credit = under + 0.5 * (through - under)
        return (anomaly * credit).sum(axis=1) / (anomaly[0].sum() * normal[0].sum())


@dataclass(frozen=True)
class Replay:
    """What the bootstrap replay found: the defaults' champion and the search's out-of-bag gain over it."""

    champion: str
    champion_value: float  # the champion's metric on all training rows
    gain: float  # mean out-of-bag metric of the search's picks minus the defaults' picks
    standard_error: float  # of that mean, over the draws
    draws: int  # draws whose out-of-bag rows held both kinds of row

    @property
    def keep_search_choice(self) -> bool:
        return self.draws > 1 and self.gain > self.standard_error


def replay_choice(y: np.ndarray, candidates: Sequence[np.ndarray], defaults: Mapping[str, np.ndarray], *,
                  metric: Metric | None = None, seed: int = 0, draws: int = DRAWS) -> Replay:
    """Replay "best tuned candidate" against "best default" on bootstrap draws (see the module docstring).

    ``candidates`` are the scores of every candidate the search tried (a random
    :data:`MAX_CANDIDATES` of them beyond that) on the training rows, ``defaults`` each default
    detector's. The metric is
    ROC-AUC (:class:`SortedScores`, fast) unless ``metric`` gives another (then a third of the draws:
    each costs one call per candidate).
    """
    y = np.asarray(y, dtype=int)
    names = list(defaults)
    rng = np.random.default_rng(seed)
    default_matrix = np.asarray([defaults[n] for n in names], dtype=float)
    values = _scorer(metric, y, default_matrix)(np.ones(len(y)))
    champion = int(np.argmax(values))
    if len(candidates) > MAX_CANDIDATES:  # a random sample, not the best: picking by score would use every row
        candidates = [candidates[i] for i in np.sort(rng.choice(len(candidates), MAX_CANDIDATES, replace=False))]
    rows = _replay_rows(y, rng, stratify=metric is None)
    y = y[rows]
    tuned = _scorer(metric, y, np.asarray(candidates, dtype=float)[:, rows])
    plain = _scorer(metric, y, default_matrix[:, rows])
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    gains = []
    for _ in range(draws if metric is None else max(2, draws // 3)):
        bag = np.concatenate([rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))])
        drawn = np.bincount(bag, minlength=len(y)).astype(float)
        out = (drawn == 0).astype(float)
        if not (out[positives].any() and out[negatives].any()):
            continue  # out-of-bag rows without an anomaly (or without a normal row) score nothing
        pick, pick_default = np.argmax(tuned(drawn)), np.argmax(plain(drawn))  # each way's choice on the draw
        gains.append(float(tuned(out, [pick])[0] - plain(out, [pick_default])[0]))  # ...scored where it did not look
    if not gains:
        return Replay(names[champion], float(values[champion]), 0.0, float("inf"), 0)
    spread = float(np.std(gains, ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else float("inf")
    return Replay(names[champion], float(values[champion]), float(np.mean(gains)), spread, len(gains))


def roc_auc_interval(y: np.ndarray, scores: np.ndarray, *, level: float = 0.95, draws: int = INTERVAL_DRAWS,
                     seed: int = 0) -> tuple[float, float] | None:
    """A percentile bootstrap interval for the ROC-AUC of ``scores`` against known anomalies ``y``.

    Anomalies and normal rows are resampled separately (every draw holds as many of each as the data,
    so no draw lacks a class), and each draw's AUC is one weighted pass of :class:`SortedScores`. On
    a test split with 9 known anomalies a single AUC of 0.73 can be anything from about 0.55 to 0.9:
    the interval says so. None without both kinds of row.
    """
    y = np.asarray(y, dtype=int)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if not len(positives) or not len(negatives):
        return None
    rng = np.random.default_rng(seed)
    sorted_scores = SortedScores(np.asarray(scores, dtype=float))
    aucs = np.empty(draws)
    for i in range(draws):  # one draw's row counts at a time: a matrix of them would grow with rows × draws
        drawn = np.concatenate([rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))])
        aucs[i] = sorted_scores.roc_auc(y, np.bincount(drawn, minlength=len(y)).astype(float))[0]
    tail = (1 - level) / 2
    return float(np.quantile(aucs, tail)), float(np.quantile(aucs, 1 - tail))


def _replay_rows(y: np.ndarray, rng: np.random.Generator, stratify: bool) -> np.ndarray:
    """At most :data:`MAX_ROWS` rows. For ROC-AUC, which the share of anomalies does not change, the
    anomalies keep up to half of them (the few labels are the scarce part); other metrics depend on
    that share, so they get a plain random sample."""
    if len(y) <= MAX_ROWS:
        return np.arange(len(y))
    if not stratify:
        return np.sort(rng.choice(len(y), MAX_ROWS, replace=False))
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_pos = min(len(positives), MAX_ROWS // 2)
    n_neg = min(len(negatives), MAX_ROWS - n_pos)
    return np.sort(np.concatenate([rng.choice(positives, n_pos, replace=False),
                                   rng.choice(negatives, n_neg, replace=False)]))


def _scorer(metric: Metric | None, y: np.ndarray,
            scores: np.ndarray) -> Callable[..., np.ndarray]:
    """``(weights, which=None) -> metric of the score rows`` (all, or ``which``): ROC-AUC through
    :class:`SortedScores`, else ``metric`` called per row."""
    if metric is None:
        return partial(SortedScores(scores).roc_auc, y)

    def score(weights: np.ndarray, which: Sequence[int] | None = None) -> np.ndarray:
        rows = np.repeat(np.arange(len(y)), weights.astype(int))  # a row drawn twice counts twice
        chosen = scores if which is None else scores[list(which)]
        return np.array([metric(y[rows], s[rows]) for s in chosen])

    return score
