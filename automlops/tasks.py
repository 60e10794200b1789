"""Which engine trains each task, and how each kind of saved model answers a table.

The studio knows five tasks. Classification and regression share the tabular engine (behind
:class:`~automlops.tabular.runner.AutoMLRunner`); forecasting, clustering and anomaly detection
each have their own :class:`~automlops.search.engine.Engine`. The CLI, the dashboard and the API
never branch on a task name to find them: they look the task up here.

* :data:`TASK_ENGINES` – ``task -> TaskEngine``: builds the engine from the user's
  :class:`TrainOptions` (the engine's module is imported only then, so ``automlops --help`` does
  not pay for statsforecast or PyOD) and says which options the task needs or refuses.
* :data:`ANSWERS` – ``kind -> "module:function"``: the function that turns a saved model of that
  kind and a table into its answer columns (``prediction``; ``score`` + ``is_anomaly``; the
  forecast with its intervals). The kind is what ``meta.json`` says the model is.
* :data:`FIGURES` – ``kind -> "module:function"``: the plots of such a model (forecast with its
  intervals, cluster projection, anomaly-score histogram), drawn from ``meta.json`` alone, so the
  dashboard shows them for a model saved months ago as for one trained a second ago.

Adding a task is two registrations, not a new branch in every surface.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from automlops.core.registry import Registry
from automlops.errors import ConfigError

__all__ = ["ANSWERS", "ENGINE_TASKS", "FIGURES", "TASK_ENGINES", "TaskEngine", "TrainOptions", "answer_table",
           "build_engine", "default_model_name", "load_saved_model", "metric_direction", "model_kind", "option_flag",
           "parse_contamination", "report_figures"]


@dataclass(frozen=True)
class TrainOptions:
    """What a user can ask of a training, whatever the task (unset options stay ``None``)."""

    target: str | None = None
    time_column: str | None = None
    series_id: str | None = None
    horizon: int | None = None
    freq: str | None = None
    contamination: float | str = "auto"
    label: str | None = None
    select_by_label: bool = False
    reference: str | None = None
    n_clusters: int | None = None
    metric: str | None = None
    preset: str = "medium"
    models: Sequence[str] | None = None
    seed: int = 0


@dataclass(frozen=True)
class TaskEngine:
    """How to build one task's engine, and which options it needs (``requires``) or has no use for."""

    task: str
    module: str  # where the engine class lives, imported on first use
    cls: str
    build_kwargs: Callable[[TrainOptions], dict[str, Any]]
    direction: str = "maximize"  # of the engine's default metric (for a progress chart drawn before any result)
    requires: Mapping[str, str] = field(default_factory=dict)  # option -> why it is needed
    refuses: Mapping[str, str] = field(default_factory=dict)  # option -> what to use instead
    warm_imports: tuple[str, ...] = ()  # libraries its trials use: imported before the search (see build)
    name_suffix: str = ""  # added to the data's name to name its model by default (see default_model_name)

    def check(self, options: TrainOptions) -> None:
        """Refuse a missing or misplaced option before any work, naming the flag to use."""
        for option, why in self.requires.items():
            if getattr(options, option) in (None, ""):
                raise ConfigError(f"--task {self.task} needs {option_flag(option)}: {why}")
        for option, instead in self.refuses.items():
            if getattr(options, option) not in (None, "", False, "auto"):  # "auto": --contamination's default
                raise ConfigError(f"{option_flag(option)} does not apply to --task {self.task}: {instead}")

    def engine_class(self) -> Any:
        return getattr(importlib.import_module(self.module), self.cls)  # type: ignore[no-any-return]

    def build(self, options: TrainOptions) -> Any:
        """The configured engine, with the libraries its trials need already imported.

        A library imported for the first time *inside* a trial is imported under the trial's
        deadline: a watchdog that stops the trial mid-import leaves the module half-initialised
        for every later trial (seen with statsforecast → statsmodels → patsy on a loaded machine).
        Importing them here, before the search, takes the same time once and nothing can break it.
        """
        self.check(options)
        engine = self.engine_class()(**self.build_kwargs(options))
        for module in self.warm_imports:
            importlib.import_module(module)
        return engine


OPTION_FLAGS = {"n_clusters": "--clusters"}  # options whose command-line flag is not their name


def option_flag(option: str) -> str:
    """The command-line flag of a :class:`TrainOptions` field (``series_id`` -> ``--series-id``)."""
    return OPTION_FLAGS.get(option, "--" + option.replace("_", "-"))


def parse_contamination(value: str | float) -> float | str:
    """``"auto"`` or a share of anomalies in (0, 0.5]: more than half the rows cannot be the exception."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"contamination must be 'auto' or a number in (0, 0.5], got {value!r}") from None
    if not 0.0 < share <= 0.5:
        raise ConfigError(f"contamination must be in (0, 0.5] (the expected share of anomalies), got {share:g}")
    return share


_NOT_SUPERVISED = {"time_column": "only forecasting reads a time column", "series_id": "only forecasting has series",
                   "horizon": "only forecasting has a horizon", "freq": "only forecasting has a frequency"}

_ANOMALY_ONLY = {"contamination": "only anomaly detection has a share of anomalies (--task anomaly)",
                 "select_by_label": "only anomaly detection selects by known labels (--task anomaly --label COL)"}

TASK_ENGINES: Registry[TaskEngine] = Registry("task engine")
TASK_ENGINES.add("timeseries", TaskEngine(
    "timeseries", "automlops.forecasting", "ForecastingEngine",
    lambda o: {"target": o.target, "time_column": o.time_column, "series_id": o.series_id, "horizon": o.horizon,
               "freq": o.freq, "metric": o.metric, "preset": o.preset, "models": o.models, "seed": o.seed},
    direction="minimize", requires={"target": "the column to forecast", "time_column": "the column that says when each value was seen"},
    refuses={"label": "forecasting has no anomaly labels", "reference": "forecasting has no reference groups",
             "n_clusters": "only clustering has clusters", **_ANOMALY_ONLY},
    warm_imports=("statsforecast.models", "mlforecast", "lightgbm", "xgboost")))
TASK_ENGINES.add("clustering", TaskEngine(
    "clustering", "automlops.clustering", "ClusteringEngine",
    lambda o: {"reference": o.reference, "n_clusters": o.n_clusters, "metric": o.metric or "silhouette",
               "preset": o.preset, "models": o.models, "seed": o.seed},
    refuses={"target": "clustering has no target; give known groups with --reference COL to compare against",
             "label": "use --reference COL for known groups", **_NOT_SUPERVISED, **_ANOMALY_ONLY},
    name_suffix="_clusters"))
TASK_ENGINES.add("anomaly", TaskEngine(
    "anomaly", "automlops.anomaly", "AnomalyEngine",
    lambda o: {"label": o.label, "contamination": parse_contamination(o.contamination),
               "select_by_label": o.select_by_label, "metric": o.metric, "preset": o.preset, "models": o.models,
               "seed": o.seed},
    refuses={"target": "anomaly detection has no target; a column of known anomalies is --label COL",
             "reference": "a column of known anomalies is --label COL", "n_clusters": "only clustering has clusters",
             **_NOT_SUPERVISED},
    warm_imports=tuple(f"pyod.models.{m}" for m in ("iforest", "ecod", "copod", "lof", "knn", "ocsvm", "hbos",
                                                    "pca", "gmm", "inne")), name_suffix="_anomalies"))


def default_model_name(dataset: str, task: str | None) -> str:
    """The name a model is saved under when none is given: its data's, plus the task's suffix, if it has one.

    A table often has a classifier *and* a clustering or an anomaly detector. Under one name, the second
    would be the classifier's next version, and an API serving that name would answer cluster numbers
    or anomaly scores from then on. So ``iris`` clustered is ``iris_clusters``, and ``breast_cancer``'s
    anomaly detector ``breast_cancer_anomalies``; a forecaster keeps its data's name (a series table
    rarely has another model). Names are at most 64 characters: a long data name is cut to fit.
    """
    suffix = TASK_ENGINES.get(task).name_suffix if task is not None and task in TASK_ENGINES else ""
    return dataset[: 64 - len(suffix)] + suffix


def metric_direction(task: str | None, metric: str | None) -> str:
    """"maximize" or "minimize" for ``metric`` (the task's default metric when ``None``)."""
    from automlops.core.metrics import get_metric

    if task in TASK_ENGINES:
        entry = TASK_ENGINES.get(str(task))
        return str(entry.engine_class().metrics.get(metric).direction) if metric else entry.direction
    return get_metric(metric).direction if metric else "maximize"


ENGINE_TASKS = tuple(TASK_ENGINES.names())  # the tasks trained by an engine of their own


def build_engine(task: str, options: TrainOptions) -> Any:
    """The engine for ``task`` (``timeseries``, ``clustering`` or ``anomaly``), configured by ``options``."""
    entry = TASK_ENGINES.get(task)
    entry.check(options)  # a misplaced option is named before what it would need
    if options.select_by_label and not options.label:
        raise ConfigError("--select-by-label needs --label COL (the column that marks known anomalies)")
    return entry.build(options)


ANSWERS: Registry[str] = Registry("model kind")
ANSWERS.add("clustering", "automlops.clustering:predict_table")
ANSWERS.add("anomaly", "automlops.anomaly:predict_table")
ANSWERS.add("forecasting", "automlops.forecasting:predict_table")


def _function(path: str) -> Any:
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


def model_kind(meta: Mapping[str, Any]) -> str:
    """The kind of a saved model, from its ``meta.json`` (versions saved before kinds existed are tabular)."""
    return str(meta.get("kind") or "tabular")


def load_saved_model(ref: str, *, settings: Any = None) -> Any:
    """A saved model of any kind (``NAME`` or ``NAME@vN``), verified and loaded by the model store.

    The store rebuilds an image model from its architecture's registry entry, which the vision
    engine adds when :mod:`automlops.vision.zoo` is imported (no torch, but ~0.7 s): it is imported
    only when the version's ``meta.json`` says the model is a vision one.
    """
    from automlops.mlops.store import ModelStore, parse_model_ref

    store = ModelStore(settings=settings)
    name, version = store.resolve(*parse_model_ref(ref))
    if any(v.version == version and model_kind(v.meta) == "vision" for v in store.versions(name)):
        import automlops.vision.zoo  # noqa: F401 - registers the architectures the store rebuilds

    return store.load(name, version)


def answer_table(model: Any, meta: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """The answer columns of a non-tabular model for ``frame`` (see :data:`ANSWERS`)."""
    answer: Callable[[Any, dict[str, Any], pd.DataFrame], pd.DataFrame] = _function(ANSWERS.get(model_kind(meta)))
    return answer(model, meta, frame)


FIGURES: Registry[str] = Registry("model kind with figures")
FIGURES.add("clustering", "automlops.clustering:figures")
FIGURES.add("anomaly", "automlops.anomaly:figures")
FIGURES.add("forecasting", "automlops.forecasting:figures")
FIGURES.add("vision", "automlops.vision.plots:figures")


def report_figures(meta: dict[str, Any]) -> dict[str, Any]:
    """The plots of a saved model of a non-tabular kind, drawn from its ``meta.json`` alone (plotly figures)."""
    kind = model_kind(meta)
    return dict(_function(FIGURES.get(kind))(meta)) if kind in FIGURES else {}
