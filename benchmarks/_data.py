"""Helpers shared by the benchmark runner scripts (pandas and numpy only).

The contender runners (``_hgb_runner.py`` in the studio's virtual environment,
``_flaml_runner.py`` in ``.venv-flaml``) must read the shared train/test CSVs the same way and
write their test predictions in one format, so this module imports nothing from ``automlops``:
it has to work in the FLAML environment too.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["contender_parser", "read_table", "split_xy", "write_predictions"]


def _parse_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns that are ISO dates (as ``DataFrame.to_csv`` writes them) become datetime64."""
    for column in frame.select_dtypes(include="object").columns:
        values = frame[column].dropna().astype(str)
        if values.empty or not values.str.match(r"^\d{4}-\d{2}-\d{2}").all():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(frame[column], errors="coerce", format="ISO8601")
        if parsed.notna().sum() == len(values):
            frame[column] = parsed
    return frame


def read_table(path: str | Path) -> pd.DataFrame:
    """One benchmark CSV as a DataFrame, ISO-date columns parsed to datetime64."""
    return _parse_dates(pd.read_csv(path, low_memory=False))


def split_xy(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    return frame.drop(columns=[target]), frame[target]


def _plain(values: Any) -> list[Any]:
    """A JSON-friendly list (numpy scalars become Python ones)."""
    return [v.item() if hasattr(v, "item") else v for v in np.asarray(values).tolist()]


def write_predictions(path: str | Path, *, pred: Any, proba: Any | None, classes: Any | None,
                      fit_seconds: float, info: dict[str, Any]) -> None:
    """Write test predictions (and probabilities, with their column order) as JSON."""
    payload = {
        "pred": _plain(pred),
        "proba": None if proba is None else np.asarray(proba, dtype=float).tolist(),
        "classes": None if classes is None else _plain(classes),
        "fit_seconds": fit_seconds,
        "info": info,
    }
    Path(path).write_text(json.dumps(payload, default=str))


def contender_parser(description: str | None) -> argparse.ArgumentParser:
    """The arguments every contender runner takes: TRAIN.csv TEST.csv OUT.json --target --task --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("train")
    parser.add_argument("test")
    parser.add_argument("out")
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", choices=["classification", "regression"], required=True)
    parser.add_argument("--seed", type=int, default=0)
    return parser
