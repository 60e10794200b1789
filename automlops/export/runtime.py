"""The helpers every exported script runs: read the data, check it, clean it, split it, fit quietly.

These functions are copied *verbatim* into each exported script (see
:mod:`automlops.export.source`), so they import only third-party libraries and may use only
other studio code that can itself be copied (``read_canonical_csv``, ``read_marked_cells``,
``parse_date_columns``, ``predict_labels_and_proba``). Being ordinary functions of the package, they are tested here like
any other code, and the script a student reads is the code the tests ran.

Why a SHA-256 check? A script that "reproduces the test score" is only as good as its data: if
the CSV was edited since training, the same code gives a different number, and nobody would know
why. The digest recorded when the data was stored settles it before any fitting starts.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automlops.mlops._canonical import read_canonical_csv
from automlops.mlops.cells import read_marked_cells
from automlops.mlops.ingest import parse_date_columns

__all__ = ["check_sha256", "clean_supervised", "fit_quietly", "load_table", "log_to_mlflow", "parse_args",
           "say", "split_random_rows", "split_supervised"]


def say(message: str) -> None:
    """Progress goes to standard error, so the last line on standard output stays ``test_score=...``."""
    print(message, file=sys.stderr, flush=True)


def parse_args(description: str, data_path: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """The script's command-line options (the same for every exported script)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default=data_path, help="the training CSV (default: where the studio stored it)")
    parser.add_argument("--skip-check", action="store_true",
                        help="use the data even if its SHA-256 differs from the one recorded at training")
    parser.add_argument("--refit-full", action="store_true",
                        help="after scoring, refit the model on all rows (train + test), as the studio does")
    parser.add_argument("--mlflow", action="store_true", help="log parameters, the test score and the model to MLflow")
    parser.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: MLflow's own default)")
    parser.add_argument("--experiment", default="exported-scripts", help="MLflow experiment name")
    return parser.parse_args(argv)


def check_sha256(path: Path, expected: str, skip: bool) -> None:
    """Stop (exit code 2) when the file is not the one the model was trained on, unless told to go on."""
    if not path.is_file():
        raise SystemExit(f"error: the data file {path} does not exist; pass its new place with --data PATH")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        message = (f"{path} has SHA-256 {digest.hexdigest()[:12]}..., not the {expected[:12]}... recorded when the "
                   "model was trained: the data changed, so the score will differ")
        if not skip:
            raise SystemExit(f"error: {message} (pass --skip-check to run anyway)")
        say(f"warning: {message}")


def load_table(path: Path, how: dict[str, Any]) -> pd.DataFrame:
    """Read the CSV exactly as the studio's data lake reads it.

    ``how["storage"]`` is ``"canonical"`` (a table the studio wrote: read back with the dtypes it
    recorded) or ``"original"`` (an upload kept byte for byte: decoded and split with the encoding,
    delimiter and decimal mark detected when it was added, then date-like text columns parsed).
    """
    if how["storage"] == "canonical":
        return read_canonical_csv(path, dict(how["dtypes"]))
    text = path.read_bytes().decode(how["encoding"])
    frame = pd.read_csv(io.StringIO(text, newline=""), sep=how["delimiter"], decimal=how["decimal"],
                        low_memory=False, float_precision="round_trip")
    frame.columns = [str(c).strip() for c in frame.columns]
    return parse_date_columns(read_marked_cells(frame, how["decimal"]))


def clean_supervised(frame: pd.DataFrame, target: str, time_column: str | None) -> pd.DataFrame:
    """Drop rows without a target and put dated rows in time order (a stable sort), as training did."""
    if target not in frame.columns:
        raise SystemExit(f"error: the target column '{target}' is not in the data")
    frame = frame[frame[target].notna()]
    if time_column:
        frame = frame.iloc[np.argsort(frame[time_column].to_numpy(), kind="stable")]
    return frame.reset_index(drop=True)


def split_supervised(frame: pd.DataFrame, target: str, *, classify: bool, test_size: float | int, seed: int,
                     ordered: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The studio's train/test split: the last rows when ordered in time, else a random (stratified) share."""
    from sklearn.model_selection import train_test_split

    if ordered:
        n_test = test_size if isinstance(test_size, int) else len(frame) - int(round(len(frame) * (1 - test_size)))
        return frame.iloc[: len(frame) - n_test].reset_index(drop=True), frame.iloc[len(frame) - n_test:]
    stratify = frame[target] if classify else None
    train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test


def split_random_rows(n_rows: int, *, test_size: float, seed: int, min_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Clustering and anomaly detection keep a random share of rows aside: (train rows, test rows), sorted."""
    order = np.random.default_rng(seed).permutation(n_rows)
    cut = max(min_train, int(round(n_rows * (1 - test_size))))
    return np.sort(order[:cut]), np.sort(order[cut:])


def fit_quietly(model: Any, X: Any, y: Any = None, *, user_api: str | None = "openmp") -> Any:
    """Fit with warnings silenced and one thread, as the studio fits: threads change only the speed of
    these models, and one avoids two OpenMP runtimes fighting over the cores. ``user_api=None``
    limits every thread pool (BLAS too), as the clustering engine does on small tables."""
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api=user_api):
        warnings.simplefilter("ignore")
        return model.fit(X) if y is None else model.fit(X, y)


def log_to_mlflow(args: argparse.Namespace, run_name: str, params: dict[str, Any], metrics: dict[str, float],
                  model: Any, example: pd.DataFrame | None, requirements: list[str]) -> None:
    """One MLflow run: the hyperparameters, the test metric and the fitted model (no studio needed to read it).

    ``model=None`` logs the parameters and metrics only (a model that is not one scikit-learn estimator)."""
    import mlflow

    if args.tracking_uri:
        mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, float) and math.isfinite(v)})
        if model is not None and example is not None:
            _log_model(model, example, requirements)
        say(f"logged to MLflow: run {run.info.run_id} in experiment '{args.experiment}'")


def _log_model(model: Any, example: pd.DataFrame, requirements: list[str]) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        output = model.predict(example)
        # cloudpickle: the copied studio classes live in this script, and are saved with the model
        mlflow.sklearn.log_model(model, name="model", signature=infer_signature(example, output),
                                 pip_requirements=requirements, serialization_format="cloudpickle")
