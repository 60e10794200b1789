"""``ClusteringEngine``: grouping rows without a target, searched by the same driver as every task.

Clustering has no right answer to score against, so each candidate – an algorithm and its settings,
including the number of clusters *k* – is judged by how well separated its groups are on the rows
it clustered: the **silhouette** by default, or Calinski–Harabasz / Davies–Bouldin (see
:mod:`automlops.clustering.metrics`). The search (Optuna's TPE) explores KMeans, MiniBatchKMeans,
GaussianMixture, AgglomerativeClustering, Birch, DBSCAN and HDBSCAN at once.

Preparation: numbers are median-imputed and **standardised** (mean 0, variance 1) and categories
one-hot encoded, so no column dominates the distances just because of its unit. A fifth of the rows
is kept aside: the final model *assigns* them (``predict``) and is scored on them, which tells whether
the clusters hold on rows they were not built from.

A **reference** column (known classes, e.g. species) may be given: it is removed from the features
and used only to report how well the clusters match it (ARI/NMI) after the choice is made – the
search never reads it, so the result is the same with or without it.
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
from sklearn.pipeline import Pipeline

from automlops.clustering.algorithms import CLUSTER_MODELS, DataScale, Suggest, data_scale
from automlops.clustering.assign import AssignedClusterer, describe_assigner
from automlops.clustering.metrics import CLUSTER_METRICS, n_clusters, noise_share, score_all, score_one
from automlops.clustering.report import build_files, build_meta
from automlops.core.fit import Artifact, ValidationSummary
from automlops.core.problem import Problem, TaskType
from automlops.core.registry import Registry
from automlops.errors import ConfigError, DataError
from automlops.search.deadline import DeadlineExceeded, interrupt_at
from automlops.search.engine import (
    Candidate,
    Choice,
    DecisionLog,
    Evaluation,
    Finalized,
    SearchPlan,
    TrialOutcome,
)
from automlops.tabular.preprocessing import FeaturePlan, build_preprocessor, plan_features

__all__ = ["CLUSTER_PRESETS", "MIN_ROWS", "ClusterPreset", "ClusteringEngine"]

MIN_ROWS = 10
MAX_NOISE_SHARE = 0.5  # a clustering that leaves most rows unclustered describes little of the data
MIN_CLUSTER_ROWS, MIN_CLUSTER_SHARE = 5, 0.02  # smaller "clusters" are a few outliers split off, not groups


@dataclass(frozen=True)
class ClusterPreset:
    """How much to search: trials or seconds, and which algorithms (None: every registered one)."""

    name: str
    n_trials: int | None
    time_budget: float | None
    models: tuple[str, ...] | None
    description: str


CLUSTER_PRESETS: Registry[ClusterPreset] = Registry("clustering preset")
CLUSTER_PRESETS.add("fast", ClusterPreset("fast", 15, None, ("kmeans", "gaussian_mixture", "agglomerative"),
                                          "15 trials of KMeans, GaussianMixture and agglomerative clustering"))
CLUSTER_PRESETS.add("medium", ClusterPreset("medium", 60, None, None, "60 trials over every algorithm"))
CLUSTER_PRESETS.add("best", ClusterPreset("best", None, 120.0, None, "every algorithm for 120 seconds"))


def _check_rows(data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"clustering needs a table (a pandas DataFrame), not a {type(data).__name__}")
    if len(data) < MIN_ROWS:
        raise DataError(f"clustering needs at least {MIN_ROWS} rows to find groups and test them; this table has "
                        f"{len(data)}")
    return data


def _split_reference(data: pd.DataFrame, reference: str | None) -> tuple[pd.DataFrame, np.ndarray | None]:
    if reference is None:
        return data, None
    if reference not in data.columns:
        shown = ", ".join(f"'{c}'" for c in list(data.columns)[:20])
        raise DataError(f"reference column '{reference}' is not in the table; its columns are: {shown}")
    return data.drop(columns=[reference]), data[reference].to_numpy()


def _check_not_constant(features: pd.DataFrame) -> None:
    constant = [str(c) for c in features.columns if features[c].nunique(dropna=True) <= 1]
    if len(constant) == len(features.columns):
        names = ", ".join(f"'{c}'" for c in constant[:20]) or "none"
        raise DataError(f"every column holds a single value (constant: {names}), so no row differs from another "
                        "and there is nothing to cluster; give columns that vary between rows")


class ClusteringEngine:
    """Clustering searched by the driver (see the module docstring)."""

    name = "clustering"
    kind = "clustering"
    models = CLUSTER_MODELS
    presets = CLUSTER_PRESETS
    metrics = CLUSTER_METRICS

    def __init__(self, *, reference: str | None = None, metric: str = "silhouette", max_clusters: int = 10,
                 preset: str = "medium", models: Sequence[str] | None = None, seed: int = 0,
                 test_size: float = 0.2) -> None:
        self.reference, self.metric, self.max_clusters = reference, metric, max_clusters
        self.preset, self.model_names, self.seed, self.test_size = preset, models, seed, test_size

    # ------------------------------------------------------------------ prepare
    def _check_config(self) -> list[str]:
        CLUSTER_METRICS.get(self.metric)
        if self.max_clusters < 2:
            raise ConfigError("max_clusters must be at least 2")
        if not 0.0 < self.test_size < 0.9:
            raise ConfigError("test_size must be between 0 and 0.9")
        names = list(self.model_names or CLUSTER_PRESETS.get(self.preset).models or CLUSTER_MODELS.names())
        for name in names:
            CLUSTER_MODELS.get(name)
        return names

    def _split(self, features: pd.DataFrame, log: DecisionLog) -> np.ndarray:
        order = np.random.default_rng(self.seed).permutation(len(features))
        cut = max(MIN_ROWS - 2, int(round(len(features) * (1 - self.test_size))))
        test_rows, train_rows = np.sort(order[cut:]), np.sort(order[:cut])
        self.train, self.test = features.iloc[train_rows], features.iloc[test_rows]
        self.train_rows, self.test_rows = train_rows, test_rows
        log("validation", f"{len(test_rows)} rows ({self.test_size:.0%}) kept aside: the final model assigns them "
                          "with predict and is scored on them; candidates are scored on the rows they clustered")
        return test_rows

    def _plan(self, features: pd.DataFrame, log: DecisionLog) -> FeaturePlan:
        _check_not_constant(features)
        plan = plan_features(features, self.problem)
        for column, why in plan.dropped.items():
            log("features", f"'{column}' dropped: {why}")
        log("features", f"{len(plan.input_columns)} feature(s): numbers median-imputed and standardised (mean 0, "
                        "variance 1) and categories one-hot encoded, so no column dominates the distances by its unit")
        return plan

    def _choose_models(self, names: list[str], log: DecisionLog) -> tuple[str, ...]:
        kept = []
        for name in names:
            cap = CLUSTER_MODELS.get(name).max_rows
            if cap is not None and len(self.Xt) > cap:
                log("models", f"{name} skipped: its cost grows with the square of the rows and there are "
                              f"{len(self.Xt)} (> {cap})")
            else:
                kept.append(name)
        if not kept:
            raise ConfigError("no clustering algorithm can run on this many rows; choose kmeans or minibatch_kmeans")
        log("models", "searched: " + ", ".join(kept))
        return tuple(kept)

    def prepare(self, data: Any, log: DecisionLog) -> SearchPlan:
        """Check the table, set the reference and the test rows aside, scale the features, plan the search."""
        names = self._check_config()
        features, self.truth = _split_reference(_check_rows(data), self.reference)
        spec = CLUSTER_METRICS.get(self.metric)
        self.problem = Problem(TaskType.CLUSTERING, None, spec.name, spec.direction,
                               reasons=(f"metric {spec.name}: {spec.explanation}",))
        if self.reference is not None:
            log("reference", f"'{self.reference}' is removed from the features and used only to report ARI/NMI after "
                             "the choice; the search never reads it")
        self.plan = self._plan(features, log)
        test_rows = self._split(features, log)
        self.prep = build_preprocessor(self.plan, scale=True, encoding="onehot")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.Xt = np.asarray(self.prep.fit_transform(self.train[self.plan.input_columns]), dtype=float)
        self.scale: DataScale = data_scale(self.Xt, max(2, min(self.max_clusters, len(self.Xt) - 1)), self.seed)
        self._names = self._choose_models(names, log)
        self.min_cluster_rows = max(MIN_CLUSTER_ROWS, int(np.ceil(MIN_CLUSTER_SHARE * len(self.Xt))))
        log("selection", f"every cluster must hold at least {self.min_cluster_rows} rows (5 rows or 2 %): splitting a "
                         "few outliers off raises the silhouette of everyone else without finding a group (outliers "
                         "are anomaly detection's job; density methods may still call them noise)")
        log("selection", f"the candidate with the best {spec.label} on the rows it clustered is kept "
                         f"({spec.direction}); all three internal scores are reported")
        digest = hashlib.sha256(self.Xt.tobytes() + repr(self._names).encode()).hexdigest()[:16]
        return SearchPlan(problem=self.problem, validation=ValidationSummary("in-sample", 1, "no labels: each "
                          "candidate is scored on the rows it clustered"), test_rows=test_rows, n_steps=1,
                          models=self._names, fingerprint=digest, input_columns=tuple(self.plan.input_columns),
                          feature_schema=self.plan.schema())

    # ------------------------------------------------------------------ search
    def suggest(self, trial: optuna.Trial) -> Candidate:
        name = str(trial.suggest_categorical("model", list(self._names)))
        return Candidate(name, CLUSTER_MODELS.get(name).search_space(Suggest(trial, name), self.scale))

    def warm_start(self, study: optuna.Study) -> list[str]:
        for name in self._names:
            defaults = CLUSTER_MODELS.get(name).defaults(self.scale)
            study.enqueue_trial({"model": name, **{f"{name}__{k}": v for k, v in defaults.items()}},
                                skip_if_exists=True)
        return list(self._names)

    def _fit_labels(self, candidate: Candidate, deadline: float | None) -> np.ndarray:
        estimator = CLUSTER_MODELS.get(candidate.model).build(dict(candidate.params), self.seed)
        try:
            with warnings.catch_warnings(), interrupt_at(deadline):
                warnings.simplefilter("ignore")
                return np.asarray(estimator.fit_predict(self.Xt), dtype=int)
        except DeadlineExceeded:
            raise optuna.TrialPruned("stopped at the time budget") from None

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        """Cluster the training rows and score the labels; refuse degenerate results (pruned, with the reason)."""
        t0 = time.perf_counter()
        labels = self._fit_labels(candidate, deadline)
        fit_seconds = time.perf_counter() - t0
        k, noise = n_clusters(labels), noise_share(labels)
        if k < 2:
            raise optuna.TrialPruned("fewer than two clusters: nothing to score")
        if k > self.max_clusters:
            raise optuna.TrialPruned(f"{k} clusters, more than max_clusters={self.max_clusters}")
        if noise > MAX_NOISE_SHARE:
            raise optuna.TrialPruned(f"{noise:.0%} of the rows are noise (more than {MAX_NOISE_SHARE:.0%})")
        smallest = int(np.unique(labels[labels >= 0], return_counts=True)[1].min())
        if smallest < self.min_cluster_rows:
            raise optuna.TrialPruned(f"a cluster of {smallest} row(s), fewer than {self.min_cluster_rows}: a few "
                                     "outliers split off, not a group")
        value = score_one(self.Xt, labels, self.metric, seed=self.seed)
        if not np.isfinite(value):
            raise optuna.TrialPruned("the score is undefined for these labels")
        if trial is not None:
            trial.set_user_attr("n_clusters", k)
            trial.set_user_attr("noise_share", round(noise, 4))
            trial.report(value, 1)
        return Evaluation(value, 0.0, [value], fit_seconds, 0.0)

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        return ranked[0].fit_seconds * 1.5 + 0.2

    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: Any) -> Choice:
        best = ranked[0]
        others = ", ".join(f"{o.model} {o.value:.3f}" for o in ranked[1:4])
        log("result", f"best: {best.model} with {dict(best.params)} ({self.metric} {best.value:.4f})"
                      + (f"; best of the others: {others}" if others else ""))
        return Choice(best.model, dict(best.params), best.value, best.std, recipe=best.candidate)

    # ------------------------------------------------------------------ finalize
    def _final_pipeline(self, candidate: Candidate, log: DecisionLog) -> tuple[Pipeline, str | None]:
        spec = CLUSTER_MODELS.get(candidate.model)
        estimator = spec.build(dict(candidate.params), self.seed)
        assigner = None
        if spec.assigner is not None:
            estimator = AssignedClusterer(estimator, spec.assigner)
            assigner = f"{spec.label} cannot place new rows itself; they are assigned by {describe_assigner(spec.assigner)}"
            log("assigner", assigner)
        prep = build_preprocessor(self.plan, scale=True, encoding="onehot")
        return Pipeline([("prep", prep), ("model", estimator)]), assigner

    def finalize(self, choice: Choice, log: DecisionLog, budget: Any) -> Finalized:
        """Refit the choice on the training rows, assign and score the test rows, describe the clusters."""
        candidate: Candidate = choice.recipe
        pipe, assigner = self._final_pipeline(candidate, log)
        columns = list(self.plan.input_columns)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe.fit(self.train[columns])
            train_labels = np.asarray(getattr(pipe[-1], "labels_", None) if hasattr(pipe[-1], "labels_")
                                      else pipe.predict(self.train[columns]), dtype=int)
            seconds = time.perf_counter() - t0
            test_labels = np.asarray(pipe.predict(self.test[columns]), dtype=int)
            X_test = np.asarray(pipe[:-1].transform(self.test[columns]), dtype=float)
        metrics = score_all(X_test, test_labels, seed=self.seed)
        log("result", f"final model: {choice.label}; on {len(X_test)} unseen rows, {self.metric} = "
                      f"{metrics[self.metric]:.4f}")
        meta = build_meta(self, pipe, train_labels, test_labels, assigner, log)
        artifact = Artifact("clustering", pipe, meta=meta, files=build_files(meta))
        return Finalized(artifact, metrics, metrics[self.metric], seconds, input_example=self.test[columns].head(5))

    def run_params(self) -> dict[str, Any]:
        return {"max_clusters": self.max_clusters, "reference": self.reference,
                "models": ",".join(getattr(self, "_names", ()) or ())}
