"""Reading a study back: trial outcomes, the leaderboard, and payloads any worker can decode.

Everything an ensemble or a refit needs from a trial is written **into the study** as trial user
attributes: the model name, its hyperparameters, timings and (for the best trial of each model) the
out-of-fold predictions, packed as compressed text. So when several processes search one study on a
shared SQLite or PostgreSQL storage, the process that finishes can rebuild the winner and ensemble
trials that another worker ran: nothing lives only in one process's memory.

The leaderboard has one row per model: its best trial, scored "mean ± std over the validation
folds", with a 95 % interval and whether its lead over the next row is significant (a corrected
t-test on the paired fold scores, or a paired bootstrap: :mod:`automlops.search.significance`).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import pandas as pd

from automlops.search.engine import TrialOutcome

if TYPE_CHECKING:
    from automlops.search.significance import SignificanceTest

__all__ = ["LEADERBOARD_COLUMNS", "NO_GRID_POINT", "best_per_model", "build_leaderboard", "pack_arrays", "trials_frame",
           "unpack_arrays"]

LEADERBOARD_COLUMNS = ["rank", "model", "score", "std", "ci_low", "ci_high", "p_next", "lead", "fit_seconds",
                       "predict_seconds", "trials", "pruned", "failed", "best_trial", "params"]
_SIGNIFICANCE = ("ci_low", "ci_high", "p_next", "lead")  # see automlops.search.significance
PAYLOAD_ATTR = "payload"
NO_GRID_POINT = "no grid point left: every point was taken by a worker"  # note of a shared grid's empty trial


def pack_arrays(arrays: Mapping[str, np.ndarray]) -> str:
    """Numeric arrays → compressed ``.npz`` → base64 text (storable as an Optuna user attribute)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def unpack_arrays(text: str) -> dict[str, np.ndarray]:
    """Inverse of :func:`pack_arrays` (object arrays are refused: nothing is unpickled)."""
    with np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _is_complete(t: optuna.trial.FrozenTrial) -> bool:
    return t.state is optuna.trial.TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)


def _better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def best_per_model(study: optuna.Study, *, maximize: bool) -> list[TrialOutcome]:
    """The best complete trial of each model in the whole study (all workers), best first."""
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for t in study.get_trials(deepcopy=False):
        model = t.user_attrs.get("model")
        if model is None or not _is_complete(t):
            continue
        if model not in best or _better(float(t.value), float(best[model].value), maximize):  # type: ignore[arg-type]
            best[model] = t
    ranked = sorted(best.values(), key=lambda t: (-t.value if maximize else t.value,  # type: ignore[operator]
                                                  t.user_attrs.get("std") or 0.0))
    return [_outcome(t) for t in ranked]


def _outcome(t: optuna.trial.FrozenTrial) -> TrialOutcome:
    attrs = t.user_attrs
    return TrialOutcome(number=t.number, model=str(attrs["model"]), params=dict(attrs.get("params") or {}),
                        value=float(t.value), std=float(attrs.get("std") or 0.0),  # type: ignore[arg-type]
                        fit_seconds=float(attrs.get("fit_seconds") or 0.0),
                        predict_seconds=float(attrs.get("predict_seconds") or 0.0),
                        payload=attrs.get(PAYLOAD_ATTR),
                        fold_scores=tuple(float(s) for s in attrs.get("fold_scores") or ()))


def is_best_of_its_model(study: optuna.Study, model: str, value: float, *, maximize: bool) -> bool:
    """True when ``value`` beats every complete trial of ``model`` so far (in any worker)."""
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if t.user_attrs.get("model") == model and t.value is not None and not _better(value, t.value, maximize):
            return False
    return True


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """Every trial that ran as a row: number, model, state, value, duration, params (for charts and logs).

    Trials still *waiting* (default configurations enqueued by a warm start that the trial count
    or the budget never reached) did not run and are left out, and so are the empty trials of a
    shared grid that a worker opened just as another took the last point (:data:`NO_GRID_POINT`).
    """
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state is optuna.trial.TrialState.WAITING or t.user_attrs.get("note") == NO_GRID_POINT:
            continue
        duration = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        rows.append({"number": t.number, "model": t.user_attrs.get("model"), "state": t.state.name,
                     "value": t.value, "std": t.user_attrs.get("std"), "duration": duration,
                     "params": t.user_attrs.get("params"), "note": t.user_attrs.get("note")})
    return pd.DataFrame(rows, columns=["number", "model", "state", "value", "std", "duration", "params", "note"])


def build_leaderboard(study: optuna.Study, *, maximize: bool, test: SignificanceTest | None = None,
                      extra_rows: Sequence[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """Best complete trial of each model, ranked by score (ties broken by lower spread).

    ``extra_rows`` (an ensemble the engine built) join the ranking. Each row gets its score's
    95 % interval and whether its lead over the next row is significant, by ``test`` (default:
    the corrected t-test on fold scores; see :mod:`automlops.search.significance`).
    """
    from automlops.search.significance import FoldTest, annotate_leaderboard, outcome_from_row

    board = _ranked_board(study, maximize)
    outcomes = {o.model: o for o in best_per_model(study, maximize=maximize)}
    if extra_rows:
        pairs = [outcome_from_row(row) for row in extra_rows]
        outcomes.update({o.model: o for _, o in pairs})
        board = pd.concat([board.drop(columns="rank"), pd.DataFrame([row for row, _ in pairs])], ignore_index=True)
        board = board.sort_values(["score"], ascending=not maximize, na_position="last")
        board.insert(0, "rank", range(1, len(board) + 1))
        board = board.reset_index(drop=True)
    # every metric the studio minimises is an error or a loss (RMSE, MASE, log-loss, Davies–Bouldin): ≥ 0
    board = annotate_leaderboard(board, outcomes, test or FoldTest(), floor=None if maximize else 0.0)
    known = [c for c in LEADERBOARD_COLUMNS if c in board]
    return board[known + [c for c in board.columns if c not in known]]


def _ranked_board(study: optuna.Study, maximize: bool) -> pd.DataFrame:
    counts: dict[str, dict[str, int]] = {}
    for t in study.get_trials(deepcopy=False):
        model = t.user_attrs.get("model")
        if model is None:
            continue
        row = counts.setdefault(model, {"trials": 0, "pruned": 0, "failed": 0})
        row["trials"] += 1
        row["pruned"] += t.state is optuna.trial.TrialState.PRUNED
        row["failed"] += t.state is optuna.trial.TrialState.FAIL
    best = {o.model: o for o in best_per_model(study, maximize=maximize)}
    rows = []
    for model, row in counts.items():
        o = best.get(model)
        rows.append({"model": model, **row,
                     "score": o.value if o else float("nan"), "std": o.std if o else float("nan"),
                     "fit_seconds": o.fit_seconds if o else float("nan"),
                     "predict_seconds": o.predict_seconds if o else float("nan"),
                     "best_trial": o.number if o else None, "params": dict(o.params) if o else None})
    frame = pd.DataFrame(rows, columns=[c for c in LEADERBOARD_COLUMNS if c != "rank" and c not in _SIGNIFICANCE])
    frame = frame.sort_values(["score", "std"], ascending=[not maximize, True], na_position="last")
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame.reset_index(drop=True)
