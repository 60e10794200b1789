"""Data drift: are the rows the model sees now still like the rows it learned from?

A model learns a mapping from the *distribution* of its training rows. When live inputs move
away from that distribution (a new customer segment, a sensor recalibrated, prices in another
currency) the model is asked about a world it never saw, and its accuracy usually drops long
before anyone has the true labels to measure it. *Data drift detection* compares each input
column of a **reference** table (the data the model was trained on) with a **current** table
(a window of live traffic) and asks, column by column, "could these two samples come from the
same distribution?".

Evidently's ``DataDriftPreset`` (wrapped here) picks one statistical test per column, by the
column's type and the size of the reference (``ref`` = reference rows):

* **K-S (Kolmogorov-Smirnov)**, numeric columns with more than 5 distinct values, ``ref`` ≤ 1000:
  the largest gap between the two empirical cumulative distributions; its *p-value* is the
  chance of a gap that large if nothing changed. Drift when p ≤ 0.05.
* **chi-square**, categorical columns (or numeric ones with 3-5 values), ``ref`` ≤ 1000:
  compares the category counts with those expected under "same distribution". Drift when
  p ≤ 0.05. **Z-test** plays the same role for columns with two values (a proportion).
* **Wasserstein distance** (normed), numeric columns, ``ref`` > 1000: how much probability mass
  must move, and how far, to turn one distribution into the other, in units of the reference's
  standard deviation. With many rows a p-value flags tiny harmless shifts, so a *distance* with
  a threshold is used instead: drift when the distance ≥ 0.1.
* **Jensen-Shannon distance**, categorical (or few-valued) columns, ``ref`` > 1000: a symmetric
  distance between the two category distributions, from 0 (identical) to 1. Drift when ≥ 0.1.

A distance between a reference and a *small* live window is not 0 even when nothing changed, so
a column's distance threshold is raised to its noise floor at that window size where the floor
is higher (:mod:`.drift_noise`; said in ``notes``): 100 unchanged rows would otherwise flag half
the numeric columns, and a column of thousands of categories always.

For p-value tests a *small* statistic means drift; for distances a *large* one does.
:class:`ColumnDrift` keeps the method, statistic, threshold and the verdict, so nobody has to
remember which. The dataset is called drifted when the share of drifted columns reaches
``drift_share`` (0.5 by default, Evidently's).

Column types are taken from the **reference**: a numeric column stays numeric even when the live
traffic sends text (those values become missing), and dates are compared as time stamps. A
column that is entirely missing on either side cannot be tested: it is skipped and named in
``DriftReport.skipped``. Evidently takes ~5 s to import, so it is imported inside the function.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automlops.errors import DataError
from automlops.mlops.drift_noise import NoiseFloor, noise_floors

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnDrift", "DriftReport", "detect_drift"]


@dataclass(frozen=True)
class ColumnDrift:
    """One column's test: ``method`` (e.g. ``"K-S p_value"``), its ``statistic``, ``threshold``, verdict."""

    column: str
    method: str
    statistic: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftReport:
    """The outcome of :func:`detect_drift`.

    ``share_drifted`` is the share of tested columns that drifted; ``drifted`` says whether it
    reached ``drift_share``. ``skipped`` names columns that could not be tested (with why in
    ``notes``); ``report_path`` is the Evidently HTML page when one was asked for.
    """

    share_drifted: float
    drifted: bool
    drift_share: float
    n_reference: int
    n_current: int
    columns: tuple[ColumnDrift, ...]
    report_path: str | None
    seconds: float
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the numbers plus one object per column."""
        return {"share_drifted": self.share_drifted, "drifted": self.drifted, "drift_share": self.drift_share,
                "n_reference": self.n_reference, "n_current": self.n_current, "report_path": self.report_path,
                "seconds": round(self.seconds, 3), "drifted_columns": self.drifted_columns,
                "skipped": list(self.skipped), "notes": list(self.notes),
                "columns": [{"column": c.column, "method": c.method, "statistic": c.statistic,
                             "threshold": c.threshold, "drifted": c.drifted} for c in self.columns]}


def detect_drift(reference: pd.DataFrame, current: pd.DataFrame, *, columns: Sequence[str] | None = None,
                 drift_share: float = 0.5, html_path: Path | None = None) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column (Evidently ``DataDriftPreset``).

    ``columns`` defaults to every column of ``reference``; each must be in both tables
    (a :class:`DataError` names the missing ones). With ``html_path`` the interactive Evidently
    report is written there (temp file + rename).
    """
    started = time.perf_counter()
    if not 0 < drift_share <= 1:
        raise DataError(f"drift_share must be in (0, 1], not {drift_share}")
    wanted = [str(c) for c in (columns if columns is not None else reference.columns)]
    _check_inputs(reference, current, wanted)
    ref, cur, numeric, categorical, skipped, notes = _prepare(reference, current, wanted)
    if not numeric and not categorical:
        raise DataError(f"no column can be tested for drift: {'; '.join(notes)}")
    floors = noise_floors(ref, cur, numeric, categorical)
    notes.extend(f"{f.column!r}: {len(cur[f.column].dropna())} live rows over {f.n_values} distinct values reach a "
                 f"{'Jensen-Shannon' if f.method == 'jensenshannon' else 'Wasserstein'} distance of {f.threshold:.3g} "
                 "by chance alone (95 % of same-size windows drawn from the reference stay under it), so that is "
                 "its threshold instead of 0.1" for f in floors)
    snapshot = _run_evidently(ref, cur, numeric, categorical, drift_share, floors)
    results = _column_results(snapshot.dict(), [*numeric, *categorical])
    if html_path is not None:
        _save_html(snapshot, Path(html_path))
    share = sum(c.drifted for c in results) / len(results)
    return DriftReport(share_drifted=share, drifted=share >= drift_share, drift_share=drift_share,
                       n_reference=len(reference), n_current=len(current), columns=tuple(results),
                       report_path=str(html_path) if html_path is not None else None,
                       seconds=time.perf_counter() - started, skipped=tuple(skipped), notes=tuple(notes))


def _check_inputs(reference: pd.DataFrame, current: pd.DataFrame, wanted: list[str]) -> None:
    if not wanted:
        raise DataError("no columns to compare for drift")
    for label, frame in (("reference", reference), ("current", current)):
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise DataError(f"the {label} data has no column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(repr(c) for c in missing)}; drift compares the same columns on both sides")
        if len(frame) == 0:
            raise DataError(f"the {label} data has no rows; drift needs rows on both sides")


def _prepare(reference: pd.DataFrame, current: pd.DataFrame, wanted: list[str]
             ) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str], list[str], list[str]]:
    """Both tables with the reference's column types; columns that cannot be tested set aside."""
    import pandas as pd

    ref, cur = pd.DataFrame(index=reference.index), pd.DataFrame(index=current.index)
    numeric: list[str] = []
    categorical: list[str] = []
    skipped: list[str] = []
    notes: list[str] = []
    for column in wanted:
        kind = _kind(reference[column])
        r, c = _as_kind(reference[column], kind), _as_kind(current[column], kind)
        empty = [side for side, s in (("reference", r), ("current", c)) if s.notna().sum() == 0]
        if empty:
            skipped.append(column)
            notes.append(f"{column!r} has no values in the {' and '.join(empty)} data")
            continue
        ref[column], cur[column] = r, c
        (numeric if kind != "categorical" else categorical).append(column)
    return ref, cur, numeric, categorical, skipped, notes


def _kind(series: pd.Series) -> str:
    """``"numeric"``, ``"datetime"`` or ``"categorical"``, from the reference column's dtype."""
    from pandas.api import types

    if types.is_bool_dtype(series):
        return "categorical"
    if types.is_datetime64_any_dtype(series):
        return "datetime"
    return "numeric" if types.is_numeric_dtype(series) else "categorical"


def _as_kind(series: pd.Series, kind: str) -> pd.Series:
    """Numbers as floats (text → missing), dates as Unix seconds, categories as text (missing kept)."""
    import pandas as pd

    if kind == "numeric":
        return pd.to_numeric(series, errors="coerce").astype(float)
    if kind == "datetime":
        stamps = pd.to_datetime(series, errors="coerce", utc=True)
        return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return series.astype(object).where(series.notna(), None).map(lambda v: None if v is None else str(v))


def _run_evidently(ref: pd.DataFrame, cur: pd.DataFrame, numeric: list[str], categorical: list[str],
                   drift_share: float, floors: Sequence[NoiseFloor] = ()) -> Any:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    preset = DataDriftPreset(drift_share=drift_share,  # the raised thresholds go into the HTML report too
                             per_column_method={f.column: f.method for f in floors} or None,
                             per_column_threshold={f.column: f.threshold for f in floors} or None)
    with warnings.catch_warnings():  # Evidently's own divide-by-zero warnings on constant columns
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return Report([preset]).run(
                current_data=Dataset.from_pandas(cur, data_definition=definition),
                reference_data=Dataset.from_pandas(ref, data_definition=definition))
        except ValueError as exc:
            raise DataError(f"Evidently could not compare the data: {exc}") from exc


_DISPLAY_NAMES = {"jensenshannon": "Jensen-Shannon distance", "wasserstein": "Wasserstein distance (normed)"}


def _column_results(snapshot: dict[str, Any], tested: list[str]) -> list[ColumnDrift]:
    """One :class:`ColumnDrift` per ``ValueDrift`` metric, in ``tested`` order."""
    found: dict[str, ColumnDrift] = {}
    for metric in snapshot.get("metrics", []):
        config = metric.get("config", {})
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        method, threshold = str(config["method"]), float(config["threshold"])
        method = _DISPLAY_NAMES.get(method, method)  # a method we named is reported by its display name
        value = float(metric["value"])
        # p-values: small means "unlikely if nothing changed"; distances: large means far apart
        drifted = value <= threshold if "p_value" in method else value >= threshold
        found[str(config["column"])] = ColumnDrift(str(config["column"]), method, value, threshold, bool(drifted))
    missing = [c for c in tested if c not in found]
    if missing:
        raise DataError(f"Evidently returned no drift test for {', '.join(map(repr, missing))}")
    return [found[c] for c in tested]


def _save_html(snapshot: Any, path: Path) -> None:
    """Evidently writes to a path: write beside the target, then rename (never a half-written page)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".html", dir=path.parent)
    os.close(fd)
    try:
        snapshot.save_html(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
