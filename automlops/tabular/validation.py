"""How a candidate model is judged without fooling ourselves.

A model scored on the rows it learned from looks better than it is (*overfitting*), so the
search scores every candidate on rows it did not see:

* **holdout** – one split, 80 % to learn and 20 % to score. Cheap; fine when data is plentiful,
  because the score's noise shrinks as the validation rows grow.
* **k-fold** – k splits; every row is scored exactly once. k times the work, but a far steadier
  estimate on small data, plus a spread (± std) that tells how much to trust it.
* **stratified k-fold** – k-fold that keeps each class's share equal in every fold, so a rare
  class never vanishes from a fold.
* **time-series split** – always learn on the past and score on the future; shuffling time would
  let the model peek ahead.

``auto`` follows the studio's rule: a time column → time-series split; small data → (stratified)
5-fold CV; large data → a 20 % holdout. *Small* depends on what the budget can afford, the rule
FLAML uses: cross-validation while ``rows × columns`` is below 10 million cells per hour of
budget (166k cells for 60 s, 833k for 300 s) and rows are fewer than 100,000; with more than two
classes the cells count once per class, because boosting grows one tree per class each round;
always below 1,000 rows; without a time budget, below 10,000 rows; and for classification, also
while a holdout would hold fewer than 100 rows of the rarer of two classes (20 of the rarest of
more), up to five times the affordable cells. ROC-AUC on 40 positives ranks models by luck; on a
12-class table of 2,600 rows (Males' industry, 8 rows of its rarest class in a holdout) the
ensemble weights fitted on 524 holdout rows were luck too: five folds moved test log-loss
1.496 → 1.478 on average over nine seeds (better on seven; range 1.476–1.549 → 1.468–1.493).
With 23–27 rows of the rarest of 4 or 11 classes folds tied or lost, hence the lower bar.
Why not a holdout everywhere? On a 2,300-row table a 20 % holdout is ~460 rows: after a hundred
trials the winner is the one that was luckiest on *those* rows (the winner's curse), and it
scored 0.996 there but 0.967 on fresh rows. Five folds score every row once and average the luck
away, for five times the work per trial.

Cells do not say how long a model takes to learn them (a smooth target makes boosting run
thousands of rounds), so under a time budget the engine then times the warm start's first fits on
the first fold and keeps the folds only if the budget affords them; otherwise that first fold is
the holdout (:mod:`automlops.tabular.validation_cost`, ``ValidationPlan.first_fold_of``).

Separately, a final **test** split is cut off before any of this and scored once at the very
end: the honest number to report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    TimeSeriesSplit,
    train_test_split,
)

from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.errors import ConfigError, DataError
from automlops.tabular.boosting_clock import trees_per_round

__all__ = ["SMALL_DATA_ROWS", "prefers_cross_validation", "VALIDATIONS", "ValidationPlan", "choose_validation", "detect_time_column", "drop_classes_left_single", "drop_single_row_classes",
           "split_test", "training_target"]

SMALL_DATA_ROWS = 1000  # always cross-validate below this
NO_BUDGET_CV_ROWS = 10_000  # without a time budget, cross-validate below this
CV_CELLS_PER_HOUR = 10_000_000  # with a budget: rows × columns affordable for CV per hour of budget
CV_MAX_ROWS = 100_000  # never cross-validate above this (a holdout of 20k rows is already steady)
Splits = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ValidationPlan:
    """A validation scheme: its kind, the scikit-learn splitter and why it was chosen."""

    kind: str
    n_splits: int
    holdout_size: float
    reason: str
    first_fold_of: str | None = None  # a holdout that is the first fold of this k-fold kind (validation_cost)

    def splitter(self, random_state: int) -> object:
        return VALIDATIONS.get(self.first_fold_of or self.kind)(self, random_state)

    def splits(self, X: pd.DataFrame, y: pd.Series | None, random_state: int) -> Splits:
        splitter = self.splitter(random_state)
        target = y if (self.first_fold_of or self.kind) in ("stratified", "holdout_stratified") else None
        splits = [(np.asarray(tr), np.asarray(va)) for tr, va in splitter.split(X, target)]  # type: ignore[attr-defined]
        return splits[:1] if self.first_fold_of else splits

    @property
    def is_single_split(self) -> bool:
        return self.kind.startswith("holdout")


VALIDATIONS: Registry[Callable[[ValidationPlan, int], object]] = Registry("validation")
VALIDATIONS.add("kfold", lambda p, rs: KFold(p.n_splits, shuffle=True, random_state=rs))
VALIDATIONS.add("stratified", lambda p, rs: StratifiedKFold(p.n_splits, shuffle=True, random_state=rs))
VALIDATIONS.add("holdout", lambda p, rs: ShuffleSplit(1, test_size=p.holdout_size, random_state=rs))
VALIDATIONS.add("holdout_stratified",
                lambda p, rs: StratifiedShuffleSplit(1, test_size=p.holdout_size, random_state=rs))
VALIDATIONS.add("timeseries", lambda p, rs: TimeSeriesSplit(p.n_splits))

USER_MODES = ("auto", "kfold", "stratified", "holdout", "timeseries")


# A holdout with fewer rows than this of the rarest class ranks models by luck: on a 4,400-row table
# with 6 % positives (~40 in the holdout) the search's winner scored 0.743 test AUC, a default
# HistGradientBoosting 0.756. Cross-validation scores every row once (~200 positives), for 5x the
# work, so it is chosen while it costs at most this many times what the size rule affords.
RARE_CLASS_HOLDOUT_ROWS = 100
RARE_CLASS_CV_FACTOR = 5.0
# With more than two classes the bar is lower: log-loss or accuracy averages over every row, so a
# class is only a problem when the holdout holds a handful of it. Measured as test log-loss, five
# folds against one holdout: Males' 12 industries (8 of the rarest in the holdout), 60 s, nine
# seeds: 1.478 vs 1.496; Vocab's 11 scores (23 of the rarest), 60 s, two seeds: 2.2214 vs 2.2226,
# a tie; Cracker's 4 brands (27 of the rarest), 30 s, three seeds: 0.6054 vs 0.5981, folds worse on all.
# Since CatBoost takes one-hot categories its first default on Males takes > 2.9 s a fold, so at 60 s
# the timing check (validation_cost.py) keeps the holdout there, and rightly: forced folds then
# scored 1.4739 against the holdout's 1.4507 (medians of seeds 0-2). The rule still reaches tables
# whose defaults are quick.
MANY_CLASS_RARE_HOLDOUT_ROWS = 20


def _min_class_count(y: pd.Series | None) -> int:
    return int(y.value_counts().min()) if y is not None and len(y) else 0


def prefers_cross_validation(n_rows: int, n_columns: int, time_budget: float | None,
                             rarest_class: int | None = None, holdout_size: float = 0.2,
                             n_classes: int = 0) -> tuple[bool, str]:
    """The size rule of ``auto`` (see the module docstring): cross-validate or hold out, and why.

    ``rarest_class`` (classification) is the row count of the rarest class: a holdout that would
    hold fewer than :data:`RARE_CLASS_HOLDOUT_ROWS` of them (two classes; with more,
    :data:`MANY_CLASS_RARE_HOLDOUT_ROWS`) cannot rank models, so cross-validation is chosen while it
    costs at most :data:`RARE_CLASS_CV_FACTOR` times what the size rule affords.
    With ``n_classes`` > 2 every cell counts once per class (a boosting round grows a tree per class).
    """
    if n_rows < SMALL_DATA_ROWS:
        return True, f"{n_rows} rows is small (< {SMALL_DATA_ROWS})"
    if time_budget is None:
        if n_rows < NO_BUDGET_CV_ROWS:
            return True, f"{n_rows} rows is small (< {NO_BUDGET_CV_ROWS:,} without a time budget)"
        return False, f"{n_rows} rows is plenty (≥ {NO_BUDGET_CV_ROWS:,})"
    per_class = trees_per_round(n_classes)
    cells, affordable = n_rows * max(n_columns, 1) * per_class, CV_CELLS_PER_HOUR * time_budget / 3600
    size = f"{n_rows:,} rows × {n_columns} columns" + (f" × {per_class} classes" if per_class > 1 else "")
    if cells < affordable and n_rows < CV_MAX_ROWS:
        return True, f"{size} = {cells:,} cells is small for a {time_budget:g} s budget (< {affordable:,.0f} cells)"
    in_holdout = int((rarest_class or 0) * holdout_size)
    too_few = RARE_CLASS_HOLDOUT_ROWS if n_classes <= 2 else MANY_CLASS_RARE_HOLDOUT_ROWS
    if (rarest_class is not None and in_holdout < too_few and n_rows < CV_MAX_ROWS
            and cells < RARE_CLASS_CV_FACTOR * affordable):
        return True, (f"a {holdout_size:.0%} holdout would hold only {in_holdout} rows of the rarest class "
                      f"(< {too_few}), too few to tell models apart")
    return False, (f"{size} = {cells:,} cells is large for a {time_budget:g} s budget "
                   f"(≥ {affordable:,.0f} cells" + (f", or ≥ {CV_MAX_ROWS:,} rows)" if n_rows >= CV_MAX_ROWS else ")"))


def choose_validation(problem: Problem, y: pd.Series | None, *, mode: str = "auto", n_splits: int = 5,
                      holdout_size: float = 0.2, n_columns: int = 1,
                      time_budget: float | None = None) -> ValidationPlan:
    """Pick the validation scheme for ``mode`` and explain the choice.

    ``n_columns`` and ``time_budget`` feed the size rule of ``auto``
    (:func:`prefers_cross_validation`): cross-validation only where the budget can afford it.
    """
    if mode not in USER_MODES:
        raise ConfigError(f"unknown validation '{mode}'; choose one of: {', '.join(USER_MODES)}")
    n_rows = len(y) if y is not None else 0
    is_cls = problem.task is TaskType.CLASSIFICATION
    if mode == "auto":
        if problem.time_column:
            kind, why = "timeseries", f"rows are ordered by the time column '{problem.time_column}', so " \
                "each fold learns on the past and is scored on the future"
        elif (small := prefers_cross_validation(n_rows, n_columns, time_budget,
                                                _min_class_count(y) if is_cls else None,
                                                holdout_size, len(problem.classes or ())))[0]:
            kind = "stratified" if is_cls else "kfold"
            why = (f"{small[1]}, so {n_splits}-fold cross-validation gives a steadier score than one holdout, "
                   "and the winner is not just the luckiest on a few hundred rows"
                   + (" (stratified: every fold keeps the class shares)" if is_cls else ""))
        else:
            kind = "holdout"
            why = (f"{small[1]}, so one {holdout_size:.0%} holdout is accurate enough and {n_splits} times "
                   "cheaper than cross-validation")
    else:
        kind, why = mode, f"{mode} validation chosen by the user"
    if kind == "stratified" and not is_cls:
        raise ConfigError("stratified validation needs a classification target; use kfold for regression")
    if kind == "holdout" and is_cls:
        kind = "holdout_stratified"
    if kind == "timeseries" and not problem.time_column:
        why += " (rows are taken in their file order as time)"
    if kind in ("stratified", "kfold", "timeseries"):
        smallest = _min_class_count(y) if kind == "stratified" else n_rows
        if smallest < n_splits:
            if smallest < 2:
                raise DataError("too few rows per class for cross-validation; every class needs at least 2 rows")
            why += f"; folds reduced from {n_splits} to {smallest} because the smallest class has {smallest} rows"
            n_splits = smallest
    return ValidationPlan(kind, n_splits, holdout_size, why)


def detect_time_column(df: pd.DataFrame, target: str | None) -> str | None:
    """A date column without gaps, mostly distinct and already sorted: the rows form a time series."""
    for col in df.columns:
        s = df[col]
        if col != target and pd.api.types.is_datetime64_any_dtype(s) and s.notna().all() \
                and s.is_monotonic_increasing and s.nunique() > 0.5 * len(s):
            return str(col)
    return None


def drop_single_row_classes(df: pd.DataFrame, positions: np.ndarray, target: str,
                            log: Callable[[str, str], None]) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop the rows of classes seen only once, saying so; unchanged if fewer than two classes would remain.

    A class with a single row can be learned from or tested on, not both: a stratified split has
    nowhere to put it, and scikit-learn refuses. AutoGluon drops such rare classes with a note
    instead of failing, and so does the studio: the model then never predicts that class, which it
    could not have learned from one example anyway. With fewer than two classes left there is
    nothing to classify, and :func:`split_test` says so.
    """
    rare = _classes_seen_once(df[target])
    if not rare:
        return df, positions
    keep = ~df[target].isin(rare).to_numpy()
    log("data", f"dropped {len(rare)} row(s) of the class(es) {_names(rare)} of '{target}': a class seen in a single "
                "row can be learned from or tested on, not both, so the model will not predict it")
    return df[keep], positions[keep]


def _classes_seen_once(y: pd.Series) -> list[Any]:
    """The classes of a single row in ``y``; none if dropping them would leave fewer than two classes."""
    counts = y.value_counts()
    rare = counts[counts < 2]
    return [] if len(counts) - len(rare) < 2 else rare.index.tolist()


def _names(classes: list[Any]) -> str:
    return ", ".join(map(str, classes[:8])) + (f" and {len(classes) - 8} more" if len(classes) > 8 else "")


def drop_classes_left_single(train: pd.DataFrame, test: pd.DataFrame, test_positions: np.ndarray, target: str,
                             log: Callable[[str, str], None]) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """After the test split: drop the classes left with a single *training* row, and their test rows.

    A class of two rows survives :func:`drop_single_row_classes`, but the stratified test split
    sends one of them to the test set; the one left cannot be both learned from and validated
    (cross-validation has nowhere to put it). Counts with a long tail (0, 1, 2 … 12 arrests, the
    rare counts once or twice each) do this routinely. Unchanged if fewer than two classes would
    remain (then :func:`choose_validation` explains what is missing).
    """
    rare = _classes_seen_once(train[target])
    if not rare:
        return train, test, test_positions
    in_test = test[target].isin(rare).to_numpy()
    log("data", f"dropped the class(es) {_names(rare)} of '{target}': after the test split each has a single "
                f"training row, too few to learn from and validate on, so the model will not predict it "
                f"({len(rare)} training row(s) and {int(in_test.sum())} test row(s) left out)")
    return train[~train[target].isin(rare)].reset_index(drop=True), test[~in_test], test_positions[~in_test]


def training_target(y: pd.Series, problem: Problem, *, test_size: float = 0.2, seed: int = 0) -> pd.Series:
    """The target of the rows a search learns from, as the engine's ``prepare`` keeps them (for previews).

    Rows without a target, single-row classes, the test rows and classes left with one training
    row are taken out in the same order as in training, so a preview of the validation plan judges
    the same rows (it may raise the same :class:`DataError`).
    """
    target = str(y.name)
    frame, positions = y.dropna().to_frame(), np.arange(int(y.notna().sum()))
    quiet: Callable[[str, str], None] = lambda *_: None  # noqa: E731 - the preview logs nothing
    is_cls = problem.task is TaskType.CLASSIFICATION
    if is_cls:
        frame, positions = drop_single_row_classes(frame, positions, target, quiet)
    train, test, _ = split_test(frame, problem, test_size=test_size, random_state=seed)
    if is_cls:
        train, _, _ = drop_classes_left_single(train, test, np.arange(len(test)), target, quiet)
    return train[target]


def split_test(df: pd.DataFrame, problem: Problem, *, test_size: float, random_state: int,
               ordered: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Cut off the final test rows (scored once, at the end). Returns train, test and the reason.

    With a time axis (``problem.time_column``, or ``ordered=True`` for time-series validation on
    rows in file order) the test rows are the *last* ones: the model is judged on the future.
    """
    if not 0 < test_size < 0.9:
        raise ConfigError(f"test_size must be between 0 and 0.9, got {test_size}")
    if problem.time_column or ordered:
        cut = int(round(len(df) * (1 - test_size)))
        order = "time" if problem.time_column else "file"
        return df.iloc[:cut], df.iloc[cut:], f"the last {test_size:.0%} of rows in {order} order are the test set"
    stratify = None
    if problem.task is TaskType.CLASSIFICATION:
        counts = df[problem.target].value_counts()
        if counts.min() < 2:
            rare = ", ".join(map(str, counts[counts < 2].index[:5]))
            raise DataError(f"class(es) {rare} of '{problem.target}' have a single row; each class needs at "
                            "least 2 rows (one to learn from, one to test on) — remove or merge them")
        stratify = df[problem.target]
    train, test = train_test_split(df, test_size=test_size, random_state=random_state, stratify=stratify)
    how = "stratified by class, " if stratify is not None else ""
    return train, test, f"a random {test_size:.0%} of rows ({how}{len(test)} rows) is kept aside as the test set"
