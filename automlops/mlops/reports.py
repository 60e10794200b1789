"""Reading a finished AutoML run back from MLflow, for dashboards and reports.

An AutoML search is logged as one *parent* run (tag ``automlops.kind = automl``) holding the
settings, the final metrics and artifacts (``leaderboard.csv``, ``decisions.txt``, optionally
``diagnostics.json``), plus one *child* run per trial (``trial-<n>``) with the model, its
hyperparameters and its validation score. These helpers turn that back into tables: the list
of AutoML runs, one run's leaderboard, and its trial history (the optimisation curve).
Everything goes through a :class:`~automlops.mlops.tracking.Tracker`, so it works the same for
the local SQLite store and a remote server.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from automlops.core.redact import redact
from automlops.errors import TrackingError
from automlops.mlops.tracking import Tracker

__all__ = ["automl_runs", "read_artifact_text", "read_json_artifact", "read_leaderboard", "trial_history"]

AUTOML_FILTER = "tags.`automlops.kind` = 'automl'"
_TRIAL_NAME = re.compile(r"^trial-(\d+)$")


def _safe(tracker: Tracker, exc: Exception) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(first_line, tracker.settings.tracking_password)[:300] or type(exc).__name__


def automl_runs(tracker: Tracker, max_results: int = 200) -> pd.DataFrame:
    """Parent runs of AutoML searches, newest first (one row each, ``params.*``/``metrics.*``/``tags.*``)."""
    return tracker.search_runs(AUTOML_FILTER, max_results=max_results)


def read_artifact_text(tracker: Tracker, run_id: str, path: str) -> str | None:
    """The text of one artifact file, or ``None`` if the run has no such file."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if path not in {a.path for a in tracker.client.list_artifacts(run_id, str(Path(path).parent)
                                                                           if "/" in path else None)}:
                return None
            local = tracker.client.download_artifacts(run_id, path, tmp)
            return Path(local).read_text(encoding="utf-8")
        except Exception as exc:
            raise TrackingError(f"MLflow could not read {path} of run {run_id}: {_safe(tracker, exc)}") from exc


def read_json_artifact(tracker: Tracker, run_id: str, path: str) -> dict[str, Any] | None:
    """A JSON artifact as a dict (``None`` when missing or not valid JSON)."""
    text = read_artifact_text(tracker, run_id, path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read_leaderboard(tracker: Tracker, run_id: str) -> pd.DataFrame | None:
    """The run's ``leaderboard.csv`` (``params`` decoded from JSON), or ``None``."""
    text = read_artifact_text(tracker, run_id, "leaderboard.csv")
    if text is None:
        return None
    import io

    frame = pd.read_csv(io.StringIO(text))
    if "params" in frame:
        frame["params"] = frame["params"].map(lambda s: json.loads(s) if isinstance(s, str) else s)
    return frame


def trial_history(tracker: Tracker, run_id: str, metric: str | None = None) -> pd.DataFrame:
    """The trials of an AutoML run in order: ``number, model, state, value, params``.

    ``value`` is the validation metric (``val_<metric>``); ``params`` a dict of the trial's
    hyperparameters as MLflow stored them (strings).
    """
    columns = ["number", "model", "state", "value", "params"]
    children = tracker.search_runs(f"tags.mlflow.parentRunId = '{run_id}'", max_results=5000)
    if children.empty:
        return pd.DataFrame(columns=columns)
    value_col = f"metrics.val_{metric}" if metric else next(
        (c for c in children.columns if c.startswith("metrics.val_") and c != "metrics.val_std"), None)
    param_cols = [c for c in children.columns if c.startswith("params.") and c != "params.model"]
    rows = []
    for _, child in children.iterrows():
        match = _TRIAL_NAME.fullmatch(str(child["run_name"]))
        if match is None:
            continue
        params = {c[len("params."):]: child[c] for c in param_cols if pd.notna(child[c])}
        value = child.get(value_col) if value_col else None
        rows.append({"number": int(match.group(1)), "model": child.get("params.model"),
                     "state": child.get("tags.state", "COMPLETE" if pd.notna(value) else "PRUNED"),
                     "value": float(value) if value is not None and pd.notna(value) else None,
                     "params": params})
    return pd.DataFrame(rows, columns=columns).sort_values("number").reset_index(drop=True)
