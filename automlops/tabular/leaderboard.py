"""The leaderboard: one row per model family, its best trial, and what it cost.

Scores are "mean ± std over the validation folds" of each model's best trial: the spread is
part of the answer. Two models whose means differ by less than their spreads are, honestly,
a tie on this data.
"""

from __future__ import annotations

import math

import optuna
import pandas as pd

__all__ = ["LEADERBOARD_COLUMNS", "build_leaderboard", "trials_frame"]

LEADERBOARD_COLUMNS = ["rank", "model", "score", "std", "fit_seconds", "predict_seconds", "trials", "pruned",
                       "failed", "best_trial", "params"]


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """Every trial as a row: number, model, state, value, duration, params (for charts and logs)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        rows.append({"number": t.number, "model": t.user_attrs.get("model"), "state": t.state.name,
                     "value": t.value, "std": t.user_attrs.get("std"), "duration": duration,
                     "params": t.user_attrs.get("params"), "note": t.user_attrs.get("note")})
    return pd.DataFrame(rows, columns=["number", "model", "state", "value", "std", "duration", "params", "note"])


def build_leaderboard(study: optuna.Study, *, maximize: bool) -> pd.DataFrame:
    """Best complete trial of each model, ranked by score (ties broken by lower spread)."""
    by_model: dict[str, dict] = {}
    for t in study.get_trials(deepcopy=False):
        model = t.user_attrs.get("model")
        if model is None:
            continue
        row = by_model.setdefault(model, {"model": model, "trials": 0, "pruned": 0, "failed": 0, "best": None})
        row["trials"] += 1
        if t.state is optuna.trial.TrialState.PRUNED:
            row["pruned"] += 1
        elif t.state is optuna.trial.TrialState.FAIL:
            row["failed"] += 1
        elif t.state is optuna.trial.TrialState.COMPLETE and t.value is not None and math.isfinite(t.value):
            best = row["best"]
            better = best is None or (t.value > best.value if maximize else t.value < best.value)
            if better:
                row["best"] = t
    rows = []
    for row in by_model.values():
        best = row.pop("best")
        if best is None:
            rows.append({**row, "score": float("nan"), "std": float("nan"), "fit_seconds": float("nan"),
                         "predict_seconds": float("nan"), "best_trial": None, "params": None})
            continue
        rows.append({**row, "score": best.value, "std": best.user_attrs.get("std"),
                     "fit_seconds": best.user_attrs.get("fit_seconds"),
                     "predict_seconds": best.user_attrs.get("predict_seconds"),
                     "best_trial": best.number, "params": best.user_attrs.get("params")})
    frame = pd.DataFrame(rows, columns=[c for c in LEADERBOARD_COLUMNS if c != "rank"])
    frame = frame.sort_values(["score", "std"], ascending=[not maximize, True], na_position="last")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame.reset_index(drop=True)
