"""The backtest: cut-offs, no leakage from the future, the metrics and the conformal intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.core.metrics import MetricContext
from automlops.forecasting.backtest import FORECAST_METRICS, naive_scale, plan_folds, score_table
from automlops.forecasting.engine import ForecastingEngine
from automlops.forecasting.intervals import add_bands, band_quantiles, normalised_errors
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


def _scored(rows: list[tuple[str, float, float, float]]) -> dict[str, float]:
    frame = pd.DataFrame(rows, columns=["unique_id", "y", "yhat", "scale"]).assign(fold=0)
    return score_table(frame, FORECAST_METRICS)


def test_a_constant_series_is_left_out_of_the_mase_average() -> None:
    assert naive_scale(np.full(30, 4.0), 7) == 0.0  # no in-sample error to scale by
    # series a: MAE 0.5 over a scale of 2 -> MASE 0.25; series b never changed, and a forecast 0.01 off it
    # used to score 0.005 / 1e-8 = 500,000 there
    scores = _scored([("a", 1.0, 2.0, 2.0), ("a", 2.0, 2.0, 2.0), ("b", 1.0, 1.01, 0.0), ("b", 1.0, 1.0, 0.0)])
    assert scores["mase"] == pytest.approx(0.25)
    assert scores["mae"] == pytest.approx((0.5 + 0.005) / 2)  # the unscaled metrics still count it
    only_constant = _scored([("b", 1.0, 1.5, 0.0)])  # MASE undefined everywhere: the MAE stands in
    assert only_constant["mase"] == pytest.approx(0.5)
    errors = normalised_errors(np.array([1.0, 3.0]), np.array([1.01, 2.0]), np.array([0.0, 1.0]), np.array([1, 1]))
    assert np.isnan(errors[0]) and errors[1] == pytest.approx(1.0)  # left out of the conformal quantiles


def test_a_flat_series_beside_real_ones_does_not_decide_the_backtest(macro_long: pd.DataFrame) -> None:
    flat = macro_long[macro_long["series"] == "cpi"].assign(series="flat", value=5.0)
    log = quiet_log()
    scores = {}
    for name, frame in {"real": macro_long, "with_flat": pd.concat([macro_long, flat], ignore_index=True)}.items():
        engine = ForecastingEngine("value", "quarter", series_id="series", horizon=8, preset="fast")
        engine.prepare(frame, log)
        scores[name] = engine.evaluate(Candidate("ridge", FORECAST_MODELS.get("ridge").defaults(engine.ctx)),
                                       None, None).mean
    assert scores["with_flat"] == pytest.approx(scores["real"], rel=0.5)  # the flat series' tiny errors not scaled up
    assert any("1 of 4 series never change" in d.message and "(flat)" in d.message for d in log.items)


def test_too_few_errors_for_a_level_extrapolate_its_tail_instead_of_repeating_the_largest() -> None:
    # One cut-off of a yearly series: 5 errors. Capped at the largest, the 95 % and 80 % bands were one band.
    errors = np.array([0.2, 0.5, 0.9, 1.1, 1.4])
    q = band_quantiles(errors)
    rms = np.sqrt(np.mean(errors ** 2))
    assert q[80] == pytest.approx(errors.max())  # the 5th of 5: there is one for 80 %
    assert q[95] == pytest.approx(1.96 / 1.2816 * errors.max()) and q[95] > 1.96 * rms  # the 80 % one, scaled
    one_large = band_quantiles(np.array([0.5, 0.8, 1.0, 1.5, 4.7]))  # its RMS times 1.96 is below 4.7
    assert one_large[95] == pytest.approx(1.96 / 1.2816 * 4.7)
    many = np.abs(np.random.default_rng(1).normal(size=40))  # enough for both order statistics: unchanged
    assert band_quantiles(many)[95] == pytest.approx(np.sort(many)[int(np.ceil(41 * 0.95)) - 1])
