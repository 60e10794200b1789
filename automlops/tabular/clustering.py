"""``ClusteringEngine``: grouping rows without a target – a second engine of the same search driver.

Clustering has no right answer to score against, so candidates are judged by how well separated
their groups are:

* **silhouette** (the default, −1…1, higher is better) – for each row, how much closer it is to its
  own cluster than to the nearest other one, averaged. It needs the features themselves, which is
  why metrics read a :class:`~automlops.core.metrics.MetricContext` rather than only ``(y, pred)``.
  It costs O(n²), so above ``SILHOUETTE_SAMPLE`` rows it is computed on a random sample;
* **Calinski–Harabasz** (higher is better) – between-cluster spread over within-cluster spread;
* **Davies–Bouldin** (lower is better) – average similarity of each cluster to its closest twin.

This engine is deliberately small – KMeans only, searched over the number of clusters *k* and its
initialisation – to show that a task other than supervised tables plugs into
:class:`~automlops.search.driver.SearchDriver` with its own models, presets and metrics. A fifth of
the rows is kept aside: the final model *assigns* them (``predict``) and is scored on them, which
tells whether the clusters hold on rows they were not built from.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn import metrics as skm
from sklearn.pipeline import Pipeline

from automlops.core.fit import Artifact, ValidationSummary
from automlops.core.metrics import MetricContext, MetricSpec
from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.errors import DataError
from automlops.search.engine import (
    Candidate,
    Choice,
    DecisionLog,
    Evaluation,
    Finalized,
    SearchPlan,
    TrialOutcome,
)
from automlops.tabular.preprocessing import build_preprocessor, plan_features
from automlops.tabular.zoo import Suggest

__all__ = ["CLUSTER_METRICS", "CLUSTER_MODELS", "CLUSTER_PRESETS", "ClusterModel", "ClusterPreset",
           "ClusteringEngine"]

SILHOUETTE_SAMPLE = 10_000
_TASK = (TaskType.CLUSTERING,)


def _silhouette(c: MetricContext) -> float:
    n = len(c.pred) if c.pred is not None else 0
    sample = SILHOUETTE_SAMPLE if n > SILHOUETTE_SAMPLE else None
    return float(skm.silhouette_score(c.X, c.pred, sample_size=sample, random_state=0))


CLUSTER_METRICS: Registry[MetricSpec] = Registry("clustering metric")
CLUSTER_METRICS.add("silhouette", MetricSpec("silhouette", "Silhouette", "maximize", _TASK, False, _silhouette,
                                             "how much closer rows are to their own cluster than to the next"))
CLUSTER_METRICS.add("calinski_harabasz", MetricSpec(
    "calinski_harabasz", "Calinski–Harabasz", "maximize", _TASK, False,
    lambda c: float(skm.calinski_harabasz_score(c.X, c.pred)), "between-cluster over within-cluster spread"))
CLUSTER_METRICS.add("davies_bouldin", MetricSpec(
    "davies_bouldin", "Davies–Bouldin", "minimize", _TASK, False,
    lambda c: float(skm.davies_bouldin_score(c.X, c.pred)), "average similarity of each cluster to its twin"))


@dataclass(frozen=True)
class ClusterModel:
    """One clustering algorithm and its search space."""

    name: str
    build: Any  # (params, seed) -> estimator with fit/predict
    search_space: Any  # (Suggest, max_clusters) -> params
    defaults: dict[str, Any]


def _kmeans(params: dict[str, Any], seed: int) -> Any:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=int(params["n_clusters"]), init=params.get("init", "k-means++"), n_init=3,
                  random_state=seed)


CLUSTER_MODELS: Registry[ClusterModel] = Registry("clustering model")
CLUSTER_MODELS.add("kmeans", ClusterModel(
    "kmeans", _kmeans,
    lambda s, k_max: {"n_clusters": s.int("n_clusters", 2, k_max), "init": s.cat("init", ["k-means++", "random"])},
    {"n_clusters": 3, "init": "k-means++"}))


@dataclass(frozen=True)
class ClusterPreset:
    name: str
    n_trials: int | None
    time_budget: float | None
    description: str


CLUSTER_PRESETS: Registry[ClusterPreset] = Registry("clustering preset")
CLUSTER_PRESETS.add("fast", ClusterPreset("fast", 12, None, "about 12 KMeans trials over k and the initialisation"))


class ClusteringEngine:
    """KMeans clustering searched by the driver (see the module docstring)."""

    name = "clustering"
    kind = "clustering"
    models = CLUSTER_MODELS
    presets = CLUSTER_PRESETS
    metrics = CLUSTER_METRICS

    def __init__(self, *, metric: str = "silhouette", max_clusters: int = 10, seed: int = 0,
                 test_size: float = 0.2) -> None:
        self.metric, self.max_clusters, self.seed, self.test_size = metric, max_clusters, seed, test_size

    def prepare(self, data: pd.DataFrame, log: DecisionLog) -> SearchPlan:
        if not isinstance(data, pd.DataFrame) or len(data) < 10:
            raise DataError("clustering needs a table of at least 10 rows")
        spec = CLUSTER_METRICS.get(self.metric)
        self.problem = Problem(TaskType.CLUSTERING, None, spec.name, spec.direction,
                               reasons=(f"metric {spec.name}: {spec.explanation}",))
        self.plan = plan_features(data, self.problem)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(data))
        cut = int(round(len(data) * (1 - self.test_size)))
        test_rows = np.sort(order[cut:])
        self.train, self.test = data.iloc[np.sort(order[:cut])], data.iloc[test_rows]
        self.prep = build_preprocessor(self.plan, scale=True, encoding="onehot")
        self.Xt = np.asarray(self.prep.fit_transform(self.train[self.plan.input_columns]), dtype=float)
        log("data", f"{len(self.plan.input_columns)} feature(s) scaled to unit variance, so no column dominates "
                    f"the distances; {len(test_rows)} rows kept aside to test the final assignment")
        reason = "no labels: each candidate is scored by its metric on the rows it clustered"
        log("validation", reason)
        digest = hashlib.sha256(self.Xt.tobytes()).hexdigest()[:16]
        return SearchPlan(problem=self.problem, validation=ValidationSummary("in-sample", 1, reason),
                          test_rows=test_rows, n_steps=1, models=tuple(CLUSTER_MODELS.names()), fingerprint=digest,
                          input_columns=tuple(self.plan.input_columns), feature_schema=self.plan.schema())

    def suggest(self, trial: optuna.Trial) -> Candidate:
        name = str(trial.suggest_categorical("model", CLUSTER_MODELS.names()))
        k_max = max(2, min(self.max_clusters, len(self.Xt) - 1))
        return Candidate(name, CLUSTER_MODELS.get(name).search_space(Suggest(trial, name), k_max))

    def warm_start(self, study: optuna.Study) -> list[str]:
        for name, model in CLUSTER_MODELS.items():
            study.enqueue_trial({"model": name, **{f"{name}__{k}": v for k, v in model.defaults.items()}},
                                skip_if_exists=True)
        return CLUSTER_MODELS.names()

    def _score(self, X: np.ndarray, labels: np.ndarray, metric: MetricSpec) -> float:
        if len(np.unique(labels)) < 2:
            return float("nan")
        return metric.fn(MetricContext(pred=labels, X=X))

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = CLUSTER_MODELS.get(candidate.model).build(dict(candidate.params), self.seed).fit_predict(self.Xt)
        fit_seconds = time.perf_counter() - t0
        value = self._score(self.Xt, labels, CLUSTER_METRICS.get(self.metric))
        if not np.isfinite(value):
            raise optuna.TrialPruned("a single cluster: nothing to score")
        if trial is not None:
            trial.report(value, 1)
        return Evaluation(value, 0.0, [value], fit_seconds, 0.0)

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        return ranked[0].fit_seconds * 1.25

    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: Any) -> Choice:
        best = ranked[0]
        log("result", f"best: {best.model} with {dict(best.params)} ({self.metric} {best.value:.4f})")
        return Choice(best.model, dict(best.params), best.value, best.std, recipe=best.candidate)

    def finalize(self, choice: Choice, log: DecisionLog, budget: Any) -> Finalized:
        candidate: Candidate = choice.recipe
        model = CLUSTER_MODELS.get(candidate.model).build(dict(candidate.params), self.seed)
        pipe = Pipeline([("prep", build_preprocessor(self.plan, scale=True, encoding="onehot")), ("model", model)])
        t0 = time.perf_counter()
        pipe.fit(self.train[self.plan.input_columns])
        seconds = time.perf_counter() - t0
        X_test = self.test[self.plan.input_columns]
        labels, Xt = pipe.predict(X_test), np.asarray(pipe[:-1].transform(X_test), dtype=float)
        metrics = {name: self._score(Xt, labels, spec) for name, spec in CLUSTER_METRICS.items()}
        log("result", f"final model: {choice.label}; on {len(X_test)} unseen rows, {self.metric} = "
                      f"{metrics[self.metric]:.4f}")
        sizes = np.bincount(np.asarray(pipe.predict(self.train[self.plan.input_columns]), dtype=int)).tolist()
        artifact = Artifact("clustering", pipe, meta={"n_clusters": len(sizes), "cluster_sizes": sizes})
        return Finalized(artifact, metrics, metrics[self.metric], seconds, input_example=X_test.head(5))

    def run_params(self) -> dict[str, Any]:
        return {"max_clusters": self.max_clusters}
