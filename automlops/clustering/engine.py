"""``ClusteringEngine``: grouping rows without a target, searched by the same driver as every task.

Clustering has no right answer to score against, so each candidate – an algorithm and its settings,
including the number of clusters *k* – is judged by how well separated its groups are on the rows
it clustered: the **silhouette** by default, or Calinski–Harabasz / Davies–Bouldin (see
:mod:`automlops.clustering.metrics`). The search (Optuna's TPE) explores KMeans, MiniBatchKMeans,
GaussianMixture, AgglomerativeClustering, Birch, DBSCAN and HDBSCAN at once, after a warm start of
every model's defaults and KMeans at every k (so each number of clusters is looked at once before TPE
concentrates on what scored well). Partitions with a
"cluster" of a handful of rows (under 5 rows or 2 %; accepted, with a note, when the user fixed k: see
:mod:`automlops.clustering.choice`) or with more than half the rows left as noise are refused, and so is a candidate whose fit would need more than :data:`MAX_FIT_MB` of memory (DBSCAN with a
wide radius on a large table lists billions of neighbour pairs; see :mod:`automlops.clustering.algorithms`),
before it is fitted. With the silhouette, the final choice also asks the partition to be **reproducible**: each
model's best and the next best candidates are refitted on 80 % subsamples, and the one with the best
``silhouette × stability`` is kept (see :mod:`automlops.clustering.stability`): on data without clear
groups, very different partitions score within a hair of each other and the top score alone is a coin toss.

Under a time budget each candidate is **priced** before it is fitted and skipped when it would end past
the deadline, and the silhouette reads a sample sized to the budget (see :mod:`automlops.clustering.pricing`):
some fits (DBSCAN's neighbour search) cannot be interrupted once started.

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
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.pipeline import Pipeline

from automlops.clustering import pricing
from automlops.clustering.algorithms import CLUSTER_MODELS, DataScale, data_scale
from automlops.clustering.assign import describe_assigner
from automlops.clustering.checks import (
    MIN_ROWS,
    check_not_constant,
    check_rows,
    runnable_models,
    split_reference,
)
from automlops.clustering.choice import candidate_key as _key
from automlops.clustering.choice import log_min_cluster_rows, one_cluster_note, prefer_groups, shipped_choice
from automlops.clustering.metrics import CLUSTER_METRICS, n_clusters, noise_share, score_all, score_one
from automlops.clustering.presets import CLUSTER_PRESETS, ClusterPreset
from automlops.clustering.report import build_files, build_meta
from automlops.clustering.stability import N_SUBSAMPLES, affordable, checkable, stability
from automlops.clustering.threads import few_threads
from automlops.core.fit import Artifact, ValidationSummary
from automlops.core.problem import Problem, TaskType
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
from automlops.tabular.encodings import build_preprocessor
from automlops.tabular.preprocessing import FeaturePlan, plan_features

__all__ = ["CLUSTER_PRESETS", "MAX_FIT_MB", "MIN_ROWS", "ClusterPreset", "ClusteringEngine", "few_threads"]

MAX_NOISE_SHARE = 0.5  # a clustering that leaves most rows unclustered describes little of the data
SWEEP_MODEL = "kmeans"  # tried at every k in the warm start
MAX_FIT_MB = 512  # a candidate whose fit is estimated to need more (DBSCAN with a wide radius) is not fitted
EXTRA_CANDIDATES = 5  # besides each model's best, the next best distinct trials whose stability is measured
FINAL_SCORINGS = 2.2  # finalize's scorings (test rows, training rows), in units of one trial's scoring
REFIT_FITS = 1.2  # the final refit, in units of the trial's own fit (the preprocessing is fitted too)
TAIL_SHARE = 0.25  # of the time budget the work after the search may take (stability checks included)


class ClusteringEngine:
    """Clustering searched by the driver (see the module docstring)."""

    name = "clustering"
    kind = "clustering"
    models = CLUSTER_MODELS
    presets = CLUSTER_PRESETS
    metrics = CLUSTER_METRICS
    first_trial_share = 0.6  # a trial is one fit and its scoring, the refit one more fit: less than a tabular CV

    def __init__(self, *, reference: str | None = None, metric: str = "silhouette", max_clusters: int = 10,
                 preset: str = "medium", models: Sequence[str] | None = None, seed: int = 0,
                 test_size: float = 0.2, n_clusters: int | None = None) -> None:
        self.reference, self.metric, self.max_clusters = reference, metric, max_clusters
        self.n_clusters = n_clusters  # known k: every candidate must find exactly this many clusters
        if n_clusters is not None:
            self.max_clusters = max(max_clusters, n_clusters)
        self.preset, self.model_names, self.seed, self.test_size = preset, models, seed, test_size
        self.shared_study = False  # set by the driver: workers of one study must score on the same sample

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
        for note in plan.dropped_notes():
            log("features", note)
        log("features", f"{len(plan.input_columns)} feature(s): numbers median-imputed and standardised (mean 0, "
                        "variance 1) and categories one-hot encoded, so no column dominates the distances by its unit")
        return plan

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
        self._time_budget = log.time_budget()  # it sizes the silhouette's sample, unless workers must agree on it
        sized_by = None if self.metric != "silhouette" or self.shared_study else self._time_budget
        with few_threads(len(self.Xt)):  # the k-distances' neighbour search, the silhouette's timing
            self.scale: DataScale = self._data_scale(log)
            self.silhouette_rows, expected = pricing.silhouette_sample(self.Xt, sized_by, self.seed)
        self._names = runnable_models(names, len(self.Xt), log, named=self.model_names is not None,
                                      n_clusters=self.n_clusters)
        self._seen: list[tuple[float, Candidate]] = []
        self._fit_seconds: dict[str, float] = {}  # the slowest fit of each model
        self._candidate_seconds: dict[str, float] = {}  # each candidate's own fit
        self._smallest: dict[str, int] = {}  # each candidate's smallest cluster
        self.size_rule = log_min_cluster_rows(len(self.Xt), self.n_clusters, log)
        scoring = pricing.log_silhouette_sample(self.silhouette_rows, len(self.Xt), expected, log)
        self.pricer = pricing.TrialPricer(len(self.Xt), self.Xt.shape[1], scoring)
        how = ("; the final choice among each model's best and the next best trials is the highest silhouette × "
               "stability (the partition must come back when refitted on subsamples)") if spec.name == "silhouette" else ""
        log("selection", f"candidates are scored by {spec.label} on the rows they clustered ({spec.direction}){how}; "
                         "all three internal scores are reported")
        digest = hashlib.sha256(self.Xt.tobytes() + repr((self._names, self.n_clusters)).encode()).hexdigest()[:16]
        return SearchPlan(problem=self.problem, validation=ValidationSummary("in-sample", 1, "no labels: each "
                          "candidate is scored on the rows it clustered"), test_rows=test_rows, n_steps=1,
                          models=self._names, fingerprint=digest, input_columns=tuple(self.plan.input_columns),
                          feature_schema=self.plan.schema())

    def least_work_seconds(self) -> float:
        """The least one trial and the finish need (optional Engine hook: the driver refuses less time)."""
        return pricing.least_work_seconds(self.pricer, self._names, self.scale)

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
        no time for k = 2, the best partition. Under a time budget, after the first model's defaults, the
        queue runs cheapest first, by each model's ``cost`` (see :func:`~automlops.clustering.pricing.cheapest_first`).
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
        if self._time_budget is not None:
            queued = pricing.cheapest_first(queued, self.pricer)
        for params in queued:
            study.enqueue_trial(params, skip_if_exists=True)
        if self._time_budget is not None:
            return pricing.describe_queue(queued, SWEEP_MODEL)
        return [*first, *([f"{SWEEP_MODEL} with k = {', '.join(map(str, sweep))}"] if sweep else []), *last]

    def _score(self, labels: np.ndarray, deadline: float | None) -> float:
        t0 = time.perf_counter()
        try:
            with few_threads(len(self.Xt)), interrupt_at(deadline):
                value = score_one(self.Xt, labels, self.metric, seed=self.seed, sample=self.silhouette_rows)
        except DeadlineExceeded:
            raise optuna.TrialPruned("stopped at the time budget while scoring") from None
        self.pricer.record_scoring(time.perf_counter() - t0)
        return value

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
        self.pricer.check(spec, candidate.params, deadline)
        t0 = time.perf_counter()
        labels = self._fit_labels(candidate, deadline)
        fit_seconds = time.perf_counter() - t0
        self.pricer.record(spec, candidate.params, fit_seconds)
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
        if smallest < self.size_rule.required:
            raise optuna.TrialPruned(f"a cluster of {smallest} row(s), fewer than {self.size_rule.required}: a few "
                                     "outliers split off, not a group")
        value = self._score(labels, deadline)
        if not np.isfinite(value):
            raise optuna.TrialPruned("the score is undefined for these labels")
        self._seen.append((value, candidate))
        if trial is not None:
            trial.set_user_attr("n_clusters", k)
            trial.set_user_attr("noise_share", round(noise, 4))
            trial.report(value, 1)
        return Evaluation(value, 0.0, [value], fit_seconds, 0.0)

    def tail_seconds(self, ranked: Sequence[TrialOutcome]) -> float:
        """Refit, finalize's two scorings (test rows, training rows) and the stability checks that fit in
        :data:`TAIL_SHARE` of the budget and in the time the search has had (they choose among what it found:
        they must not crowd it out); none unless the best candidate's and another's fit (``choose`` checks
        nothing otherwise, and time kept for them would be lost to the search)."""
        base = FINAL_SCORINGS * self.pricer.final_scoring_seconds + 0.2
        refit = REFIT_FITS * ranked[0].fit_seconds
        if self.metric != "silhouette":
            return base + refit
        room = np.inf if self._time_budget is None else min(TAIL_SHARE * self._time_budget, self.pricer.searched()) - base
        kept = checkable(self._pool(ranked), self._seconds, room)
        if len(kept) < 2:
            return base + refit
        checks = sum((N_SUBSAMPLES + 1) * self._seconds(c) for _, c in kept)
        return base + checks + max(refit, *(1.5 * self._seconds(c) for _, c in kept))

    def _seconds(self, candidate: Candidate) -> float:
        """One fit of ``candidate``: its own when this process ran it, else its model's slowest."""
        return self._candidate_seconds.get(_key(candidate), self._fit_seconds.get(candidate.model, 0.0))

    def _pool(self, ranked: Sequence[TrialOutcome]) -> list[tuple[float, Candidate]]:
        """Every model's best trial, plus the next best distinct trials this process scored."""
        sign = -1.0 if self.problem.direction == "maximize" else 1.0
        pool = {_key(o.candidate): (o.value, o.candidate) for o in ranked}
        extra = {_key(c): (v, c) for v, c in sorted(self._seen, key=lambda vc: sign * vc[0]) if _key(c) not in pool}
        chosen = [*pool.values(), *list(extra.values())[:EXTRA_CANDIDATES]]
        return sorted(chosen, key=lambda vc: sign * vc[0])

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
        everyone = prefer_groups(self._pool(ranked), self._smallest, self.size_rule, log)
        reserve = FINAL_SCORINGS * self.pricer.final_scoring_seconds  # finalize's scorings
        checked = self.metric == "silhouette" and len(everyone) > 1
        pool = affordable(everyone, self._seconds, budget, reserve=reserve) if checked else []
        if len(pool) < 2:
            if checked:
                log("selection", "no time left in the budget to check the stability of the best candidates: the best "
                                 "silhouette is kept as it is")
            value, candidate = everyone[0]
            std = best.std if candidate is best.candidate else 0.0
            return self._shipped(candidate, value, std, ranked, log)
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
        return shipped_choice(candidate, value, std, ranked, smallest=self._smallest.get(_key(candidate)),
                              rule=self.size_rule, n_clusters=self.n_clusters, log=log)

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
            metrics = score_all(X_test, test_labels, seed=self.seed, sample=self.silhouette_rows)
            log("result", f"final model: {choice.label}; on {len(X_test)} unseen rows, {self.metric} = "
                          f"{metrics[self.metric]:.4f}")
            if (alone := one_cluster_note(train_labels, test_labels, self.metric)) is not None:
                log("result", alone)
            meta = build_meta(self, pipe, train_labels, test_labels, assigner, log)
        reference = (meta.get("reference_scores") or {}).get("test") or {}
        metrics.update({f"reference_{k}": float(v) for k, v in reference.items() if v is not None})  # to MLflow too
        artifact = Artifact("clustering", pipe, meta=meta, files=build_files(meta))
        return Finalized(artifact, metrics, metrics[self.metric], seconds, input_example=self.test[columns].head(5))

    def run_params(self) -> dict[str, Any]:
        return {"max_clusters": self.max_clusters, "n_clusters": self.n_clusters, "reference": self.reference,
                "models": ",".join(getattr(self, "_names", ()) or ())}
