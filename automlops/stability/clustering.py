"""Stability of a saved clustering: does its score survive another draw of the rows, another seed?

A clustering's reported test score is the engine's internal metric (the silhouette by default)
of the rows it kept aside, *assigned* to the clusters with ``predict`` after the partition was
built on the other 80 % of the rows (see :mod:`automlops.clustering.engine`). This adapter refits
exactly that recipe – the saved preprocessing (imputation, scaling, one-hot) and the chosen
algorithm with its settings – and scores it the same way.

* **Splits**: K random 80/20 partitions of the rows (*Monte Carlo cross-validation*): the same
  split size as the reported score, redrawn K times. A clustering has no labels to stratify on.
* **Seeds**: KMeans, MiniBatchKMeans and GaussianMixture start from random centres, so their
  partition depends on the seed; agglomerative clustering, Birch, DBSCAN and HDBSCAN are
  deterministic (the seeds section is then skipped, as it should be).
* **Sensitivity**: the number of clusters and each setting of the algorithm's search space,
  around the chosen value. DBSCAN's radius is searched as a quantile of the k-distances (see
  :mod:`automlops.clustering.algorithms`), so it is recomputed on each split's training rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import DataError, ModelError
from automlops.stability.adapter_kit import (
    RecordingSuggest,
    holdouts,
    lake_frame,
    model_ref,
    require_columns,
    sweeps_from,
    to_distributions,
)
from automlops.stability.types import Resample, Sweep

__all__ = ["ClusteringSubject", "saved_subject"]

TEST_SHARE = 0.2  # the clustering engine's default test_size
MAX_CLUSTERS = 10  # the clustering engine's default max_clusters


class ClusteringSubject:
    """A clustering configuration on its rows, refitted and scored as the engine scores its test rows."""

    kind = "clustering"

    def __init__(self, features: pd.DataFrame, prep: Any, model: str, params: Mapping[str, Any], *,
                 metric: str = "silhouette", direction: str = "maximize", seed: int = 0,
                 test_share: float = TEST_SHARE, fit_seconds: float | None = None,
                 silhouette_rows: int | None = None) -> None:
        self.features, self.prep, self.model = features.reset_index(drop=True), prep, model
        self.params, self.metric, self.direction = dict(params), metric, direction
        self.seed, self.test_share, self.fit_seconds = int(seed), float(test_share), fit_seconds
        self.silhouette_rows = silhouette_rows  # the sample the engine scored with (None: the usual one)
        k = self.params.get("n_clusters")
        self.label = f"{self.spec.label}" + (f" (k={k})" if k is not None else "")
        self.search_model = model

    @property
    def spec(self) -> Any:
        """The algorithm's registry entry (looked up, not stored: entries hold functions, subjects are pickled)."""
        from automlops.clustering.algorithms import CLUSTER_MODELS

        return CLUSTER_MODELS.get(self.model)

    # ------------------------------------------------------------------ splits
    def resampling(self, k: int, seed: int) -> tuple[str, list[Resample]]:
        pct = round(100 * self.test_share)
        return (f"{k} random {100 - pct}/{pct} splits of the {len(self.features)} rows (Monte Carlo "
                f"cross-validation): each refit clusters {100 - pct} % of the rows and is scored by {self.metric} on "
                f"the {pct} % it assigns with predict, the same kind of split the reported test score came from",
                holdouts(len(self.features), k, seed, self.test_share, min_test=3))

    def reference_split(self) -> Resample:
        """The engine's own split: a permutation by the model's seed, the last 20 % kept aside."""
        n = len(self.features)
        order = np.random.default_rng(self.seed).permutation(n)
        cut = max(8, int(round(n * (1 - self.test_share))))
        return Resample(np.sort(order[:cut]), np.sort(order[cut:]), "the engine's test split")

    def has_randomness(self) -> bool:
        return "random_state" in self.spec.build(dict(self.params), 0).get_params()

    # ------------------------------------------------------------------ sensitivity
    def _spaces(self) -> dict[str, Any]:
        from automlops.clustering.algorithms import data_scale

        ref = self.reference_split()
        X = self._transform(ref)[0]
        scale = data_scale(X, max(2, min(MAX_CLUSTERS, len(X) - 1)), self.seed)
        recorder = RecordingSuggest(self.params)
        self.spec.search_space(recorder, scale)  # type: ignore[arg-type]
        return recorder.spaces

    def sweeps(self, points: int) -> list[Sweep]:
        return sweeps_from(self._spaces(), self.params, points)

    def search_distributions(self) -> dict[str, Any]:
        return to_distributions(self._spaces())

    # ------------------------------------------------------------------ one refit
    def _transform(self, resample: Resample) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.base import clone

        prep = clone(self.prep)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_train = np.asarray(prep.fit_transform(self.features.iloc[resample.train]), dtype=float)
            X_test = np.asarray(prep.transform(self.features.iloc[resample.test]), dtype=float)
        return X_train, X_test

    def _estimator(self, params: dict[str, Any], X_train: np.ndarray, seed: int) -> Any:
        from automlops.clustering.algorithms import data_scale

        if "eps_quantile" in params:  # DBSCAN: the radius means "this quantile of the k-distances" of these rows
            scale = data_scale(X_train, 2, self.seed)
            params["eps"] = scale.eps(int(params["min_samples"]), float(params["eps_quantile"]))
        return self.spec.clusterer(params, seed, len(X_train), predicts=True)

    def fit_score(self, resample: Resample, *, seed: int, params: Mapping[str, Any] | None = None,
                  deadline: float | None = None) -> float:
        """Cluster the training rows, assign the test rows with ``predict``, score them with the metric."""
        from automlops.clustering.engine import few_threads
        from automlops.clustering.metrics import n_clusters, score_one
        from automlops.search.deadline import interrupt_at

        X_train, X_test = self._transform(resample)
        estimator = self._estimator({**self.params, **dict(params or {})}, X_train, seed)
        with warnings.catch_warnings(), few_threads(len(X_train)), interrupt_at(deadline):
            warnings.simplefilter("ignore")
            estimator.fit(X_train)
            labels = np.asarray(estimator.predict(X_test), dtype=int)
        value = score_one(X_test, labels, self.metric, seed=self.seed, sample=self.silhouette_rows)
        if not np.isfinite(value):
            raise ModelError(f"{self.metric} is undefined on this split: the {len(X_test)} test rows fell into "
                             f"{n_clusters(labels)} cluster(s) (at least 2 are needed)")
        return float(value)


def saved_subject(loaded: Any) -> ClusteringSubject:
    """The stability subject of a saved clustering (:class:`~automlops.mlops.store.LoadedModel`)."""
    meta, pipe = loaded.meta, loaded.model
    steps = getattr(pipe, "steps", None)
    if not steps or len(steps) < 2:
        raise ModelError(f"{model_ref(meta)} is not a preprocessing + clustering pipeline; it cannot be refitted")
    model = str(meta.get("best_model") or "")
    from automlops.clustering.algorithms import CLUSTER_MODELS

    if model not in CLUSTER_MODELS:
        raise ModelError(f"{model_ref(meta)} names the clustering algorithm '{model}', which this version of the "
                         "studio does not have")
    frame = lake_frame(meta)
    columns = list(meta.get("input_columns") or [])
    if not columns:
        raise DataError(f"{model_ref(meta)} does not record its input columns; it cannot be refitted")
    require_columns(frame, columns, meta)
    timing = next((row.get("fit_seconds") for row in meta.get("leaderboard") or [] if row.get("model") == model),
                  None)
    return ClusteringSubject(frame[columns], steps[0][1], model, meta.get("best_params") or {},
                             metric=str(meta.get("metric") or "silhouette"),
                             direction=str(meta.get("direction") or "maximize"), seed=int(meta.get("seed") or 0),
                             fit_seconds=float(timing) if isinstance(timing, (int, float)) else None,
                             silhouette_rows=_silhouette_rows(meta))


def _silhouette_rows(meta: Mapping[str, Any]) -> int | None:
    """The silhouette sample the engine scored the test rows with (sized to its time budget), if recorded."""
    rows = meta.get("silhouette_rows")
    return int(rows) if isinstance(rows, int) and not isinstance(rows, bool) and rows > 0 else None
