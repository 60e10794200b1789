"""Monitoring a served model: drift of its live traffic against its training data, over time.

One *monitor run* (:func:`monitor_model`) answers "is the model still seeing the kind of rows it
learned from?" for one model name:

1. **Which version is served?** The registry's ``production`` alias when there is one; else the
   version that answered most requests in the window (what the API actually served); else the
   newest saved version.
2. **Reference** = the exact lake version that version was trained on (``meta["dataset"]``:
   name + version, checked against its SHA-256 by the lake), restricted to the model's inputs.
3. **Current** = a *window* of the prediction log for that model name: the last N rows
   (``"1000"``) or the last T hours / minutes / days (``"24h"``, ``"30m"``, ``"7d"``). A window
   with fewer than ``min_rows`` rows is refused: a drift test on 12 rows says nothing.
4. :func:`~automlops.mlops.drift.detect_drift` compares them column by column; live quality
   (when labels were sent to ``POST /feedback``), volume and latency come from the log.
   Two more one-column tests watch the *outcome*: **prediction drift** (the model's answers in the
   window against its answers on its own training rows: a model that suddenly predicts one class
   far more often is a warning even before any label arrives) and, once at least
   :data:`MIN_LABELS` true labels came back, **target drift** (the true labels against the same).
5. The run is logged to MLflow (experiment ``monitoring``: metrics ``share_drifted``,
   ``n_current``, one ``drift.<column>`` statistic per column, the Evidently HTML as an
   artifact) and appended to ``<home>/monitoring/<name>.jsonl``, the history behind the
   dashboard's drift-over-time chart (:func:`drift_history`). HTML reports are kept locally for
   the last :data:`KEEP_REPORTS` runs of each model (they are ~5 MB each); MLflow keeps them all.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automlops.config import Settings, get_settings
from automlops.errors import AutoMLOpsError, ConfigError, DataError
from automlops.mlops._locks import flock
from automlops.mlops.drift import ColumnDrift, DriftReport, detect_drift
from automlops.mlops.store import NAME_PATTERN, ModelStore, StoredModel

if TYPE_CHECKING:
    import pandas as pd

    from automlops.mlops.tracking import Tracker

__all__ = ["KEEP_REPORTS", "MonitorResult", "Window", "drift_history", "latest_check", "monitor_model",
           "parse_window", "served_version"]

log = logging.getLogger(__name__)

EXPERIMENT = "monitoring"
KEEP_REPORTS = 20
MIN_LABELS = 30  # true labels needed before target drift is tested
MAX_WINDOW_ROWS = 200_000  # a time window reads at most this many rows (the newest)
_WINDOW = re.compile(r"\s*(\d+)\s*([smhd]?)\s*", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Window:
    """The last ``rows`` predictions, or those of the last ``seconds``; ``text`` as the user wrote it."""

    text: str
    rows: int | None = None
    seconds: float | None = None

    def since(self, now: float | None = None) -> float | None:
        return None if self.seconds is None else (now if now is not None else time.time()) - self.seconds


def parse_window(text: str | int) -> Window:
    """``"1000"`` → the last 1,000 rows; ``"24h"``, ``"30m"``, ``"7d"``, ``"90s"`` → that much time."""
    match = _WINDOW.fullmatch(str(text))
    if not match or int(match.group(1)) <= 0:
        raise ConfigError(f"invalid window {text!r}: use a row count (1000) or a duration such as 30m, 24h or 7d")
    number, unit = int(match.group(1)), match.group(2).lower()
    label = f"{number}{unit}" if unit else str(number)
    return Window(label, seconds=float(number * _SECONDS[unit])) if unit else Window(label, rows=number)


@dataclass(frozen=True)
class MonitorResult:
    """One monitor run: the drift report plus live numbers, as logged to MLflow and the history."""

    model: str
    report: DriftReport
    window: str
    live_metrics: dict[str, float]
    n_labelled: int
    run_id: str | None
    at: str
    reference: str = ""
    traffic: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    outcomes: tuple[ColumnDrift, ...] = ()  # "prediction" and (with enough labels) "target" drift

    def to_dict(self) -> dict[str, Any]:
        """What ``automlops monitor --json`` prints: the report's numbers at the top level."""
        report = self.report.to_dict()
        return {"model": self.model, "window": self.window, "at": self.at, "reference": self.reference,
                **{k: report[k] for k in ("share_drifted", "drifted", "drift_share", "n_reference", "n_current",
                                          "report_path", "drifted_columns", "skipped")},
                "live_metrics": self.live_metrics, "n_labelled": self.n_labelled, "traffic": self.traffic,
                "run_id": self.run_id, "notes": list(self.notes), "columns": report["columns"],
                **{f"{kind}_drift": next(({"method": o.method, "statistic": o.statistic, "threshold": o.threshold,
                                          "drifted": o.drifted} for o in self.outcomes if o.column == kind), None)
                   for kind in ("prediction", "target")}}


def _production_version(name: str, settings: Settings) -> int | None:
    """The registry's production version, if the registry module exists and answers (else None)."""
    from automlops.mlops.tracking import sqlite_path

    db = sqlite_path(settings.resolved_tracking_uri)
    if db is not None and not db.exists():  # no local tracking store yet: nothing registered, nothing to create
        return None
    try:
        from automlops.mlops import registry  # helper module; absent in older checkouts
    except ImportError:
        return None
    try:
        version = registry.ModelRegistry(settings=settings).version_at(name, "production")
    except (AutoMLOpsError, AttributeError, TypeError) as exc:
        log.info("registry not consulted for %s: %s", name, exc)
        return None
    return int(version) if version is not None else None


def served_version(name: str, versions: list[StoredModel], current: pd.DataFrame, settings: Settings
                   ) -> tuple[StoredModel, str]:
    """The version to monitor and why: production alias > most served in the window > newest."""
    by_number = {v.version: v for v in versions}
    production = _production_version(name, settings)
    if production in by_number:
        return by_number[production], "the registry's production version"
    column = current.attrs.get("meta_columns", {}).get("model_version", "model_version")
    if len(current) and column in current.columns:
        counts = Counter(int(v) for v in current[column] if int(v) in by_number)
        if counts:
            return by_number[counts.most_common(1)[0][0]], "the version that served most of the window"
    return versions[-1], "the newest saved version"


def _reference(model: StoredModel, settings: Settings) -> tuple[pd.DataFrame, list[str], str]:
    """The training data of ``model`` from the lake, its input columns, and ``"dataset@vN"``."""
    from automlops.mlops.lake import DataLake

    dataset = model.meta.get("dataset") or {}
    if not dataset.get("name") or dataset.get("version") is None:
        raise DataError(f"{model.ref} does not record the lake version it was trained on (meta.json 'dataset'), "
                        "so there is no reference to compare live traffic with")
    frame = DataLake(settings=settings).load(str(dataset["name"]), int(dataset["version"]))
    columns = [str(c) for c in model.meta.get("input_columns") or []]
    columns = columns or [c for c in map(str, frame.columns) if c != model.meta.get("target")]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{dataset['name']}@v{dataset['version']} has no column {', '.join(map(repr, missing))} "
                        f"that {model.ref} takes as input")
    return frame, columns, f"{dataset['name']}@v{int(dataset['version'])}"


def _current(name: str, window: Window, settings: Settings) -> pd.DataFrame:
    from automlops.mlops.monitor import read_predictions

    limit = window.rows if window.rows is not None else MAX_WINDOW_ROWS
    return read_predictions(window.since(), limit, settings=settings, model_name=name)


def _refuse_unlogged(name: str, meta: Mapping[str, Any]) -> None:
    """ConfigError when the API logs no input rows for this kind of model (a forecaster), saying why."""
    from automlops.mlops.monitor import unlogged_reason

    reason = unlogged_reason(meta)
    if reason is not None:
        raise ConfigError(f"{name} is a {meta.get('kind') or meta.get('task')} model: drift monitoring tests the "
                          f"input rows the API logs, and {reason}")


def monitor_model(name: str, *, window: str = "1000", min_rows: int = 100, settings: Settings | None = None,
                  tracker: Tracker | None = None, log_to_mlflow: bool = True) -> MonitorResult:
    """Compare the live traffic of ``name`` with its training data (see the module docstring)."""
    settings = settings or get_settings()
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ConfigError(f"invalid model name {name!r}")
    parsed = parse_window(window)
    versions = ModelStore(settings=settings).versions(name)
    _refuse_unlogged(name, versions[-1].meta)
    current = _current(name, parsed, settings)
    if len(current) < max(min_rows, 1):
        raise DataError(f"only {len(current)} logged prediction{'s' if len(current) != 1 else ''} of {name} in "
                        f"the window {parsed.text}; drift needs at least {max(min_rows, 1)} (lower --min-rows, widen "
                        "--window, or wait for more traffic)")
    model, why = served_version(name, versions, current, settings)
    reference, columns, ref_label = _reference(model, settings)
    at = datetime.now(UTC)
    html = _report_path(settings, name, at)
    report = detect_drift(reference, current, columns=columns, html_path=html)
    _prune_reports(html.parent)
    live, labels = _live(name, model, current, settings)
    predictions = current[current.attrs["meta_columns"]["prediction"]].tolist()
    answers = _reference_answers(model, reference, columns, settings)
    outcomes = _outcome_drift(reference, model.meta.get("target"), predictions, labels, answers)
    from automlops.mlops.live_metrics import traffic_summary
    from automlops.mlops.monitor import default_log_path

    first = current[current.attrs["meta_columns"]["time"]].min()
    traffic = traffic_summary(default_log_path(settings), name, first.timestamp() - 1e-3)
    notes = [f"monitored {model.ref}: {why}", *report.notes]
    result = MonitorResult(model=model.ref, report=report, window=parsed.text, live_metrics=live,
                           n_labelled=len(labels), run_id=None, at=at.isoformat(timespec="seconds"),
                           reference=ref_label, traffic=traffic, notes=tuple(notes), outcomes=outcomes)
    if log_to_mlflow:
        result = _log_run(result, model, settings, tracker)
    _append_history(settings, name, result)
    return result


def _live(name: str, model: StoredModel, current: pd.DataFrame, settings: Settings
          ) -> tuple[dict[str, float], list[Any]]:
    """Live quality on the window's labelled rows, and their labels."""
    from automlops.mlops.feedback import labelled_rows
    from automlops.mlops.live_metrics import live_quality

    meta = current.attrs["meta_columns"]
    first = current[meta["time"]].min()
    labelled = labelled_rows(name, settings=settings, since=first.timestamp() - 1e-3)
    if labelled.empty:
        return {}, []
    where = labelled.attrs["meta_columns"]
    labelled = labelled[labelled[where["request_id"]].isin(set(current[meta["request_id"]]))]
    quality = live_quality(model.meta.get("task"), labelled[where["prediction"]].tolist(),
                           labelled[where["label"]].tolist())
    return quality, labelled[where["label"]].tolist()


REFERENCE_ANSWERS_ROWS = 5000  # reference rows the model answers, as the baseline of prediction drift


def _reference_answers(model: StoredModel, reference: pd.DataFrame, columns: list[str], settings: Settings
                       ) -> list[Any] | None:
    """What the model answers on (a sample of) its own training rows: the baseline for prediction drift.

    The model's answers are not distributed like the true labels even when nothing changed: a
    classifier predicts a rare class less often than it occurs, a regressor's predictions spread
    less than the target. Compared with the target, an unchanged window of flights (late in 20 % of
    rows) showed "prediction drift" (Jensen-Shannon 0.15). None (the target stands in) for tasks
    other than classification and regression, or when the model cannot be loaded.
    """
    if model.meta.get("task") not in ("classification", "regression"):
        return None
    sample = reference[columns]
    if len(sample) > REFERENCE_ANSWERS_ROWS:
        sample = sample.sample(REFERENCE_ANSWERS_ROWS, random_state=0)
    try:
        loaded = ModelStore(settings=settings).load(model.name, model.version)
        return list(loaded.model.predict(sample))
    except Exception as exc:  # noqa: BLE001 - a baseline we cannot compute is replaced, not fatal
        log.info("prediction drift against the training target: the model could not answer its rows (%s)", exc)
        return None


def _outcome_drift(reference: pd.DataFrame, target: str | None, predictions: list[Any], labels: list[Any],
                   answers: list[Any] | None = None) -> tuple[ColumnDrift, ...]:
    """Prediction drift (always; against the model's own answers on its training rows when given, else
    against the training target) and target drift (from :data:`MIN_LABELS` labels, against the target)."""
    import pandas as pd

    if not target or target not in reference.columns:
        return ()
    found = []
    for kind, values, minimum in (("prediction", predictions, 1), ("target", labels, MIN_LABELS)):
        if len(values) < minimum:
            continue
        baseline = reference[[target]] if kind == "target" or answers is None else pd.DataFrame({target: answers})
        try:
            report = detect_drift(baseline, pd.DataFrame({target: values}), columns=[target])
        except DataError as exc:  # e.g. answers of another type than the target: not testable, say nothing
            log.info("%s drift not tested: %s", kind, exc)
            continue
        if report.columns:
            found.append(replace(report.columns[0], column=kind))
    return tuple(found)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", text)[:200]


def _log_run(result: MonitorResult, model: StoredModel, settings: Settings, tracker: Tracker | None
             ) -> MonitorResult:
    """One MLflow run per monitor run; a tracking failure becomes a note, the local result stays."""
    from automlops.mlops.tracking import Tracker

    tracker = tracker or Tracker(experiment=EXPERIMENT, settings=settings)
    report = result.report
    try:
        run_id = tracker.start_run(f"monitor {result.model}", tags={
            "automlops.kind": "monitor", "model": model.name, "model_version": model.version,
            "model_ref": result.model, "window": result.window, "reference": result.reference,
            "drifted": str(report.drifted).lower()})
        tracker.log_params(run_id, {"window": result.window, "drift_share": report.drift_share,
                                    "reference": result.reference, "columns": len(report.columns)})
        metrics: dict[str, Any] = {"share_drifted": report.share_drifted, "drifted": float(report.drifted),
                                   "n_current": report.n_current, "n_reference": report.n_reference,
                                   "n_drifted": len(report.drifted_columns), "n_labelled": result.n_labelled}
        metrics |= {f"drift.{_safe(c.column)}": c.statistic for c in report.columns}
        metrics |= {f"{o.column}_drift": o.statistic for o in result.outcomes}
        metrics |= {f"live_{k}": v for k, v in result.live_metrics.items()}
        metrics |= {f"traffic_{k}": v for k, v in result.traffic.items()}
        tracker.log_metrics(run_id, metrics)
        if report.report_path:
            tracker.log_artifact(run_id, report.report_path, "drift")
        tracker.end_run(run_id)
    except AutoMLOpsError as exc:
        log.warning("monitor run of %s not logged to MLflow: %s", result.model, exc)
        return replace(result, notes=(*result.notes, f"not logged to MLflow: {exc}"))
    return replace(result, run_id=run_id)


def _folder(settings: Settings) -> Path:
    return settings.home / "monitoring"


def _report_path(settings: Settings, name: str, at: datetime) -> Path:
    return _folder(settings) / "reports" / name / f"{at.strftime('%Y%m%dT%H%M%S%fZ')}.html"


def _prune_reports(folder: Path) -> None:
    """Keep the newest :data:`KEEP_REPORTS` HTML reports of a model (names sort by time)."""
    for old in sorted(folder.glob("*.html"))[:-KEEP_REPORTS]:
        old.unlink(missing_ok=True)


def _append_history(settings: Settings, name: str, result: MonitorResult) -> None:
    """Append one JSON line under a lock, in one ``write`` (a reader never sees half a line)."""
    path = _folder(settings) / f"{name}.jsonl"
    line = (json.dumps(result.to_dict(), default=str, allow_nan=False) + "\n").encode()
    with flock(path.with_name(path.name + ".lock"), create_folder=True):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def _history_lines(name: str, settings: Settings) -> list[dict[str, Any]]:
    path = _folder(settings) / f"{name}.jsonl"
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        try:
            runs.append(json.loads(line))
        except ValueError:  # a damaged line: skipped, the others still count
            continue
    return runs


def latest_check(name: str, *, settings: Settings | None = None) -> dict[str, Any] | None:
    """The newest monitor run of ``name`` as :meth:`MonitorResult.to_dict` wrote it, or None."""
    runs = _history_lines(name, settings or get_settings())
    return runs[-1] if runs else None


def drift_history(name: str, *, settings: Settings | None = None) -> pd.DataFrame:
    """One row per monitor run of ``name``, oldest first.

    Columns: ``time``, ``model``, ``window``, ``share_drifted``, ``drifted``, ``n_current``,
    ``report_path``, ``run_id``, live metrics as ``live_<name>``, and per tested column
    ``stat.<column>`` (its statistic) and ``drifted.<column>`` (its verdict).
    ``attrs["columns"]`` lists the data columns seen. A broken line is skipped.
    """
    import pandas as pd

    records, seen = [], []
    for run in _history_lines(name, settings or get_settings()):
        record = {"time": pd.Timestamp(run["at"]), "model": run["model"], "window": run["window"],
                  "share_drifted": run["share_drifted"], "drifted": run["drifted"], "n_current": run["n_current"],
                  "report_path": run.get("report_path"), "run_id": run.get("run_id")}
        record |= {f"live_{k}": v for k, v in (run.get("live_metrics") or {}).items()}
        for column in run.get("columns", []):
            record[f"stat.{column['column']}"] = column["statistic"]
            record[f"drifted.{column['column']}"] = column["drifted"]
            if column["column"] not in seen:
                seen.append(column["column"])
        records.append(record)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(
        columns=["time", "model", "window", "share_drifted", "drifted", "n_current", "report_path", "run_id"])
    frame.attrs["columns"] = seen
    return frame
