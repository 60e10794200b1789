"""The backtest: cut-offs, no leakage from the future, the metrics and the conformal intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.core.metrics import MetricContext
from automlops.forecasting.backtest import FORECAST_METRICS, naive_scale, plan_folds
from automlops.forecasting.engine import ForecastingEngine
from automlops.forecasting.intervals import add_bands, band_quantiles
from automlops.forecasting.models import FORECAST_MODELS
from automlops.search.engine import Candidate
from tests.forecasting.conftest import quiet_log


def _backtest(frame: pd.DataFrame, model: str) -> tuple[ForecastingEngine, pd.DataFrame]:
    engine = ForecastingEngine("passengers", "month", horizon=12, preset="fast")
    engine.prepare(frame, quiet_log())
    params = FORECAST_MODELS.get(model).defaults(engine.ctx)
    result = engine.evaluate(Candidate(model, params), None, None)
    return engine, engine.backtester.decode(result.payload or "")


def test_cutoffs_expand_and_stop_before_the_test_window() -> None:
    folds = plan_folds(132, 12, 3, 66)
    assert [(f.offset, f.horizon) for f in folds] == [(36, 12), (24, 12), (12, 12)]
    assert len(plan_folds(80, 12, 5, 40)) == 3  # no cut-off leaves fewer than 40 points to fit on
    assert plan_folds(20, 12, 3, 15)[0].horizon == 5  # short history: a shorter backtest horizon


@pytest.mark.parametrize("model", ["ridge", "auto_ets"])
def test_no_leakage_a_forecast_ignores_values_after_its_cutoff(air: pd.DataFrame, model: str) -> None:
    engine, before = _backtest(air, model)
    first = engine.backtester.folds[0]
    cutoff = first.train["ds"].max()
    altered = air.copy()
    altered.loc[altered["month"] > cutoff, "passengers"] *= 3  # the future changes completely...
    _, after = _backtest(altered, model)
    fold0 = (before["fold"] == 0).to_numpy()
    assert np.allclose(before.loc[fold0, "yhat"], after.loc[fold0, "yhat"])  # ...the fold-0 forecast does not
    assert not np.allclose(before.loc[~fold0, "yhat"], after.loc[~fold0, "yhat"])  # later cut-offs see it
    assert (first.actual["ds"] > cutoff).all() and len(first.actual) == 12


def test_mase_is_scaled_by_the_seasonal_naive_error() -> None:
    history = np.array([1.0, 2, 3, 4, 2, 3, 4, 5])  # season 4: each value is one more than a season ago
    assert naive_scale(history, 4) == pytest.approx(1.0)
    assert naive_scale(history, 1) == pytest.approx(np.mean(np.abs(np.diff(history))))
    mase = FORECAST_METRICS.get("mase").fn(MetricContext(np.array([6.0, 7]), np.array([5.0, 9]),
                                                         history=history, extra={"season": 4}))
    assert mase == pytest.approx(1.5)
    smape = FORECAST_METRICS.get("smape").fn(MetricContext(np.array([100.0]), np.array([50.0])))
    assert smape == pytest.approx(200 * 50 / 150)


def test_conformal_bands_cover_and_widen_with_the_step() -> None:
    rng = np.random.default_rng(0)
    q = band_quantiles(np.abs(rng.normal(size=2000)))
    assert q[80] == pytest.approx(1.28, abs=0.08) and q[95] == pytest.approx(1.96, abs=0.12)
    frame = pd.DataFrame({"unique_id": ["a"] * 4, "ds": pd.date_range("2020", periods=4, freq="D"),
                          "yhat": [10.0] * 4})
    out = add_bands(frame, q, {"a": 2.0})
    width = (out["yhat_hi_95"] - out["yhat_lo_95"]).to_numpy()
    assert np.all(np.diff(width) > 0) and width[0] == pytest.approx(2 * 2 * q[95])
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"]).all() and (out["yhat_hi_80"] <= out["yhat_hi_95"]).all()


def test_backtest_intervals_of_every_candidate(air: pd.DataFrame) -> None:
    for model in ("ridge", "seasonal_naive"):
        _, frame = _backtest(air, model)
        inside = ((frame["y"] >= frame["lo95"]) & (frame["y"] <= frame["hi95"])).mean()
        assert 0.5 <= inside <= 1.0 and (frame["lo95"] <= frame["lo80"]).all()
