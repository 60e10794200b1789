"""``ClusteringEngine``: grouping rows without a target, searched by the same driver as every task.

Clustering has no right answer to score against, so each candidate – an algorithm and its settings,
including the number of clusters *k* – is judged by how well separated its groups are on the rows
it clustered: the **silhouette** by default, or Calinski–Harabasz / Davies–Bouldin (see
:mod:`automlops.clustering.metrics`). The search (Optuna's TPE) explores KMeans, MiniBatchKMeans,
GaussianMixture, AgglomerativeClustering, Birch, DBSCAN and HDBSCAN at once, after a warm start of
every model's defaults and KMeans at every k (so each number of clusters is looked at once before TPE
concentrates on what scored well). Partitions with a
"cluster" of a handful of rows (under 5 rows or 2 %; accepted, with a note, when the user fixed k) or
with more than half the rows left as noise are refused, and so is a candidate whose fit would need more than :data:`MAX_FIT_MB` of memory (DBSCAN with a
wide radius on a large table lists billions of neighbour pairs; see :mod:`automlops.clustering.algorithms`),
before it is fitted. With the silhouette, the final choice also asks the partition to be **reproducible**: each
model's best and the next best candidates are refitted on 80 % subsamples, and the one with the best
``silhouette × stability`` is kept (see :mod:`automlops.clustering.stability`): on data without clear
groups, very different partitions score within a hair of each other and the top score alone is a coin toss.

Preparation: numbers are median-imputed and **standardised** (mean 0, variance 1) and categories
one-hot encoded, so no column dominates the distances just because of its unit. A fifth of the rows
is kept aside: the final model *assigns* them (``predict``) and is scored on them, which tells whether
the clusters hold on rows they were not built from.

A **reference** column (known classes, e.g. species) may be given: it is removed from the features
and used only to report how well the clusters match it (ARI/NMI) after the choice is made – the
search never reads it, so the result is the same with or without it.
"""

from __future__ import annotations

import contextlib
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

from automlops.clustering.algorithms import CLUSTER_MODELS, DataScale, data_scale
from automlops.clustering.assign import describe_assigner
from automlops.clustering.checks import MIN_ROWS, check_not_constant, check_rows, split_reference
from automlops.clustering.metrics import CLUSTER_METRICS, n_clusters, noise_share, score_all, score_one
from automlops.clustering.report import build_files, build_meta
from automlops.clustering.stability import N_SUBSAMPLES, affordable, stability
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
from automlops.search.suggest import Suggest
from automlops.tabular.preprocessing import FeaturePlan, build_preprocessor, plan_features

__all__ = ["CLUSTER_PRESETS", "MAX_FIT_MB", "MIN_ROWS", "ClusterPreset", "ClusteringEngine"]

MAX_NOISE_SHARE = 0.5  # a clustering that leaves most rows unclustered describes little of the data
MIN_CLUSTER_ROWS, MIN_CLUSTER_SHARE = 5, 0.02  # smaller "clusters" are a few outliers split off, not groups
SINGLE_THREAD_ROWS = 20_000  # below this, BLAS/OpenMP threads cost more than they save (10× on iris when busy)
SWEEP_MODEL = "kmeans"  # tried at every k in the warm start
MAX_FIT_MB = 512  # a candidate whose fit is estimated to need more (DBSCAN with a wide radius) is not fitted
EXTRA_CANDIDATES = 5  # besides each model's best, the next best distinct trials whose stability is measured
FINAL_SCORINGS = 2.2  # finalize's scorings (test rows, training rows), in units of one trial's scoring


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


_CONTROLLER: Any = None


def _key(candidate: Candidate) -> str:
    """One candidate's identity: its model and settings."""
    return candidate.model + repr(sorted(candidate.params.items()))


def few_threads(n_rows: int) -> Any:
    """One BLAS/OpenMP thread for small tables (threads only pay off on large ones), else no limit."""
    global _CONTROLLER
    if n_rows >= SINGLE_THREAD_ROWS:
        return contextlib.nullcontext()
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


class ClusteringEngine:
    """Clustering searched by the driver (see the module docstring)."""

    name = "clustering"
    kind = "clustering"
    models = CLUSTER_MODELS
    presets = CLUSTER_PRESETS
    metrics = CLUSTER_METRICS

    def __init__(self, *, reference: str | None = None, metric: str = "silhouette", max_clusters: int = 10,
                 preset: str = "medium", models: Sequence[str] | None = None, seed: int = 0,
                 test_size: float = 0.2, n_clusters: int | None = None) -> None:
        self.reference, self.metric, self.max_clusters = reference, metric, max_clusters
        self.n_clusters = n_clusters  # known k: every candidate must find exactly this many clusters
        if n_clusters is not None:
            self.max_clusters = max(max_clusters, n_clusters)
        self.preset, self.model_names, self.seed, self.test_size = preset, models, seed, test_size

    # ------------------------------------------------------------------ prepare
    def _check_config(self) -> list[str]:
        CLUSTER_METRICS.get(self.metric)
        if self.max_clusters < 2:
            raise ConfigError("max_clusters must be at least 2")
        if self.n_clusters is not None and self.n_clusters < 2:
            raise ConfigError(f"the number of clusters must be at least 2, got {self.n_clusters}")
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
        check_not_constant(features)
        plan = plan_features(features, self.problem)
        for column, why in plan.dropped.items():
            log("features", f"'{column}' dropped: {why}")
        log("features", f"{len(plan.input_columns)} feature(s): numbers median-imputed and standardised (mean 0, "
                        "variance 1) and categories one-hot encoded, so no column dominates the distances by its unit")
        return plan

    def _choose_models(self, names: list[str], log: DecisionLog) -> tuple[str, ...]:
        kept = []
        for name in names:
            spec = CLUSTER_MODELS.get(name)
            large = spec.max_rows is not None and len(self.Xt) > spec.max_rows
            if large and not spec.samples(len(self.Xt)):
                log("models", f"{name} skipped: its cost grows with the square of the rows and there are "
                              f"{len(self.Xt)} (> {spec.max_rows})")
            elif self.model_names is None and self.n_clusters is not None and spec.noise:
                log("models", f"{name} skipped: it finds its own number of clusters, and it is fixed at "
                              f"{self.n_clusters} (name it in models to search it anyway)")
            elif self.model_names is None and len(self.Xt) < spec.min_rows:
                log("models", f"{name} skipped: it is made for large tables; below {spec.min_rows} rows another "
                              "algorithm does the same job exactly and faster (name it in models to search it anyway)")
            else:
                kept.append(name)
                if large:
                    log("models", f"{name} clusters a random sample of {spec.max_rows:,} of the {len(self.Xt):,} rows "
                                  "(its cost grows with the square of the rows); the other rows get their cluster from "
                                  f"{describe_assigner(str(spec.assigner))}")
        if not kept:
            raise ConfigError("no clustering algorithm can run on this many rows; choose kmeans or minibatch_kmeans")
        log("models", "searched: " + ", ".join(kept))
        return tuple(kept)

    def _data_scale(self, log: DecisionLog) -> DataScale:
        """The distances the search spaces need, and the range of k: 2..max_clusters, or the k the user gave."""
        if self.n_clusters is None:
            return data_scale(self.Xt, max(2, min(self.max_clusters, len(self.Xt) - 1)), self.seed)
        if self.n_clusters > len(self.Xt) - 1:
            raise DataError(f"{self.n_clusters} clusters cannot be found in {len(self.Xt)} training rows; ask for "
                            f"at most {len(self.Xt) - 1}")
        log("clusters", f"k = {self.n_clusters}, as asked: every algorithm is searched at that number of clusters and "
                        "a partition with another number is refused; the silhouette still chooses among them")
        return data_scale(self.Xt, self.n_clusters, self.seed, k_min=self.n_clusters)

    def _log_min_cluster_rows(self, log: DecisionLog) -> None:
        """Refuse "clusters" of a few rows, unless the user fixed k: then accept them and say so."""
        n = len(self.Xt)  # 5 rows (fewer on tiny tables) or 2 % of the rows, whichever is larger
        self.usual_min_rows = max(2, min(MIN_CLUSTER_ROWS, n // 10), int(np.ceil(MIN_CLUSTER_SHARE * n)))
        self.min_cluster_rows = self.usual_min_rows if self.n_clusters is None else 1
        if self.n_clusters is not None:
            log("selection", f"k = {self.n_clusters} was asked for, so a cluster of fewer than {self.usual_min_rows} "
                             "rows (5 or 2 %) is accepted rather than refused (at a large k, a few outliers may "
                             "form a cluster of their own); the decisions name the shipped model's smallest cluster")
            return
        log("selection", f"every cluster must hold at least {self.min_cluster_rows} rows (5 or 2 %): splitting a "
                         "few outliers off raises the silhouette of everyone else without finding a group (outliers "
                         "are anomaly detection's job; density methods may still call them noise)")

    def prepare(self, data: Any, log: DecisionLog) -> SearchPlan:
        """Check the table, set the reference and the test rows aside, scale the features, plan the search."""
        names = self._check_config()
        features, self.truth = split_reference(check_rows(data), self.reference)
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
        self.scale: DataScale = self._data_scale(log)
        self._names = self._choose_models(names, log)
        self._seen: list[tuple[float, Candidate]] = []
        self._fit_seconds: dict[str, float] = {}  # the slowest fit of each model
        self._candidate_seconds: dict[str, float] = {}  # each candidate's own fit
        self._score_seconds = 0.0  # the slowest scoring of a trial's labels (a silhouette on up to 10,000 rows)
        self._smallest: dict[str, int] = {}  # each candidate's smallest cluster
        self._log_min_cluster_rows(log)
        how = ("; the final choice among each model's best and the next best trials is the highest silhouette × "
               "stability (the partition must come back when refitted on subsamples)") if spec.name == "silhouette" else ""
        log("selection", f"candidates are scored by {spec.label} on the rows they clustered ({spec.direction}){how}; "
                         "all three internal scores are reported")
        digest = hashlib.sha256(self.Xt.tobytes() + repr((self._names, self.n_clusters)).encode()).hexdigest()[:16]
        return SearchPlan(problem=self.problem, validation=ValidationSummary("in-sample", 1, "no labels: each "
                          "candidate is scored on the rows it clustered"), test_rows=test_rows, n_steps=1,
                          models=self._names, fingerprint=digest, input_columns=tuple(self.plan.input_columns),
                          feature_schema=self.plan.schema())

    # ------------------------------------------------------------------ search
    def suggest(self, trial: optuna.Trial) -> Candidate:
        name = str(trial.suggest_categorical("model", list(self._names)))
        return Candidate(name, CLUSTER_MODELS.get(name).search_space(Suggest(trial, name), self.scale))

    def warm_start(self, study: optuna.Study) -> list[str]:
        """Every model's defaults first, then KMeans at every other k: the cheapest look at each number of clusters.

        Without the sweep, TPE spread over seven algorithms may never try a small k with KMeans
        (on breast_cancer, 60 trials never fitted KMeans with k=2, the best partition by silhouette).
        On a large table, the algorithms that cluster a sample because their cost grows with the
        square of the rows come after the sweep: on 43,000 diamonds at 30 s, trying them first left
        no time for k = 2, the best partition.
        """
        n = len(self.Xt)
        first = [m for m in self._names if not CLUSTER_MODELS.get(m).samples(n)]
        last = [m for m in self._names if CLUSTER_MODELS.get(m).samples(n)]

        def defaults_of(name: str) -> dict[str, Any]:
            defaults = CLUSTER_MODELS.get(name).defaults(self.scale)
            return {"model": name, **{f"{name}__{k}": v for k, v in defaults.items()}}

        queued, sweep = [defaults_of(m) for m in first], []
        if SWEEP_MODEL in self._names:
            defaults = CLUSTER_MODELS.get(SWEEP_MODEL).defaults(self.scale)
            sweep = [k for k in range(self.scale.k_min, self.scale.k_max + 1) if k != defaults["n_clusters"]]
            queued += [{"model": SWEEP_MODEL, **{f"{SWEEP_MODEL}__{p}": v for p, v in defaults.items()},
                        f"{SWEEP_MODEL}__n_clusters": k} for k in sweep]
        queued += [defaults_of(m) for m in last]
        for params in queued:
            study.enqueue_trial(params, skip_if_exists=True)
        return [*first, *([f"{SWEEP_MODEL} with k = {', '.join(map(str, sweep))}"] if sweep else []), *last]

    def _fit_labels(self, candidate: Candidate, deadline: float | None) -> np.ndarray:
        estimator = CLUSTER_MODELS.get(candidate.model).clusterer(dict(candidate.params), self.seed, len(self.Xt))
        try:
            with warnings.catch_warnings(), few_threads(len(self.Xt)), interrupt_at(deadline):
                warnings.simplefilter("ignore")
                return np.asarray(estimator.fit_predict(self.Xt), dtype=int)
        except DeadlineExceeded:
            raise optuna.TrialPruned("stopped at the time budget") from None

    def evaluate(self, candidate: Candidate, trial: optuna.Trial | None, deadline: float | None) -> Evaluation:
        """Cluster the training rows and score the labels; refuse degenerate results (pruned, with the reason)."""
        spec = CLUSTER_MODELS.get(candidate.model)
        need = spec.fit_bytes(dict(candidate.params), self.scale) if spec.fit_bytes is not None else 0.0
        if need > MAX_FIT_MB * 2**20:
            raise optuna.TrialPruned(f"{spec.label} with these settings would need ~{need / 2**30:.1f} GB of memory "
                                     f"(more than {MAX_FIT_MB} MB), so it was not fitted")
        t0 = time.perf_counter()
        labels = self._fit_labels(candidate, deadline)
        fit_seconds = time.perf_counter() - t0
        self._fit_seconds[candidate.model] = max(fit_seconds, self._fit_seconds.get(candidate.model, 0.0))
        self._candidate_seconds[_key(candidate)] = fit_seconds
        k, noise = n_clusters(labels), noise_share(labels)
        if k < 2:
            raise optuna.TrialPruned("fewer than two clusters: nothing to score")
        if k > self.max_clusters:
            raise optuna.TrialPruned(f"{k} clusters, more than max_clusters={self.max_clusters}")
        if self.n_clusters is not None and k != self.n_clusters:
            raise optuna.TrialPruned(f"{k} clusters, not the {self.n_clusters} asked for")
        if noise > MAX_NOISE_SHARE:
            raise optuna.TrialPruned(f"{noise:.0%} of the rows are noise (more than {MAX_NOISE_SHARE:.0%})")
        smallest = int(np.unique(labels[labels >= 0], return_counts=True)[1].min())
        self._smallest[_key(candidate)] = smallest
        if smallest < self.min_cluster_rows:
            raise optuna.TrialPruned(f"a cluster of {smallest} row(s), fewer than {self.min_cluster_rows}: a few "
                                     "outliers split off, not a group")
        t0 = time.perf_counter()
        value = score_one(self.Xt, labels, self.metric, seed=self.seed)
        self._score_seconds = max(self._score_seconds, time.perf_counter() - t0)
        if not np.isfinite(value):
            raise optuna.TrialPruned("the score is undefined for these labels")
        self._seen.append((value, candidate))
        if trial is not None:
            trial.set_user_attr("n_clusters", k)
            trial.set_user_attr("noise_share", round(noise, 4))
            trial.report(value, 1)
        return Evaluation(value, 0.0, [value], fit_seconds, 0.0)

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        slowest = max(self._fit_seconds.values(), default=ranked[0].fit_seconds)
        # finalize scores twice more (every metric on the test rows, and on the training rows for the report):
        # on 40,000 rows each silhouette (a 10,000-row sample) costs about 3 KMeans fits, more than the refit
        scoring = FINAL_SCORINGS * self._score_seconds
        return (ranked[0].fit_seconds * 1.5 + slowest * (len(ranked) + EXTRA_CANDIDATES) * (N_SUBSAMPLES + 1)
                + scoring + 0.2)

    def _pool(self, ranked: Sequence[TrialOutcome]) -> list[tuple[float, Candidate]]:
        """Every model's best trial, plus the next best distinct trials this process scored."""
        sign = -1.0 if self.problem.direction == "maximize" else 1.0
        pool = {_key(o.candidate): (o.value, o.candidate) for o in ranked}
        extra = {_key(c): (v, c) for v, c in sorted(self._seen, key=lambda vc: sign * vc[0]) if _key(c) not in pool}
        chosen = [*pool.values(), *list(extra.values())[:EXTRA_CANDIDATES]]
        return sorted(chosen, key=lambda vc: sign * vc[0])

    def _affordable(self, pool: list[tuple[float, Candidate]], budget: Any) -> list[tuple[float, Candidate]]:
        """The best pooled candidates whose stability check fits in the time left (see :func:`affordable`)."""
        def seconds(c: Candidate) -> float:  # its own fit when this process ran it, else its model's slowest
            return self._candidate_seconds.get(_key(c), self._fit_seconds.get(c.model, 0.0))

        return affordable(pool, seconds, budget)

    def _stabilities(self, pool: list[tuple[float, Candidate]]) -> list[float]:
        """Stability of each pooled candidate: its labels on all rows against refits on 80 % subsamples."""
        out = []
        for _, candidate in pool:
            def refit(X: np.ndarray, seed: int, c: Candidate = candidate) -> np.ndarray:
                with warnings.catch_warnings(), few_threads(len(X)):
                    warnings.simplefilter("ignore")
                    return np.asarray(CLUSTER_MODELS.get(c.model).clusterer(dict(c.params), seed, len(X)).fit_predict(X))
            out.append(stability(refit, self.Xt, self._fit_labels(candidate, None), seed=self.seed))
        return out

    def choose(self, ranked: Sequence[TrialOutcome], log: DecisionLog, budget: Any) -> Choice:
        """The best of a few top candidates by silhouette × stability (see :mod:`automlops.clustering.stability`)."""
        best = ranked[0]
        log("result", f"best score: {best.model} with {dict(best.params)} ({self.metric} {best.value:.4f})")
        everyone = self._pool(ranked)
        pool = self._affordable(everyone, budget) if self.metric == "silhouette" and len(everyone) > 1 else []
        if len(pool) < 2:
            if self.metric == "silhouette" and len(everyone) > 1:
                log("selection", "no time left in the budget to check the stability of the best candidates: the best "
                                 "silhouette is kept as it is")
            return self._shipped(best.candidate, best.value, best.std, ranked, log)
        stable = self._stabilities(pool)
        index = int(np.argmax([value * s for (value, _), s in zip(pool, stable, strict=True)]))
        value, candidate = pool[index]
        shown = "; ".join(f"{c.model} {v:.3f} × {s:.2f}" for (v, c), s in zip(pool, stable, strict=True))
        some = f" (of {len(everyone)}: the time left allowed no more)" if len(pool) < len(everyone) else ""
        log("selection", f"the {len(pool)} best candidates{some} were refitted on {N_SUBSAMPLES} random 80 % subsamples; "
                         f"silhouette × stability (mean ARI with their own labels): {shown}; kept {candidate.model} "
                         f"with {dict(candidate.params)}")
        return self._shipped(candidate, value, 0.0, ranked, log)

    def _shipped(self, candidate: Candidate, value: float, std: float, ranked: Sequence[TrialOutcome],
                 log: DecisionLog) -> Choice:
        """The choice; a leaderboard row for it when it is not its model's best trial (whose row shows another
        configuration); a note when its smallest cluster is below the usual minimum (k fixed by the user)."""
        smallest = self._smallest.get(_key(candidate))
        if smallest is not None and smallest < self.usual_min_rows:
            log("clusters", f"the shipped partition has a cluster of {smallest} row(s), fewer than the "
                            f"{self.usual_min_rows} asked of a cluster when k is free: at k = {self.n_clusters} a few "
                            "outliers form a cluster of their own; a smaller k may describe the data better")
        rows: tuple[dict[str, Any], ...] = ()
        best_of_model = next((o for o in ranked if o.model == candidate.model), None)
        if best_of_model is not None and _key(best_of_model.candidate) != _key(candidate):
            rows = ({"model": f"{candidate.model} (shipped)", "score": value, "std": std, "trials": 0, "pruned": 0,
                     "failed": 0, "params": dict(candidate.params)},)
            log("leaderboard", f"the row '{candidate.model} (shipped)' is the configuration shipped; the row "
                               f"'{candidate.model}' is that model's best-scoring trial ({best_of_model.value:.4f}, "
                               f"{dict(best_of_model.params)})")
        return Choice(candidate.model, dict(candidate.params), value, std, recipe=candidate, extra_rows=rows)

    # ------------------------------------------------------------------ finalize
    def _final_pipeline(self, candidate: Candidate, log: DecisionLog) -> tuple[Pipeline, str | None]:
        spec = CLUSTER_MODELS.get(candidate.model)
        estimator = spec.clusterer(dict(candidate.params), self.seed, len(self.Xt), predicts=True)
        assigner = None
        if spec.assigner is not None:
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
        with warnings.catch_warnings(), few_threads(len(self.Xt)):
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
        reference = (meta.get("reference_scores") or {}).get("test") or {}
        metrics.update({f"reference_{k}": float(v) for k, v in reference.items() if v is not None})  # to MLflow too
        artifact = Artifact("clustering", pipe, meta=meta, files=build_files(meta))
        return Finalized(artifact, metrics, metrics[self.metric], seconds, input_example=self.test[columns].head(5))

    def run_params(self) -> dict[str, Any]:
        return {"max_clusters": self.max_clusters, "n_clusters": self.n_clusters, "reference": self.reference,
                "models": ",".join(getattr(self, "_names", ()) or ())}
