"""The panel of default detectors fits a small time budget, and a budget too small is refused up front."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from automlops.anomaly import AnomalyEngine
from automlops.anomaly.detectors import PANEL
from automlops.anomaly.panel import ALWAYS, RELATIVE_COST, fit_panel
from automlops.errors import ConfigError
from automlops.search.driver import DriverConfig, SearchDriver


@pytest.fixture(scope="module")
def cancer() -> np.ndarray:
    X = load_breast_cancer().data
    return np.asarray((X - X.mean(0)) / X.std(0), dtype=float)


def test_without_a_budget_every_member_is_fitted(cancer: np.ndarray) -> None:
    fit = fit_panel(cancer, 0, allowance=None)
    assert list(fit.panel.ranks) == list(PANEL) and not fit.skipped
    assert set(fit.seconds) == set(PANEL) and fit.unit_seconds > 0


def test_with_no_time_left_only_the_cheapest_members_are_fitted(cancer: np.ndarray) -> None:
    fit = fit_panel(cancer, 0, allowance=0.0)
    cheapest = sorted(PANEL, key=RELATIVE_COST.__getitem__)[:ALWAYS]
    assert set(fit.panel.ranks) == set(cheapest)  # histograms and both tail-probability detectors
    assert list(fit.panel.ranks) == [n for n in PANEL if n in cheapest]  # the panel's order: same consensus sums
    assert set(fit.skipped) == set(PANEL) - set(cheapest)
    # the members kept rank the training rows exactly as in the full panel
    full = fit_panel(cancer, 0, allowance=None)
    for name in cheapest:
        np.testing.assert_array_equal(fit.panel.ranks[name], full.panel.ranks[name])


def test_a_budget_too_small_is_refused_before_the_search() -> None:
    frame = pd.DataFrame(np.tile(load_breast_cancer().data, (40, 1)))  # ~22,800 rows
    frame.columns = [f"x{i}" for i in range(frame.shape[1])]
    frame += np.random.default_rng(0).normal(scale=1e-3, size=frame.shape)
    with pytest.raises(ConfigError, match=r"too small.*give at least --time-budget \d+"):
        SearchDriver(AnomalyEngine(contamination=0.02), DriverConfig(time_budget=0.3)).fit(frame)


def test_the_panel_used_is_recorded(cancer: np.ndarray) -> None:
    frame = pd.DataFrame(cancer[:300], columns=[f"x{i}" for i in range(cancer.shape[1])])
    result = SearchDriver(AnomalyEngine(contamination=0.05), DriverConfig(preset="fast", n_trials=2)).fit(frame)
    assert result.artifact.meta["panel"] == list(PANEL)


def test_the_panels_share_is_of_the_time_left_after_start_up() -> None:
    """The budget's clock starts with the process (``started_at``): 3.7 s of start-up must not leave a 15 s
    budget's panel 0.05 s, i.e. only its three cheapest members. 3,000 rows × 3 columns with planted
    outliers: isolation and the neighbour detectors fit in well under a second."""
    import time

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "c"])
    frame.iloc[:60] += 6.0  # the planted outliers
    engine = AnomalyEngine(contamination=0.02, preset="fast")
    config = DriverConfig(preset="fast", n_trials=1, time_budget=15, started_at=time.monotonic() - 3.7)
    result = SearchDriver(engine, config).fit(frame)
    kept = set(result.artifact.meta["panel"])
    assert {"iforest", "lof", "knn"} <= kept, [d.message for d in result.decisions if d.topic == "budget"]
