"""Input checks: frequency inference with its reason, safe regularisation, and each bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automlops.errors import ConfigError, DataError
from automlops.forecasting import ForecastingEngine
from automlops.forecasting.data import natural_seasons, prepare_series, season_of
from tests.forecasting.conftest import fit_engine, quiet_log

Notes = list[tuple[str, str]]


def _prepare(frame: pd.DataFrame, notes: Notes | None = None, **kw):  # type: ignore[no-untyped-def]
    log = (lambda topic, message: notes.append((topic, message))) if notes is not None else (lambda t, m: None)
    return prepare_series(frame, kw.pop("target", "y"), kw.pop("time", "ds"), kw.pop("series_id", None),
                          kw.pop("freq", None), log)


def _monthly(n: int, start: str = "2000-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    y = 100 + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    return pd.DataFrame({"ds": pd.date_range(start, periods=n, freq="MS"), "y": y})


@pytest.mark.parametrize(("freq", "season"), [("MS", 12), ("ME", 12), ("QS-OCT", 4), ("YS", 1), ("W-SAT", 52),
                                              ("D", 7), ("B", 5), ("h", 24), ("2h", 12), ("15min", 96),
                                              ("10min", 144), ("min", 1440), ("7min", 1), ("s", 60)])
def test_season_of_each_frequency(freq: str, season: int) -> None:
    """Sub-hourly data repeat every day (as GluonTS's table has it), not every hour."""
    assert season_of(freq) == season


def test_sub_hourly_data_fall_back_to_the_hour() -> None:
    assert natural_seasons("10min") == [(144, "day"), (6, "hour")]
    assert natural_seasons("h") == [(24, "day")]


def test_frequency_inferred_with_its_reason(air: pd.DataFrame, macro_long: pd.DataFrame) -> None:
    notes: Notes = []
    data = _prepare(air, notes, target="passengers", time="month")
    assert data.freq == "ME" and data.season == 12 and "infer_freq" in data.freq_reason
    assert ("frequency", data.freq_reason) in notes
    quarterly = _prepare(macro_long, target="value", time="quarter", series_id="series")
    assert quarterly.freq.startswith("QS") and quarterly.season == 4 and len(quarterly.lengths) == 3


def test_weekly_co2_with_holes_is_regularised_and_said() -> None:
    import statsmodels.api as sm

    co2 = sm.datasets.co2.load_pandas().data.rename_axis("week").reset_index()
    notes: Notes = []
    data = _prepare(co2, notes, target="co2", time="week")
    assert data.freq == "W-SAT" and data.season == 52
    assert data.long["y"].notna().all() and len(data.long) == len(co2)
    assert any("missing value" in m for _, m in notes) and any("interpolation" in m for _, m in notes)


def test_weekday_prices_with_holidays_are_business_days_not_a_sparse_daily_grid() -> None:
    """A market's closing values: weekdays only, a few holidays missing. On the daily grid two days in seven are
    missing (too many to fill) – the business-day grid fits them, and that is what is inferred (it used to stop
    at the daily grid with "31 % of its steps are missing ... give --freq")."""
    days = pd.bdate_range("2018-01-01", periods=500)
    days = days.delete([10, 50, 120, 250, 400])  # holidays: the exchange is closed
    frame = pd.DataFrame({"ds": days, "y": np.cumsum(np.random.default_rng(0).normal(size=len(days)))})
    data = _prepare(frame)
    assert data.freq == "B" and data.season == 5
    assert "'D' grid would miss 29 %" in data.freq_reason and len(data.long) == 500
    sparse = frame.iloc[::3]  # every third weekday: too sparse for either grid
    with pytest.raises(DataError, match="missing: too many to fill safely"):
        _prepare(sparse)


def test_missing_months_filled_but_not_too_many() -> None:
    frame = _monthly(60).drop(index=[10, 30])  # two months missing: the grid is kept and they are interpolated
    notes: Notes = []
    data = _prepare(frame, notes)
    assert data.freq == "MS" and len(data.long) == 60 and "missing" in data.freq_reason
    assert (data.long["_row"] == -1).sum() == 2
    sparse = _monthly(60).iloc[[0, 1, 2, 3, 5, 7, 9, 10, 12, 14, 16, 18, 20, 22, 24, 26]]  # most months gone
    with pytest.raises(DataError, match="'MS' grid but 41 % of its steps are missing: too many to fill"):
        _prepare(sparse)
    with pytest.raises(DataError, match="too many to fill"):
        _prepare(sparse, freq="MS")
    assert _prepare(_monthly(60).iloc[::2]).freq == "2MS"  # every other month is a regular step of its own
    rng = np.random.default_rng(1)
    stamps = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 900, 40)), unit="h")
    with pytest.raises(DataError, match="do not follow a regular step"):
        _prepare(pd.DataFrame({"ds": stamps, "y": rng.normal(size=40)}))


def test_missing_target_values() -> None:
    frame = _monthly(48)
    frame.loc[[0, 1, 20, 47], "y"] = np.nan  # two leading, one inside, one trailing
    notes: Notes = []
    data = _prepare(frame, notes)
    assert len(data.long) == 45 and data.long["y"].notna().all()
    assert any("3 at the start or end" in m and "1 inside" in m for _, m in notes)
    frame.loc[5:30, "y"] = np.nan
    with pytest.raises(DataError, match="too many to fill"):
        _prepare(frame)
    with pytest.raises(DataError, match="no value of target"):
        _prepare(frame.assign(y=np.nan))


def test_unparsable_time_column() -> None:
    frame = _monthly(30).astype({"ds": str})
    frame.loc[3, "ds"] = "next tuesday"
    with pytest.raises(DataError, match=r"time column 'ds' has 1 value\(s\) that are not dates, e.g. 'next tuesday'"):
        _prepare(frame)
    with pytest.raises(DataError, match="not dates"):
        _prepare(frame.assign(ds=np.linspace(0.5, 3.5, 30)))
    years = pd.DataFrame({"year": np.arange(1900, 1960), "y": np.arange(60.0)})
    notes: Notes = []
    assert _prepare(years, notes, time="year").freq.startswith("YS")
    assert any("read as years" in m for _, m in notes)


def test_series_with_a_single_row(macro_long: pd.DataFrame) -> None:
    lonely = pd.DataFrame({"quarter": [pd.Timestamp("2000-01-01")], "series": ["gold"], "value": [1.0]})
    with pytest.raises(DataError, match="series 'gold' has a single row"):
        _prepare(pd.concat([macro_long, lonely]), target="value", time="quarter", series_id="series")


def test_every_series_that_cannot_be_used_is_named_at_once(macro_long: pd.DataFrame) -> None:
    """One message lists every offending series, so a user with many series fixes them in one go."""
    quarters = macro_long[macro_long["series"] == "cpi"]
    sparse = [quarters.iloc[::2].assign(series=name) for name in ("gappy", "holey")]  # half the quarters gone
    with pytest.raises(DataError, match=r"too many to fill.*in 2 of 5 series: 'gappy' \(101 of 203\), 'holey'"):
        _prepare(pd.concat([macro_long, *sparse]), target="value", time="quarter", series_id="series", freq="QS")
    lonely = [pd.DataFrame({"quarter": [pd.Timestamp("2000-01-01")], "series": [name], "value": [1.0]})
              for name in ("gold", "silver")]
    with pytest.raises(DataError, match=r"2 series have \('gold', 'silver'\) a single row"):
        _prepare(pd.concat([macro_long, *lonely]), target="value", time="quarter", series_id="series")


def test_the_row_numbers_of_a_csv_written_with_its_index_are_not_an_input(macro_long: pd.DataFrame) -> None:
    """``df.to_csv(path)`` writes the row index as an unnamed first column, "Unnamed: 0" when read back; taken as
    an exogenous input, a lag model using it would need its "future values" to forecast."""
    from automlops.mlops.ingest import read_csv_robust

    frame = read_csv_robust(macro_long.to_csv().encode(), max_bytes=2**24).frame
    notes: Notes = []
    data = _prepare(frame, notes, target="value", time="quarter", series_id="series")
    assert frame.columns[0] == "Unnamed: 0" and data.exogenous == ()
    assert any("'Unnamed: 0' left out" in m for _, m in notes)



def test_local_times_across_a_clock_change_are_one_hourly_series() -> None:
    """Local times written with their offset (-05:00 in winter, -04:00 in summer) are read as instants in UTC:
    the hour the clocks go back is two hours, not a clash, and the hour they skip is no gap. pandas left such a
    column as objects, and training ended in "internal error: Can only use .dt accessor"."""
    from automlops.mlops.ingest import read_csv_robust

    instants = pd.date_range("2013-02-20", "2013-11-20", freq="h", tz="UTC")
    hours = np.arange(len(instants))
    local = instants.tz_convert("America/New_York")
    frame = pd.DataFrame({"ds": [t.isoformat() for t in local], "y": 10 + np.sin(2 * np.pi * hours / 24)})
    read = read_csv_robust(frame.to_csv(index=False).encode(), max_bytes=2**24).frame
    assert str(read["ds"].dtype) == "datetime64[ns, UTC]" and (read["ds"] == instants).all()
    data = _prepare(read)
    assert data.freq == "h" and len(data.long) == len(instants) and data.long["y"].notna().all()
    # the same times without their offset repeat 01:00 on 3 November: refused, with the likely cause
    naive = frame.assign(ds=[t.tz_localize(None) for t in local])
    with pytest.raises(DataError, match=r"2013-11-03T01:00:00.*summer time ends: write the times with their UTC"):
        _prepare(naive)

def test_duplicated_timestamps() -> None:
    frame = _monthly(36)
    notes: Notes = []
    data = _prepare(pd.concat([frame, frame.iloc[[5, 6]]], ignore_index=True), notes)
    assert len(data.long) == 36 and any("2 exact duplicate row(s)" in m for _, m in notes)
    clash = pd.concat([frame, frame.iloc[[7]].assign(y=-1.0)], ignore_index=True)
    with pytest.raises(DataError, match="conflicting values at the same time, e.g. 2000-08-01T00:00:00") as refused:
        _prepare(clash)
    assert "summer time" not in str(refused.value)


def test_too_few_points_for_the_horizon() -> None:
    with pytest.raises(DataError, match=r"needs at least 2·h = 24"):
        fit_engine(_monthly(20), n_trials=1, target="y", time_column="ds", horizon=12)


def test_fewer_than_two_seasons_falls_back_to_non_seasonal_models() -> None:
    r = fit_engine(_monthly(30), n_trials=4, target="y", time_column="ds", horizon=6)
    assert any("fewer than two seasons" in d.message for d in r.decisions)
    assert "seasonal_naive" not in set(r.leaderboard["model"]) and np.isfinite(r.test_score)
    with pytest.raises(DataError, match="no model fits this data"):
        fit_engine(_monthly(30), n_trials=1, target="y", time_column="ds", horizon=6, models=["seasonal_naive"])


def test_bad_settings_and_columns() -> None:
    with pytest.raises(ConfigError, match="unknown forecasting metric"):
        ForecastingEngine("y", "ds", metric="accuracy")
    with pytest.raises(ConfigError, match="unknown forecasting model"):
        ForecastingEngine("y", "ds", models=["prophet"])
    with pytest.raises(ConfigError, match="horizon"):
        ForecastingEngine("y", "ds", horizon=0)
    with pytest.raises(ConfigError, match="not a pandas frequency"):
        _prepare(_monthly(30), freq="monthly")
    with pytest.raises(DataError, match="'price' not in the data"):
        _prepare(_monthly(30), target="price")
    with pytest.raises(DataError, match="hold text"):
        _prepare(_monthly(30).assign(note="x"))
    engine = ForecastingEngine("y", "ds")
    plan = engine.prepare(_monthly(60), quiet_log())
    assert plan.problem.horizon == 12 and plan.test_rows.tolist() == list(range(48, 60))
