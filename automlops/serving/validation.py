"""Checking request rows against the model's saved feature schema.

A model only works on rows shaped like the ones it was trained on. ``meta.json`` records that
shape (the *feature schema*: each column's name, kind, dtype, whether it may be missing and,
for categorical columns, the categories seen in training). Before a row reaches the pipeline
this module checks it and answers with a precise, per-field message instead of a stack trace:

* a required column is **missing** → 422;
* a column the model does not know is **ignored** (with a warning) or **rejected** (422),
  per ``API_UNKNOWN_COLUMNS``; columns dropped at training time and the target are known and
  always ignored;
* a value of the **wrong type** (text in a numeric column, a list anywhere) → 422;
* a **missing value** (``null``) in a column that had none in training → 422, unless the model
  fills missing values itself (the studio's own models: ``imputed`` in the schema), which it then
  does, with a warning; an uploaded model makes no such promise;
* a number beyond ±``MAX_NUMBER`` (10^15) → 422: scaling, distances or probabilities computed
  from such values overflow to infinity inside the model, which then cannot answer;
* an **unseen category** is accepted and handled the way the pipeline handles it (one-hot:
  all zeros; ordinal: "unknown"; target encoding: the overall mean), with a warning; in a column
  that was ``True``/``False`` in training, ``1``/``0`` and ``yes``/``no`` are read as booleans
  (:mod:`automlops.serving.booleans`), with a warning;
* a **date** is ISO 8601 (``2001-04-23``, with or without a time and an offset) or, for a model
  whose training CSV wrote its dates ``23/04/2001`` (``dayfirst`` in the schema: the order training
  read them in), written that way too. ``09/11/2001`` reads two ways: it is read in training's order,
  unless the values themselves say otherwise (a ``23`` first can only be a day), which is then
  followed, with a warning. A date pandas cannot hold (before 1677 or after 2262) → 422, saying so.

``automlops predict`` runs the same checks on the rows of a CSV (:func:`prepare_frame`), so the
command line refuses, and warns about, what the API does.

It is also the hot path of ``/predict``, so it works column by column on whole lists
(``zip(*rows)``, ``numpy``) rather than value by value, and only walks single values to write
the error message once something is known to be wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

from automlops.core.features import DATETIME, FEATURE_KINDS, NUMERIC
from automlops.errors import ModelError
from automlops.serving.booleans import BOOLEAN_CATEGORIES, read_booleans
from automlops.serving.dates import read_dates

__all__ = ["KINDS", "MAX_NUMBER", "Feature", "FeatureSchema", "FieldError", "PreparedRows", "RowsError",
           "prepare_frame", "prepare_rows"]

KINDS = FEATURE_KINDS  # the words training writes into meta.json (one definition, in core)
MAX_FIELD_ERRORS = 50
MAX_NUMBER = 1e15  # the documented range of numeric columns (also in /openapi.json)
_NUMBER_TYPES = frozenset({int, float, type(None)})
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_TEXT_TYPES = frozenset({str, type(None)})


@dataclass(frozen=True)
class FieldError:
    """One problem with one value (``row`` is None when it concerns a whole column)."""

    field: str
    message: str
    row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "row": self.row, "message": self.message}


class RowsError(ValueError):
    """The request's rows do not fit the schema; ``fields`` says where."""

    def __init__(self, message: str, fields: Sequence[FieldError]) -> None:
        super().__init__(message)
        self.fields = list(fields)[:MAX_FIELD_ERRORS]


@dataclass(frozen=True)
class Feature:
    """One input column as the model expects it."""

    name: str
    kind: str
    dtype: str
    nullable: bool  # a missing value is accepted (training had some, or the model fills them: ``imputed``)
    categories: frozenset[str] | None = None  # as text, the way the pipeline compares them
    filled: bool = False  # accepted though training had none: the model fills it, and the answer says so
    dayfirst: bool | None = None  # dates: the day/month order training read them in (None: not recorded)


@dataclass(frozen=True)
class FeatureSchema:
    """The validated ``feature_schema`` of a model's ``meta.json``."""

    features: tuple[Feature, ...]
    ignored: frozenset[str] = frozenset()  # dropped at training time, or the target

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def all_numeric(self) -> bool:
        return all(f.kind == NUMERIC for f in self.features)

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> FeatureSchema:
        """Parse and check ``meta["feature_schema"]``; ModelError says what is wrong with it."""
        raw = meta.get("feature_schema")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("features"), list) or not raw["features"]:
            raise ModelError("meta.json has no usable feature_schema (a non-empty 'features' list is required)")
        features = [_parse_feature(i, spec) for i, spec in enumerate(raw["features"])]
        names = [f.name for f in features]
        if len(set(names)) != len(names):
            raise ModelError("meta.json feature_schema names a column twice")
        declared = meta.get("input_columns")
        if declared is not None and list(declared) != names:
            raise ModelError("meta.json input_columns does not match feature_schema")
        dropped = raw.get("dropped") or {}
        if not isinstance(dropped, Mapping):
            raise ModelError("meta.json feature_schema 'dropped' must be an object")
        ignored = {str(c) for c in dropped} | ({str(meta["target"])} if meta.get("target") else set())
        return cls(tuple(features), frozenset(ignored - set(names)))

    def example_row(self) -> dict[str, Any]:
        """A plausible row (first category, 0 for numbers): used to smoke-test a model before serving it."""
        row: dict[str, Any] = {}
        for f in self.features:
            if f.kind == NUMERIC:
                row[f.name] = 0.0
            elif f.kind == DATETIME:
                row[f.name] = "2000-01-01"
            else:
                row[f.name] = min(f.categories) if f.categories else "example"
        return row


def _parse_feature(index: int, spec: Any) -> Feature:
    if not isinstance(spec, Mapping):
        raise ModelError(f"meta.json feature_schema entry {index} is not an object")
    name, kind, nullable = spec.get("name"), spec.get("kind"), spec.get("nullable")
    if not isinstance(name, str) or not name:
        raise ModelError(f"meta.json feature_schema entry {index} has no column name")
    if kind not in KINDS:
        raise ModelError(f"meta.json feature '{name}' has unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(nullable, bool):
        raise ModelError(f"meta.json feature '{name}' does not say whether it is nullable")
    categories = spec.get("categories")
    if categories is not None and not isinstance(categories, list):
        raise ModelError(f"meta.json feature '{name}' has categories that are not a list")
    cats = frozenset(str(c) for c in categories) if categories is not None else None
    imputed, dayfirst = spec.get("imputed", False), spec.get("dayfirst")
    if not isinstance(imputed, bool):
        raise ModelError(f"meta.json feature '{name}' has an 'imputed' flag that is not true or false")
    if dayfirst is not None and not isinstance(dayfirst, bool):
        raise ModelError(f"meta.json feature '{name}' has a 'dayfirst' flag that is not true or false")
    return Feature(name, str(kind), str(spec.get("dtype", "")), nullable or imputed, cats, imputed and not nullable,
                   dayfirst)


@dataclass
class PreparedRows:
    """Checked rows: ``columns`` maps each model column to a column of values, in schema order."""

    columns: dict[str, Any]
    rows: list[Sequence[Any]]  # the raw values, schema order (for the prediction log)
    n_rows: int
    warnings: list[str] = field(default_factory=list)
    matrix: Any = None  # all-numeric schemas: one float64 (n, d) array, cheaper to wrap in a DataFrame


def _type_name(value: Any) -> str:
    return {str: "text", bool: "a boolean", type(None): "null", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _rows_from_records(records: Sequence[Any], schema: FeatureSchema, unknown: str,
                       warnings: list[str]) -> list[Sequence[Any]]:
    columns = schema.columns
    required = frozenset(columns)
    errors: list[FieldError] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            errors.append(FieldError("records", "each record must be an object {column: value}", i))
        elif not required <= rec.keys():
            errors.extend(FieldError(c, f"required column '{c}' is missing", i) for c in columns if c not in rec)
        if len(errors) >= MAX_FIELD_ERRORS:
            break
    if errors:
        raise RowsError("some records lack required columns", errors)
    if any(len(rec) != len(columns) for rec in records):
        extra = set().union(*(rec.keys() - required for rec in records))
        _unknown_columns(extra, schema, unknown, warnings)
    getter = itemgetter(*columns)
    if len(columns) == 1:
        return [(v,) for v in map(getter, records)]
    return list(map(getter, records))


def _rows_from_split(names: Sequence[str], data: Sequence[Any], schema: FeatureSchema, unknown: str,
                     warnings: list[str]) -> list[Sequence[Any]]:
    if len(set(names)) != len(names):
        raise RowsError("a column is named twice", [FieldError("columns", "column names must be unique")])
    width = len(names)
    bad = [FieldError("data", f"row has {len(r) if isinstance(r, list) else 'no'} values for {width} columns", i)
           for i, r in enumerate(data) if not isinstance(r, list) or len(r) != width]
    if bad:
        raise RowsError("every row of 'data' must have one value per column", bad)
    position = {c: i for i, c in enumerate(names)}
    missing = [c for c in schema.columns if c not in position]
    if missing:
        raise RowsError("required columns are missing",
                        [FieldError(c, f"required column '{c}' is missing") for c in missing])
    _unknown_columns(set(names) - set(schema.columns), schema, unknown, warnings)
    order = [position[c] for c in schema.columns]
    if order == list(range(width)):
        return list(data)
    getter = itemgetter(*order)
    return [(v,) for v in map(getter, data)] if len(order) == 1 else list(map(getter, data))


def _unknown_columns(extra: set[str], schema: FeatureSchema, unknown: str, warnings: list[str]) -> None:
    strange = sorted(extra - schema.ignored)
    if strange and unknown == "reject":
        raise RowsError("unknown columns", [FieldError(c, f"column '{c}' is not a feature of this model")
                                            for c in strange])
    if strange:
        shown = ", ".join(f"'{c}'" for c in strange[:10]) + (" ..." if len(strange) > 10 else "")
        warnings.append(f"ignored {len(strange)} column(s) the model does not use: {shown}")


def _numeric(feature: Feature, values: Sequence[Any], errors: list[FieldError]) -> Any:
    import numpy as np

    if not set(map(type, values)) <= _NUMBER_TYPES:
        errors.extend(FieldError(feature.name, f"expected a number, got {_type_name(v)}", i)
                      for i, v in enumerate(values) if type(v) not in _NUMBER_TYPES)
        if not feature.nullable:
            errors.extend(FieldError(feature.name, "missing value (null) not allowed: this column had none in "
                                     "training", i) for i, v in enumerate(values) if v is None)
        return None
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:
        errors.extend(FieldError(feature.name, "number too large", i) for i, v in enumerate(values)
                      if isinstance(v, int) and abs(v) > 1e308)
        return None
    finite = np.isfinite(array)
    too_big = finite & (np.abs(array) > MAX_NUMBER)
    errors.extend(FieldError(feature.name, f"number too large for the model: keep it within ±{MAX_NUMBER:g}",
                             int(i)) for i in np.flatnonzero(too_big))
    if not finite.all():
        nan = np.isnan(array)
        errors.extend(FieldError(feature.name, "infinite numbers are not allowed", int(i))
                      for i in np.flatnonzero(~finite & ~nan))
        if not feature.nullable:
            errors.extend(FieldError(feature.name, "missing value (null/NaN) not allowed: this column had none "
                                     "in training", int(i)) for i in np.flatnonzero(nan))
    return array


def _categorical(feature: Feature, values: Sequence[Any], all_errors: list[FieldError],
                 warnings: list[str]) -> Any:
    errors: list[FieldError] = []
    allowed = _TEXT_TYPES if feature.kind == DATETIME else _SCALAR_TYPES
    kinds = set(map(type, values))
    if not kinds <= allowed:
        expected = "an ISO 8601 date/time text" if feature.kind == DATETIME else "text or a number"
        errors.extend(FieldError(feature.name, f"expected {expected}, got {_type_name(v)}", i)
                      for i, v in enumerate(values) if type(v) not in allowed)
    is_missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in values] \
        if (type(None) in kinds or float in kinds) else None
    if is_missing and not feature.nullable:
        errors.extend(FieldError(feature.name, "missing value (null) not allowed: this column had none in "
                                 "training", i) for i, m in enumerate(is_missing) if m)
    if errors:
        all_errors.extend(errors)
        return None
    if feature.kind == DATETIME:
        return _dates(feature, values, all_errors, warnings)
    if feature.categories == BOOLEAN_CATEGORIES:  # a flag in training: 1/0, yes/no... read as True/False
        values = read_booleans(feature.name, values, warnings)
    if feature.categories is not None:
        unseen = {str(v) for v in set(values) if v is not None} - feature.categories
        unseen.discard("nan")
        if unseen:
            shown = ", ".join(repr(u) for u in sorted(unseen)[:5]) + (" ..." if len(unseen) > 5 else "")
            what = f"category {shown} was" if len(unseen) == 1 else f"categories {shown} were"
            warnings.append(f"column '{feature.name}': {what} not seen in training; the model treats "
                            f"{'it' if len(unseen) == 1 else 'them'} as unknown")
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _dates(feature: Feature, values: Sequence[Any], errors: list[FieldError], warnings: list[str]) -> Any:
    """One column's date texts as offset-free UTC ``datetime64`` values (:func:`~automlops.serving.dates.read_dates`)."""
    parsed, bad = read_dates(feature.name, feature.dayfirst, values, warnings)
    errors.extend(FieldError(feature.name, message, row) for row, message in bad)
    return parsed


def prepare_rows(payload: Mapping[str, Any], schema: FeatureSchema, *, unknown: str = "ignore") -> PreparedRows:
    """Turn ``{"records": [...]}`` or ``{"columns": [...], "data": [[...]]}`` into checked columns.

    Raises :class:`RowsError` (with one :class:`FieldError` per problem) when the rows do not fit.
    """
    warnings: list[str] = []
    if payload.get("records") is not None:
        rows = _rows_from_records(payload["records"], schema, unknown, warnings)
    else:
        rows = _rows_from_split(payload.get("columns") or [], payload.get("data") or [], schema, unknown, warnings)
    if schema.all_numeric and rows:
        prepared = _all_numeric(schema, rows)
        if prepared is not None:
            import numpy as np

            gaps = np.isnan(prepared).any(axis=0)
            warnings.extend(_filled(f) for f, gap in zip(schema.features, gaps, strict=True) if f.filled and gap)
            return PreparedRows({}, rows, len(rows), warnings, matrix=prepared)
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in schema.features]
    return PreparedRows(_check_columns(schema, by_column, warnings), rows, len(rows), warnings)


def prepare_frame(frame: Any, schema: FeatureSchema) -> PreparedRows:
    """The rows of a table read from a CSV, checked as :func:`prepare_rows` checks a request's.

    Columns the model does not use are ignored (with the same warning). A numeric column the CSV
    reader left as text because of one bad cell is read cell by cell, so that only the cells that are
    not numbers are reported; date columns should hold their text as written (see :func:`_dates`).
    """
    missing = [c for c in schema.columns if c not in frame.columns]
    if missing:
        raise RowsError("required columns are missing",
                        [FieldError(c, f"required column '{c}' is missing") for c in missing])
    warnings: list[str] = []
    _unknown_columns({str(c) for c in frame.columns} - set(schema.columns), schema, "ignore", warnings)
    by_column = [_cells(frame[f.name], f) for f in schema.features]
    return PreparedRows(_check_columns(schema, by_column, warnings), [], len(frame), warnings)


def _cells(values: Any, feature: Feature) -> list[Any]:
    """A table's column as the Python values a JSON request holds (a missing value is None)."""
    import pandas as pd

    if feature.kind == NUMERIC and values.dtype == object:
        numbers = pd.to_numeric(values, errors="coerce")
        values = values.where(numbers.isna(), numbers)  # text that is a number is that number
    elif feature.kind == DATETIME and pd.api.types.is_datetime64_any_dtype(values):
        values = values.map(lambda t: t.isoformat(), na_action="ignore")
    return values.astype(object).where(values.notna(), None).tolist()


def _check_columns(schema: FeatureSchema, by_column: Sequence[Sequence[Any]], warnings: list[str]) -> dict[str, Any]:
    """Each feature's values checked and converted (numbers, categories, dates); RowsError lists what does not fit."""
    errors: list[FieldError] = []
    columns: dict[str, Any] = {}
    for feature, values in zip(schema.features, by_column, strict=True):
        if feature.filled and any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
            warnings.append(_filled(feature))
        if feature.kind == NUMERIC:
            columns[feature.name] = _numeric(feature, values, errors)
        else:
            columns[feature.name] = _categorical(feature, values, errors, warnings)
        if len(errors) >= MAX_FIELD_ERRORS:
            break
    if errors:
        errors.sort(key=lambda e: (e.row if e.row is not None else -1, e.field))
        raise RowsError(f"{len(errors)} value(s) do not fit the model's schema"
                        if len(errors) < MAX_FIELD_ERRORS else "many values do not fit the model's schema", errors)
    return columns


def _filled(feature: Feature) -> str:
    return (f"column '{feature.name}': a missing value was filled in as the model fills them (this column had "
            "none in training)")


def _all_numeric(schema: FeatureSchema, rows: list[Sequence[Any]]) -> Any:
    """Fast path for all-number schemas: one 2-D float array; None if a closer look is needed."""
    import numpy as np

    if not set(map(type, chain.from_iterable(rows))) <= _NUMBER_TYPES:
        return None
    try:
        matrix = np.array(rows, dtype=np.float64)
    except (OverflowError, ValueError):
        return None
    if (np.abs(matrix) > MAX_NUMBER).any():  # NaN compares False; inf and huge numbers go the column way
        return None
    if not np.isfinite(matrix).all():
        nan = np.isnan(matrix)
        allowed = np.array([f.nullable for f in schema.features])
        if np.isinf(matrix).any() or (nan.any(axis=0) & ~allowed).any():
            return None  # the column-wise path explains which values are not allowed
    return matrix
