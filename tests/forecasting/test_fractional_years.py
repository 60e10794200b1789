"""Time columns as R writes them: years with fractions (``time()`` of a ``ts``), and numbers that are not dates.

``write.csv(data.frame(time = time(AirPassengers), ...))`` gives ``1949, 1949.0833, 1949.1667, ...``:
a common way a series reaches a CSV. It was refused with "holds numbers (1949, ...) that are not dates"
naming the one value that *is* a year. Twelfths now read as months and quarters as quarters (each
period's first day, recorded); other numbers are refused naming a fractional value, whole years
before 1678 with the real limit, and a step index 1..N as what it is. Real data: statsforecast's
AirPassengers and statsmodels' macrodata, with R's time values.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automlops.errors import DataError
from automlops.forecasting.times import parse_times
from tests.test_cli_tasks import _main_in_process


def _r_time(start: int, n: int, per_year: int) -> pd.Series:
    """What R's ``time()`` returns for a ``ts`` starting in January of ``start``, as ``write.csv`` prints it."""
    return pd.Series(np.round(start + np.arange(n) / per_year, 12))


def test_twelfths_and_quarters_read_as_months_and_quarters(air: pd.DataFrame) -> None:
    months, note, _ = parse_times(_r_time(1949, len(air), 12), "time")
    assert list(months) == list(pd.date_range("1949-01-01", periods=len(air), freq="MS"))
    assert note is not None and "fractions in months" in note and "is 1949-02-01" in note
    quarters, note, _ = parse_times(_r_time(1959, 203, 4), "time")
    assert list(quarters) == list(pd.date_range("1959-01-01", periods=203, freq="QS"))
    assert note is not None and "fractions in quarters" in note


@pytest.mark.parametrize(("values", "says"), [
    ([1949.0, 1949.3, 1949.7], r"numbers \(1949.3, ...\) that are not dates.*R's time\(\)"),
    ([1500, 1501, 1502], r"whole years before 1678 \(1500, ...\).*1678-2261"),
    ([1, 2, 3, 4], r"step numbers \(1, 4, ...\), not dates: give each step a date"),
])
def test_numbers_that_are_not_dates_are_refused_naming_what_they_are(values: list[float], says: str) -> None:
    with pytest.raises(DataError, match=says):
        parse_times(pd.Series(values), "time")


def test_a_series_written_by_r_trains_and_reads_future_rows_the_same_way(air: pd.DataFrame, tmp_path: Path) -> None:
    frame = pd.DataFrame({"time": _r_time(1949, len(air), 12), "AirPassengers": air["passengers"].to_numpy()})
    frame.to_csv(tmp_path / "ap.csv", index=False)
    code, _, err = _main_in_process(tmp_path, ["train", str(tmp_path / "ap.csv"), "--task", "timeseries",
                                               "--time-column", "time", "--target", "AirPassengers", "--horizon",
                                               "12", "--models", "seasonal_naive", "--n-trials", "1"])
    assert code == 0, err
    meta = json.loads(next((tmp_path / "models" / "ap").glob("v*/meta.json")).read_text())
    assert meta["freq"] == "MS" and meta["last_timestamps"] == {"AirPassengers": "1960-12-01T00:00:00"}
    (tmp_path / "future.csv").write_text("time\n1961\n1961.0833333333\n")
    code, out, err = _main_in_process(tmp_path, ["predict", "--model", "ap", str(tmp_path / "future.csv")])
    assert code == 0, err
    forecast = pd.read_csv(io.StringIO(out))
    assert list(forecast["ds"]) == ["1961-01-01", "1961-02-01"]
    assert forecast["yhat"].tolist() == pytest.approx(air["passengers"].iloc[-12:-10].tolist())  # last season
