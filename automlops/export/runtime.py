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
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from automlops.mlops._canonical import read_canonical_csv
from automlops.mlops.cells import read_marked_cells
from automlops.mlops.date_columns import parse_date_columns
from automlops.mlops.ingest import detect_decimal, detect_delimiter

__all__ = ["BadInput", "check_sha256", "clean_supervised", "fit_as_scored", "fit_quietly", "load_table",
           "log_to_mlflow", "parse_args", "say", "search_split_rows", "split_random_rows", "split_supervised",
           "stop"]


def say(message: str) -> None:
    """Progress goes to standard error, so the last line on standard output stays ``test_score=...``."""
    print(message, file=sys.stderr, flush=True)


class BadInput(SystemExit):
    """Bad input to the script (a missing file, other data, a missing column): exit code 2, as the studio's CLI.

    ``SystemExit("text")`` would exit with code 1; this one exits with 2 and keeps the message as its text.
    """

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message

    def __str__(self) -> str:
        return self.message


def stop(message: str) -> NoReturn:
    """Say ``error: message`` on standard error and exit with code 2 (raises :class:`BadInput`)."""
    say(f"error: {message}")
    raise BadInput(message)


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


def check_sha256(path: Path, expected: str, skip: bool) -> bool:
    """Stop (exit code 2) when the file is not the one the model was trained on, unless told to go on.

    Returns whether it is that file (``False`` only with ``skip``: then read it with ``detect=True``).
    """
    if not path.is_file():
        stop(f"the data file {path} does not exist; pass its new place with --data PATH")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        message = (f"{path} has SHA-256 {digest.hexdigest()[:12]}..., not the {expected[:12]}... recorded when the "
                   "model was trained: the data changed, so the score will differ")
        if not skip:
            stop(f"{message} (pass --skip-check to run anyway)")
        say(f"warning: {message}")
        return False
    return True


def load_table(path: Path, how: dict[str, Any], detect: bool = False) -> pd.DataFrame:
    """Read the CSV exactly as the studio's data lake reads it.

    ``how["storage"]`` is ``"canonical"`` (a table the studio wrote: read back with the dtypes it
    recorded) or ``"original"`` (an upload kept byte for byte: decoded and split with the encoding,
    delimiter and decimal mark detected when it was added, then date-like text columns parsed).
    With ``detect`` (another file than the recorded one, say a copy saved with semicolons) the
    delimiter and decimal mark are detected again, by the lake's own detection code.
    """
    data = path.read_bytes() if detect or how["storage"] != "canonical" else b""
    if detect:
        encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else how.get("encoding", "utf-8")
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = data.decode("latin-1")  # never fails: every byte is a character
        delimiter = detect_delimiter(text)
        how = {**how, "delimiter": delimiter, "decimal": detect_decimal(text, delimiter)}
        if how["storage"] == "canonical" and delimiter != ",":
            how["storage"] = "original"  # a studio table saved again with other separators: parsed like an upload
    if how["storage"] == "canonical":
        dtypes = dict(how["dtypes"])
        if detect:  # another file may lack columns: those are named later, not failed on here
            header = set(pd.read_csv(path, nrows=0).columns)
            dtypes = {column: dtype for column, dtype in dtypes.items() if column in header}
        return read_canonical_csv(path, dtypes)
    if not detect:
        text = data.decode(how["encoding"])
    frame = pd.read_csv(io.StringIO(text, newline=""), sep=how["delimiter"], decimal=how["decimal"],
                        low_memory=False, float_precision="round_trip")
    frame.columns = [str(c).strip() for c in frame.columns]
    return parse_date_columns(read_marked_cells(frame, how["decimal"]))


def clean_supervised(frame: pd.DataFrame, target: str, time_column: str | None) -> pd.DataFrame:
    """Drop rows without a target and put dated rows in time order (a stable sort), as training did."""
    if target not in frame.columns:
        stop(f"the target column '{target}' is not in the data (columns: {', '.join(map(str, frame.columns[:10]))})")
    frame = frame[frame[target].notna()]
    if time_column:
        frame = frame.iloc[np.argsort(frame[time_column].to_numpy(), kind="stable")]
    return frame.reset_index(drop=True)


def split_supervised(frame: pd.DataFrame, target: str, *, classify: bool, test_size: float | int, seed: int,
                     ordered: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The studio's train/test split: the last rows when ordered in time, else a random (stratified) share.

    Classes as training left them out: those of a single row, then those the split left a single
    training row (each only where at least two classes remain).
    """
    from sklearn.model_selection import train_test_split

    if classify:
        frame = frame[~frame[target].isin(_single_classes(frame[target]))]
    if ordered:
        n_test = test_size if isinstance(test_size, int) else len(frame) - int(round(len(frame) * (1 - test_size)))
        train, test = frame.iloc[: len(frame) - n_test].reset_index(drop=True), frame.iloc[len(frame) - n_test:]
    else:
        stratify = frame[target] if classify else None
        train, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)
        train = train.reset_index(drop=True)
    if classify and (single := _single_classes(train[target])):
        train, test = train[~train[target].isin(single)].reset_index(drop=True), test[~test[target].isin(single)]
    return train, test


def _single_classes(y: pd.Series) -> list[Any]:
    """The classes seen in one row, if dropping them leaves at least two classes (else none)."""
    counts = y.value_counts()
    single = counts[counts < 2]
    return [] if len(counts) - len(single) < 2 else single.index.tolist()


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


def search_split_rows(y: pd.Series, split: dict[str, Any], seed: int) -> np.ndarray:
    """The training rows the search's one validation split learned from, in the order its model saw them.

    ``split`` names scikit-learn's seeded splitter as the studio made it: ``"holdout"`` (a shuffled
    share), ``"holdout_stratified"`` (the same, stratified by class), or the first fold of
    ``"kfold"`` / ``"stratified"`` (``n_splits`` folds). ``sorted_rows``: the search fitted the
    rows in index order (a pruning search's learning curve does).
    """
    from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

    kind = split["splitter"]
    if kind == "holdout":
        splitter: Any = ShuffleSplit(1, test_size=split["holdout_size"], random_state=seed)
    elif kind == "holdout_stratified":
        splitter = StratifiedShuffleSplit(1, test_size=split["holdout_size"], random_state=seed)
    elif kind == "kfold":
        splitter = KFold(split["n_splits"], shuffle=True, random_state=seed)
    else:
        splitter = StratifiedKFold(split["n_splits"], shuffle=True, random_state=seed)
    stratified = kind in ("holdout_stratified", "stratified")
    rows = next(iter(splitter.split(np.zeros((len(y), 1)), y if stratified else None)))[0]
    return np.sort(rows) if split.get("sorted_rows") else np.asarray(rows)


def fit_as_scored(model: Any, X: pd.DataFrame, y: pd.Series, scored_by: dict[str, Any] | None, seed: int) -> Any:
    """Fit ``model`` on the rows the studio's scored model learned from, so the test score is the same.

    ``scored_by=None``: the studio fitted the chosen pipeline on every training row. Otherwise it
    validated with one holdout split and scored the test rows with the model the search had
    already fitted on that split's training part (no second fit): the whole model
    (``members=None``), or, for a vote, the members named in ``members`` (the others were fitted
    on every training row, on labels encoded 0..k-1 as scikit-learn's vote does).
    """
    if scored_by is None:
        return fit_quietly(model, X, y)
    from sklearn.base import clone
    from sklearn.ensemble import VotingClassifier, VotingRegressor
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils import Bunch

    rows = search_split_rows(y, scored_by, seed)
    if len(rows) != scored_by["rows"]:
        say(f"warning: the validation split gave {len(rows)} rows to learn from, the studio's model learned from "
            f"{scored_by['rows']}: the score will differ")
    members = scored_by.get("members")
    vote = getattr(model, "estimator", model)  # a tempered vote is wrapped (TemperatureScaled)
    if members is None or not isinstance(vote, VotingClassifier | VotingRegressor):
        say(f"the model learns from the {len(rows)} rows the search's validation split trained on, as the studio's did")
        return fit_quietly(model, X.iloc[rows], y.iloc[rows])
    say(f"member(s) {', '.join(members)} learn from the {len(rows)} rows the search's validation split trained on, "
        "the others from every training row, as in the studio")
    if isinstance(vote, VotingClassifier):
        vote.le_ = LabelEncoder().fit(y)
        vote.classes_ = vote.le_.classes_
        target = vote.le_.transform(y)
    else:
        target = np.asarray(y).ravel()
    vote.estimators_ = [fit_quietly(clone(member), X.iloc[rows], y.iloc[rows]) if name in members
                        else fit_quietly(clone(member), X, target) for name, member in vote.estimators]
    vote.named_estimators_ = Bunch(**{name: m for (name, _), m in zip(vote.estimators, vote.estimators_, strict=True)})
    for member in vote.estimators_:
        if hasattr(member, "feature_names_in_"):
            vote.feature_names_in_ = member.feature_names_in_
    if vote is not model:  # the temperature wrapper around the fitted vote
        model.estimator_, model.classes_ = vote, np.asarray(vote.classes_)
    return model


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
