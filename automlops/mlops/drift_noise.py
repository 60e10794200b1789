"""How far apart two samples of the *same* distribution land: the noise floor of a drift distance.

Above 1,000 reference rows Evidently measures drift as a **distance** with a fixed threshold
(Wasserstein ≥ 0.1 for numbers, Jensen-Shannon ≥ 0.1 for categories; see :mod:`.drift`). A
distance between a reference and a *small* live window is never 0, even when nothing changed:
the window is a sample, and a sample's histogram is ragged. How ragged depends on its size and,
for categories, on how many there are:

* 100 live rows from an unchanged flights table put the normed Wasserstein distance of
  ``sched_dep_time`` at 0.10 on average (half the windows "drifted"); 1,000 rows at 0.03;
* 600 rows of a column of 3,556 tail numbers are at Jensen-Shannon 0.63, always "drifted": most
  categories cannot even appear in 600 rows.

So each column's threshold is raised to its **noise floor** where that floor is higher: the
distance that 95 % of same-size windows drawn *from the reference itself* stay under (categories:
multinomial draws with the reference's shares; numbers: rows drawn with replacement). A column is
then flagged only when its distance is both past Evidently's threshold and past what chance alone
gives at that window size: about a 5 % false-alarm rate per column, like a test at p = 0.05. With
large windows the floor is far below 0.1 and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DISTANCE_THRESHOLD", "DRAWS", "NoiseFloor", "noise_floors"]

DISTANCE_THRESHOLD = 0.1  # Evidently's default for both distances
DRAWS = 100  # same-size windows drawn from the reference per column
QUANTILE = 0.95
NUMERIC_WINDOW_CAP = 5000  # live rows past which a numeric column's floor is not worth drawing
_CHUNK = 20  # Wasserstein draws computed at once


@dataclass(frozen=True)
class NoiseFloor:
    """A column whose threshold is raised: Evidently's ``method`` and the ``threshold`` to use."""

    column: str
    method: str  # Evidently's name: "jensenshannon" or "wasserstein"
    threshold: float
    n_values: int  # categories (Jensen-Shannon) or distinct numbers (Wasserstein)


def noise_floors(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str],
                 seed: int = 0) -> list[NoiseFloor]:
    """The columns whose same-size noise floor is above :data:`DISTANCE_THRESHOLD`, with that floor.

    Only where Evidently uses a distance: more than 1,000 reference rows. Numbers with at most 5
    distinct values are compared as categories, as Evidently does.
    """
    rng = np.random.default_rng(seed)
    floors = []
    for column in [*numeric, *categorical]:
        r, c = ref[column].dropna(), cur[column].dropna()
        if len(r) <= 1000 or len(c) == 0:
            continue
        distinct = pd.concat([r, c]).nunique()
        as_categories = column in categorical or distinct <= 5
        if not as_categories and len(c) > NUMERIC_WINDOW_CAP:
            continue  # the floor shrinks as 1/sqrt(rows): 0.06 at 1,000 rows, far under 0.1 from here on
        floor = (_js_floor(r, len(c), rng) if as_categories else _wasserstein_floor(r.to_numpy(float), len(c), rng))
        if floor > DISTANCE_THRESHOLD:
            floors.append(NoiseFloor(column, "jensenshannon" if as_categories else "wasserstein", round(floor, 4),
                                     int(distinct)))
    return floors


def _js_floor(reference: pd.Series, n: int, rng: np.random.Generator) -> float:
    """95th percentile of the Jensen-Shannon distance (natural log, as Evidently's) between the reference
    shares and the shares of ``n`` rows drawn from them."""
    p = reference.value_counts(normalize=True).to_numpy(float)
    q = rng.multinomial(n, p, size=DRAWS) / n
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum(axis=1)
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum(axis=1)
    return float(np.quantile(np.sqrt(np.maximum((kl_p + kl_q) / 2, 0.0)), QUANTILE))


def _wasserstein_floor(reference: np.ndarray, n: int, rng: np.random.Generator) -> float:
    """95th percentile of the Wasserstein distance, in reference standard deviations (Evidently's
    norm), between the reference and ``n`` of its rows drawn with replacement.

    Exact, and cheap: a draw only holds reference values, so on the reference's distinct values
    ``v_1 < … < v_k`` it is a vector of counts (a multinomial draw), and the distance is the area
    between the two step CDFs, ``Σ |F_ref(v_i) − F_draw(v_i)| · (v_{i+1} − v_i)``.
    """
    norm = max(float(np.std(reference)), 0.001)
    values, counts = np.unique(reference, return_counts=True)
    if len(values) < 2:
        return 0.0
    shares, widths = counts / counts.sum(), np.diff(values)
    cdf = np.cumsum(shares)[:-1]
    distances = []
    for start in range(0, DRAWS, _CHUNK):  # a few draws at a time: k values x draws floats each
        draws = rng.multinomial(n, shares, size=min(_CHUNK, DRAWS - start)) / n
        distances.append((np.abs(np.cumsum(draws, axis=1)[:, :-1] - cdf) * widths).sum(axis=1))
    return float(np.quantile(np.concatenate(distances) / norm, QUANTILE))
