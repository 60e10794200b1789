"""From a user's table to clean series: the long format, the frequency, and safe regularisation.

Forecasting libraries expect **long format**: one row per (series, timestamp) with three fixed
columns – ``unique_id`` (which series), ``ds`` (when) and ``y`` (the value) – plus any
*exogenous* columns (other numbers known in advance, such as a price or a holiday flag). Many
series then live in one table, and a model can learn from all of them at once.

A forecast is a promise about the *next steps*, so the steps must be regular. The **frequency**
(monthly, quarterly, hourly...) is inferred from the timestamps themselves: if every series moves
by the same calendar step, pandas' ``infer_freq`` names it; otherwise the coarsest calendar grid
that holds every timestamp is searched. A few holes in that grid (a missing month, a missing value)
are filled by straight-line interpolation and the fill is recorded; many holes, timestamps off the
grid, or two different values for the same timestamp are refused with a :class:`DataError` that says
where – guessing there would invent data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from automlops.core.features import is_row_index_header
from automlops.errors import ConfigError, DataError
from automlops.forecasting.times import parse_times
from automlops.search.trial_notes import warns

__all__ = ["MAX_FILL_SHARE", "RESERVED", "SeriesData", "default_horizon", "first_few", "natural_seasons", "parse_times",
           "prepare_series", "season_of"]

MAX_FILL_SHARE = 0.2  # at most a fifth of a series may be interpolated
ROW = "_row"  # position of the row in the user's frame (-1 for a filled hole)
RESERVED = ("unique_id", "ds", "y", "_row")  # the long table's own columns: an input so named is renamed inside
Log = Callable[[str, str], None]


@dataclass(frozen=True)
class SeriesData:
    """Clean long-format series (``unique_id, ds, y`` + exogenous + ``_row``), sorted by series and time.

    ``exogenous`` are the exogenous columns' names in ``long``; ``sources`` maps the ones renamed there
    (a user's column called ``ds`` or ``y`` becomes ``exog_ds``...) back to the user's names, and
    ``dayfirst`` says whether the time column's text was read day-first (``02/01/2013`` = 2 January),
    so future rows can be read the same way (None when the values do not tell, or were not text).
    """

    long: pd.DataFrame
    freq: str
    freq_reason: str
    season: int
    exogenous: tuple[str, ...]
    sources: dict[str, str]
    dayfirst: bool | None

    @property
    def lengths(self) -> pd.Series:
        return self.long.groupby("unique_id", sort=False).size()

    @property
    def inputs(self) -> tuple[str, ...]:
        """The exogenous columns under the user's names (what a future row must hold)."""
        return tuple(self.sources.get(c, c) for c in self.exogenous)


# The natural cycles of each base unit, longest first: (steps of the unit in one cycle, the cycle's name).
# Sub-hourly data repeat every day (a 10-minute series has a 144-step season, as in GluonTS's table);
# the hour is their fallback when the history holds fewer than two days (ForecastingEngine._season).
_CYCLES: dict[str, tuple[tuple[int, str], ...]] = {
    **dict.fromkeys(("YearBegin", "YearEnd", "BYearBegin", "BYearEnd"), ()),
    **dict.fromkeys(("QuarterBegin", "QuarterEnd", "BQuarterBegin", "BQuarterEnd"), ((4, "year"),)),
    **dict.fromkeys(("MonthBegin", "MonthEnd", "BusinessMonthBegin", "BusinessMonthEnd"), ((12, "year"),)),
    "Week": ((52, "year"),), "Day": ((7, "week"),), "BusinessDay": ((5, "week"),), "Hour": ((24, "day"),),
    "Minute": ((1440, "day"), (60, "hour")), "Second": ((60, "minute"),),
}


def natural_seasons(freq: str) -> list[tuple[int, str]]:
    """Season lengths in steps of ``freq`` with their cycle's name, longest first: ``"10min"`` gives
    ``[(144, "day"), (6, "hour")]``; a cycle that is not a whole number of steps (or one step) is left out."""
    offset = pd.tseries.frequencies.to_offset(freq)
    n = max(1, int(offset.n))
    return [(base // n, name) for base, name in _CYCLES.get(type(offset).__name__, ()) if base % n == 0 and base > n]


def season_of(freq: str) -> int:
    """The number of steps in one season (one year for months/quarters/weeks, one week for days, one day
    for hours and minutes...); 1 when the frequency has no natural cycle."""
    seasons = natural_seasons(freq)
    return seasons[0][0] if seasons else 1


def default_horizon(season: int, shortest: int) -> tuple[int, str]:
    """One season ahead (five steps for yearly data), capped at a third of the shortest series."""
    wanted = season if season > 1 else 5
    cap = max(1, shortest // 3)
    h = min(wanted, cap)
    why = f"horizon {h}: one season ({season} steps)" if season > 1 else f"horizon {h}: five steps (no season)"
    if h < wanted:
        why += f", capped at a third of the shortest series ({shortest} points) to leave history to learn from"
    return h, why


def _check_columns(frame: pd.DataFrame, needed: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise DataError("forecasting needs a table with rows; this one is empty")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        sample = ", ".join(map(str, list(frame.columns)[:10]))
        raise DataError(f"column(s) {', '.join(map(repr, missing))} not in the data; columns are: {sample}")


EXOGENOUS = warns("the table's other columns are inputs known in advance")  # a warning too: easy to miss


def _exogenous(frame: pd.DataFrame, used: Sequence[str], log: Log) -> tuple[str, ...]:
    rest = [c for c in frame.columns if c not in used]
    empty = [c for c in rest if frame[c].isna().all()]
    if empty:
        log("data", f"column(s) {', '.join(map(repr, empty))} left out: every value is empty, so they tell the "
                    "models nothing (and future rows would have nothing to give)")
    rest = [c for c in rest if c not in empty]
    text = [c for c in rest if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if text:
        raise DataError(f"column(s) {', '.join(map(repr, text))} hold text; extra columns are used as exogenous "
                        "numbers known in advance, so encode them as numbers or drop them")
    return tuple(str(c) for c in rest)


def _internal_name(column: str, taken: set[str]) -> str:
    """An exogenous column's name in the long table: its own, unless it is one of the long format's own
    columns (``unique_id, ds, y, _row``); then ``exog_<name>`` (with more underscores until it is free)."""
    if column not in RESERVED:
        return column
    name = f"exog_{column}"
    while name in taken:
        name = f"_{name}"
    return name


def _to_long(frame: pd.DataFrame, target: str, time_column: str, series_id: str | None,
             log: Log) -> tuple[pd.DataFrame, dict[str, str], bool | None]:
    """The long table, the exogenous columns renamed in it (long name -> user's name), and whether the
    time column was read day-first."""
    ds, note, dayfirst = parse_times(frame[time_column], time_column)
    if note:
        log("data", note)
    y = pd.to_numeric(frame[target], errors="coerce")
    bad = frame[target][y.isna() & frame[target].notna()]
    if len(bad):
        raise DataError(f"target column '{target}' has values that are not numbers, e.g. {bad.iloc[0]!r}")
    if series_id is not None and frame[series_id].isna().any():
        raise DataError(f"series-id column '{series_id}' has missing values; every row must name its series")
    ids = frame[series_id].astype(str) if series_id is not None else pd.Series(str(target), index=frame.index)
    long = pd.DataFrame({"unique_id": ids.to_numpy(), "ds": ds.to_numpy(), "y": y.to_numpy(dtype=float)})
    index = [c for c in frame.columns if is_row_index_header(c)]
    if index:
        log("data", f"column(s) {', '.join(map(repr, index))} left out: the row numbers a CSV gets when it is written "
                    "with its index, not an input known in advance")
    taken, sources = {*map(str, frame.columns), *RESERVED}, {}
    for col in _exogenous(frame, [target, time_column, *index] + ([series_id] if series_id else []), log):
        name = _internal_name(col, taken)
        if name != col:
            sources[name] = col
            taken.add(name)
            log("data", f"exogenous column '{col}' is called '{name}' inside the long table (whose own columns are "
                        f"{', '.join(RESERVED[:3])}); it is still read from '{col}' in future rows")
        long[name] = pd.to_numeric(frame[col]).to_numpy(dtype=float)
    long[ROW] = np.arange(len(frame))
    return long, sources, dayfirst


def _drop_duplicates(long: pd.DataFrame, log: Log) -> pd.DataFrame:
    """Exact duplicate rows are dropped; two different rows for one timestamp are refused."""
    values = [c for c in long.columns if c != ROW]
    exact = long.duplicated(subset=values)
    if exact.any():
        log("data", f"{int(exact.sum())} exact duplicate row(s) (same series, time and values) dropped")
        long = long[~exact]
    clash = long.duplicated(subset=["unique_id", "ds"], keep=False)
    if clash.any():
        first = long[clash].iloc[0]
        raise DataError(f"series '{first['unique_id']}' has {int(clash.sum())} rows with conflicting values at the "
                        f"same time, e.g. {pd.Timestamp(first['ds']).isoformat()}; aggregate them (sum or mean) "
                        "or give a series-id column that tells them apart" + _clock_change_hint(long, clash))
    return long


def _clock_change_hint(long: pd.DataFrame, clash: pd.Series) -> str:
    """A hint when the clashes look like local clock times repeating the hour summer time ends: hourly
    (or finer) times, two rows at one hour of the day, at most once a year."""
    if (pd.DatetimeIndex(long["ds"]).normalize() == pd.DatetimeIndex(long["ds"])).all():
        return ""  # daily or coarser: no clock hours
    clashing = long[clash]
    ds = pd.DatetimeIndex(clashing["ds"])
    per_time = clashing.groupby(["unique_id", "ds"]).size()
    if ds.tz is not None or (per_time != 2).any() or ds.hour.nunique() != 1 or (ds.minute != 0).any():
        return ""
    if ds.normalize().nunique() > ds.year.nunique():  # at most one clock change a year
        return ""
    return ("; these look like local clock times repeating the hour when summer time ends: write the times with "
            "their UTC offset (e.g. 2013-11-03T01:00:00-04:00) or in UTC")


def _trim_missing(long: pd.DataFrame, target: str, log: Log) -> pd.DataFrame:
    """Leading and trailing missing targets are cut; holes inside are filled later (see regularise)."""
    n_missing = int(long["y"].isna().sum())
    if n_missing == 0:
        return long
    known = long["y"].notna()
    group = long.groupby("unique_id", sort=False)["y"]
    after_first = known.groupby(long["unique_id"]).cummax()
    before_last = known[::-1].groupby(long["unique_id"][::-1]).cummax()[::-1]
    keep = after_first & before_last
    if not known.groupby(long["unique_id"]).any().all():
        empty = group.count()[group.count() == 0].index[0]
        raise DataError(f"series '{empty}' has no value of target '{target}' at all")
    inside = int((~known & keep).sum())
    log("data", f"target '{target}' has {n_missing} missing value(s): {n_missing - inside} at the start or end of "
                f"a series were cut, {inside} inside a series are treated as holes to fill")
    long = long[keep]
    return long[long["y"].notna()]


def _grid(ds: pd.Series, freq: str) -> pd.DatetimeIndex:
    return pd.date_range(ds.iloc[0], ds.iloc[-1], freq=freq)


def _fits_grid(long: pd.DataFrame, freq: str) -> float | None:
    """Share of the grid covered if every timestamp lies on ``freq``'s grid, else None."""
    covered, total = 0, 0
    for _, ds in long.groupby("unique_id", sort=False)["ds"]:
        grid = _grid(ds, freq)
        if len(grid) == 0 or not ds.isin(grid).all():
            return None
        covered, total = covered + len(ds), total + len(grid)
    return covered / total if total else None


def _candidates(long: pd.DataFrame) -> list[str]:
    first = pd.Timestamp(long["ds"].iloc[0])
    weekly = f"W-{first.day_name()[:3].upper()}"
    out = ["YS", "YE", "QS", "QE", "MS", "ME", weekly, "D", "B"]
    step = long.groupby("unique_id", sort=False)["ds"].diff().dropna()
    if len(step):
        smallest = step[step > pd.Timedelta(0)].min()
        if pd.notna(smallest) and smallest < pd.Timedelta(days=1):
            out.append(pd.tseries.frequencies.to_offset(smallest).freqstr)
    return out


def infer_frequency(long: pd.DataFrame) -> tuple[str, str]:
    """The series' step as a pandas alias, and the reason in words."""
    found = {pd.infer_freq(ds) for _, ds in long.groupby("unique_id", sort=False)["ds"] if len(ds) >= 3}
    if len(found) == 1 and None not in found:
        freq = str(found.pop())
        return freq, f"every series moves by the same regular step, '{freq}' (pandas infer_freq)"
    sparse: tuple[str, float] | None = None  # the first grid the timestamps lie on, with too many holes
    for freq in _candidates(long):  # coarse to fine; a sparse grid may have a finer one (D, then B) that fits
        share = _fits_grid(long, freq)
        if share is not None and share >= 1 - MAX_FILL_SHARE:
            why = "the steps are not all equal, but every timestamp lies on a"
            if sparse is not None:  # weekdays only: 2 days in 7 are missing on the daily grid, none on this one
                why = (f"the '{sparse[0]}' grid would miss {100 * (1 - sparse[1]):.0f} % of its steps, but every "
                       "timestamp lies on a")
            return freq, f"{why} '{freq}' grid ({100 * (1 - share):.1f} % of its points are missing)"
        if share is not None and sparse is None:
            sparse = (freq, share)
    if sparse is not None:
        raise DataError(f"the timestamps lie on a '{sparse[0]}' grid but {100 * (1 - sparse[1]):.0f} % of its steps "
                        f"are missing: too many to fill safely (at most {MAX_FILL_SHARE:.0%}); resample the data to "
                        "a coarser step or give --freq")
    raise DataError("the timestamps do not follow a regular step (daily, weekly, monthly...): cannot infer a "
                    "frequency; resample the data to a regular step (e.g. daily or monthly means) or give --freq")


def _check_freq(freq: str) -> str:
    try:
        return pd.tseries.frequencies.to_offset(freq).freqstr
    except ValueError:
        raise ConfigError(f"frequency '{freq}' is not a pandas frequency; use e.g. D, W-SUN, MS, ME, QS, YS, h"
                          ) from None


def first_few(names: Sequence[str], limit: int = 8) -> str:
    """``names`` for an error message: the first ``limit``, then "..." if there are more."""
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def _start_hint(ds: pd.Series, freq: str) -> str:
    """Month-start dates on a month-*end* grid ('M'/'ME' means month end in pandas): name the start alias."""
    starts = {"ME": "MS", "QE": "QS", "YE": "YS", "BME": "BMS"}
    base = freq.split("-")[0].lstrip("0123456789")
    if base in starts and bool(pd.DatetimeIndex(ds).is_month_start.all()):
        return f" (these are month starts: use --freq {starts[base]})"
    return ""


def _regularise(long: pd.DataFrame, freq: str, exog: Sequence[str], log: Log) -> pd.DataFrame:
    """Put every series on the full ``freq`` grid, interpolating a few holes; refuse many or off-grid."""
    parts, filled, sparse = [], 0, []
    for uid, part in long.groupby("unique_id", sort=False):
        grid = _grid(part["ds"], freq)
        off = part.loc[~part["ds"].isin(grid), "ds"]
        if len(off):
            raise DataError(f"series '{uid}': timestamp {pd.Timestamp(off.iloc[0]).isoformat()} is off the "
                            f"regular '{freq}' grid; resample the data to that step or give another --freq"
                            + _start_hint(part["ds"], freq))
        holes = len(grid) - len(part)
        if holes > MAX_FILL_SHARE * len(grid):
            sparse.append(f"'{uid}' ({holes} of {len(grid)})")
            continue
        if holes:
            full = part.set_index("ds").reindex(grid)
            full[["y", *exog]] = full[["y", *exog]].interpolate(method="time", limit_direction="both")
            full["unique_id"], full[ROW] = uid, full[ROW].fillna(-1).astype(int)
            part = full.rename_axis("ds").reset_index()[long.columns]
            filled += holes
        parts.append(part)
    if sparse:
        n = long["unique_id"].nunique()
        which = "series " + sparse[0] if n == 1 else f"{len(sparse)} of {n} series: {first_few(sparse)}"
        raise DataError(f"too many to fill safely: more than {MAX_FILL_SHARE:.0%} of the '{freq}' steps are missing "
                        f"in {which}; resample to a coarser step, drop those series, or add the missing rows (with 0 "
                        "where a missing row means nothing happened)")
    if filled:
        log("data", f"{filled} missing step(s) filled by straight-line interpolation between neighbours "
                    f"(at most {MAX_FILL_SHARE:.0%} of a series may be filled)")
    return pd.concat(parts, ignore_index=True)


def _fill_exogenous(long: pd.DataFrame, exog: Sequence[str], log: Log) -> pd.DataFrame:
    missing = [c for c in exog if long[c].isna().any()]
    if missing:
        long[missing] = long.groupby("unique_id", sort=False)[missing].transform(lambda s: s.ffill().bfill())
        log("data", f"missing values in exogenous column(s) {', '.join(missing)} carried forward from the last "
                    "known value")
    return long


def prepare_series(frame: pd.DataFrame, target: str, time_column: str, series_id: str | None, freq: str | None,
                   log: Log) -> SeriesData:
    """Check, convert and regularise ``frame``; record every automatic choice through ``log``."""
    _check_columns(frame, [target, time_column] + ([series_id] if series_id else []))
    long, sources, dayfirst = _to_long(frame, target, time_column, series_id, log)
    exog = tuple(c for c in long.columns if c not in ("unique_id", "ds", "y", ROW))
    long = long.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    long = _drop_duplicates(_trim_missing(long, target, log), log)
    sizes = long.groupby("unique_id", sort=False).size()
    if (sizes < 2).any():
        single = [f"'{uid}'" for uid in sizes[sizes < 2].index]
        which = f"series {single[0]} has" if len(single) == 1 else f"{len(single)} series have ({first_few(single)})"
        raise DataError(f"{which} a single row; a series needs at least two points (drop them or check the "
                        "series-id column)")
    if freq is None:
        freq, reason = infer_frequency(long)
    else:
        freq, reason = _check_freq(freq), f"frequency '{freq}' given by the user"
    log("frequency", reason)
    long = _fill_exogenous(_regularise(long, freq, exog, log), exog, log)
    if exog:
        log("exogenous", f"{EXOGENOUS} ({', '.join(sources.get(c, c) for c in exog)}): the machine-learning models "
                         "may use them, and a forecast then needs their future values; drop a column from the table "
                         "if its future is not known ahead (a day's lowest temperature, when forecasting its highest); "
                         "the statistical models ignore them")
    return SeriesData(long.reset_index(drop=True), freq, reason, season_of(freq), exog, sources, dayfirst)
