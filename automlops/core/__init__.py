"""Core vocabulary shared by every engine: tasks, problems, metrics and registries."""

from __future__ import annotations

from automlops.core.metrics import METRICS, MetricSpec, get_metric, score_all
from automlops.core.problem import Problem, TaskType, infer_problem
from automlops.core.registry import Registry

__all__ = [
    "METRICS",
    "MetricSpec",
    "Problem",
    "Registry",
    "TaskType",
    "get_metric",
    "infer_problem",
    "score_all",
]
