"""What are we predicting? The :class:`Problem` answers that once, for every engine.

``infer_problem`` looks at the target column and proposes a task with the reason written
out, so a student sees *why*: text labels or a handful of whole numbers mean classification;
many distinct numbers mean regression; no target at all means clustering (or anomaly
detection if asked). It also picks a sensible default metric for the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import pandas as pd

from automlops.errors import ConfigError, DataError

__all__ = ["DEFAULT_METRICS", "VISION_TASKS", "Problem", "TaskType", "infer_problem"]


class TaskType(StrEnum):
    """The kinds of problems the studio knows: five on tables, three on images."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"
    CLUSTERING = "clustering"
    TIMESERIES = "timeseries"
    ANOMALY = "anomaly"
    IMAGE_CLASSIFICATION = "image_classification"  # one label per image
    SEGMENTATION = "segmentation"  # one label per pixel
    DETECTION = "detection"  # boxes with a label each

    @property
    def supervised(self) -> bool:
        return self in (TaskType.CLASSIFICATION, TaskType.REGRESSION, TaskType.TIMESERIES) or self.vision

    @property
    def vision(self) -> bool:
        """True for the image tasks (trained by :mod:`automlops.vision`, not from a table)."""
        return self in VISION_TASKS

    @classmethod
    def tabular(cls) -> list[TaskType]:
        """The tasks trained from a table (what ``automlops train --task`` offers)."""
        return [t for t in cls if not t.vision]

    @classmethod
    def parse(cls, value: str | TaskType) -> TaskType:
        if isinstance(value, TaskType):
            return value
        aliases = {"time_series": "timeseries", "time-series": "timeseries", "anomaly_detection": "anomaly"}
        key = aliases.get(value.strip().lower(), value.strip().lower())
        try:
            return cls(key)
        except ValueError:
            known = ", ".join(t.value for t in cls)
            raise ConfigError(f"unknown task '{value}'; choose one of: {known}") from None


VISION_TASKS = frozenset({TaskType.IMAGE_CLASSIFICATION, TaskType.SEGMENTATION, TaskType.DETECTION})


@dataclass(frozen=True)
class Problem:
    """A fully specified learning problem; engines branch on this, never on loose strings."""

    task: TaskType
    target: str | None
    metric: str
    direction: str  # "maximize" | "minimize"
    classes: tuple[object, ...] = ()
    time_column: str | None = None
    horizon: int | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    count_target: bool = False  # regression whose target holds only whole numbers >= 0 (bikers an hour, prices)

    @property
    def is_binary(self) -> bool:
        return self.task is TaskType.CLASSIFICATION and len(self.classes) == 2

    def with_metric(self, metric: str) -> Problem:
        from automlops.core.metrics import get_metric

        spec = get_metric(metric, self.task)
        return replace(self, metric=spec.name, direction=spec.direction)


# Defaults: ROC-AUC for two classes (threshold-free), log-loss for several (a proper scoring
# rule: it rewards honest probabilities and separates models that tie on accuracy), RMSE for
# numbers (same unit as the target).
DEFAULT_METRICS = {
    ("classification", True): "roc_auc",
    ("classification", False): "log_loss",
    ("regression", True): "rmse",
    ("regression", False): "rmse",
    ("timeseries", True): "rmse",
    ("timeseries", False): "rmse",
}

MAX_CLASSES_FOR_INTEGERS = 20


def _classify_target(y: pd.Series) -> tuple[TaskType, str]:
    n_unique = int(y.nunique())
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return TaskType.CLASSIFICATION, f"target '{y.name}' holds labels ({n_unique} distinct values)"
    values = y.to_numpy(dtype=float)
    whole = bool(((values % 1) == 0).all())
    if whole and n_unique <= MAX_CLASSES_FOR_INTEGERS and n_unique <= max(2, 0.05 * len(y)):
        return TaskType.CLASSIFICATION, (
            f"target '{y.name}' has only {n_unique} distinct whole numbers, so they look like classes"
        )
    kind = "whole numbers" if whole else "real numbers"
    return TaskType.REGRESSION, f"target '{y.name}' has {n_unique} distinct {kind}, so it is a quantity"


def _unsupervised(chosen: TaskType | None, metric: str | None) -> Problem:
    """The problem when no target column was given."""
    reasons: list[str] = []
    if chosen is None:
        chosen = TaskType.CLUSTERING
        reasons.append("no target column was given, so the task is clustering (finding groups)")
    elif chosen.supervised:
        raise ConfigError(f"the {chosen.value} task needs a target column")
    return Problem(chosen, None, metric or "silhouette", "maximize", reasons=tuple(reasons))


def _usable_target(df: pd.DataFrame, target: str) -> pd.Series:
    """The target's non-missing values, or a DataError saying why there is nothing to learn."""
    if target not in df.columns:
        near = [str(c) for c in df.columns if str(c).strip().casefold() == str(target).strip().casefold()]
        if near:
            raise DataError(f"target column '{target}' is not in the data; did you mean '{near[0]}'?")
        sample = ", ".join(map(str, list(df.columns)[:10]))
        raise DataError(f"target column '{target}' is not in the data; columns are: {sample}")
    y = df[target]
    if pd.api.types.is_datetime64_any_dtype(y):
        raise DataError(f"target column '{target}' holds dates and times, which are not predicted as a target; to "
                        f"forecast values over time use --task timeseries --time-column {target} and a number column "
                        "as --target")
    n_missing = int(y.isna().sum())
    if n_missing == len(y):
        raise DataError(f"target column '{target}' is empty (all {n_missing} values are missing)")
    y = y.dropna()
    if y.nunique() < 2:
        raise DataError(f"target column '{target}' has a single value; there is nothing to learn")
    return y


def _classes(y: pd.Series, target: str) -> tuple[object, ...]:
    classes = tuple(sorted(y.unique().tolist(), key=lambda v: (str(type(v)), v)))
    if len(classes) > 200:
        raise DataError(f"target column '{target}' has {len(classes)} classes; that looks like a quantity or an ID")
    return classes


def infer_problem(
    df: pd.DataFrame,
    target: str | None,
    *,
    task: str | TaskType | None = None,
    metric: str | None = None,
    time_column: str | None = None,
    horizon: int | None = None,
) -> Problem:
    """Propose a :class:`Problem` for ``df`` and record why each choice was made."""
    from automlops.core.metrics import get_metric

    chosen = TaskType.parse(task) if task is not None else None
    if target is None or target == "":
        return _unsupervised(chosen, metric)
    y = _usable_target(df, target)
    inferred, why = _classify_target(y)
    if chosen is None:
        chosen = inferred
        reasons = [f"task inferred as {chosen.value}: {why}"]
    else:
        reasons = [f"task set to {chosen.value} by the user (inference said {inferred.value}: {why})"]
    if chosen is TaskType.REGRESSION and not pd.api.types.is_numeric_dtype(y):
        raise DataError(f"target column '{target}' holds text, so it cannot be a regression target")
    if chosen in (TaskType.CLUSTERING, TaskType.ANOMALY):
        raise ConfigError(f"the {chosen.value} task does not use a target column; leave it empty")
    classes = _classes(y, target) if chosen is TaskType.CLASSIFICATION else ()
    binary = len(classes) == 2 if classes else True
    if metric is None:
        metric = DEFAULT_METRICS[(chosen.value, binary)]
        reasons.append(f"metric {metric} chosen by default for {'binary ' if binary and classes else ''}"
                       f"{chosen.value}: {get_metric(metric).explanation}")
    spec = get_metric(metric, chosen)
    if spec.name == "mape" and (zeros := int((pd.to_numeric(y, errors="coerce") == 0).sum())):
        raise DataError(f"MAPE divides each error by its true value, and target '{target}' is 0 in {zeros} row(s): "
                        "the metric is undefined there; choose mae, rmse or r2")
    return Problem(chosen, target, spec.name, spec.direction, classes, time_column, horizon, tuple(reasons))
