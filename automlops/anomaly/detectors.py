"""The detectors the anomaly engine searches: PyOD models, one registry entry each.

PyOD (Python Outlier Detection) gives dozens of unsupervised detectors one scikit-learn-like API:
``fit(X)`` learns what normal rows look like, ``decision_scores_`` holds the training rows' outlier
scores and ``decision_function(X)`` scores new rows – **higher means more anomalous** for every one.
They disagree about *what* an anomaly is, which is why the engine keeps several families:

* **isolation** (IsolationForest, INNE) – anomalies are isolated by few random splits / small balls;
* **tail probabilities** (ECOD, COPOD) – how far into the tails of each column's empirical
  distribution a row lies, summed over columns; no hyperparameters, fast, good on skewed data;
* **density and distance** (LOF, KNN) – few neighbours nearby means unusual;
* **boundary** (OCSVM) – outside a smooth frontier around most of the data;
* **histograms** (HBOS) – rare bins, one column at a time (fast, handles discrete columns);
* **linear structure** (PCA) – far from the main directions of variation;
* **mixture density** (GMM) – low likelihood under a mixture of Gaussians.

Each entry says how to build the detector, its search space (read by Optuna through
:class:`~automlops.tabular.zoo.Suggest`), its defaults (tried first, and the *panel* that the
unsupervised selection criterion compares against, see :mod:`automlops.anomaly.selection`) and the
most rows it is fitted on: OCSVM, LOF and KNN cost O(n²), so above ``max_rows`` they learn from a
random sample and still score every row. ECOD and COPOD are wrapped after fitting
(:mod:`automlops.anomaly.tails`) so that a new row's score never depends on the other rows scored with it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automlops.anomaly.tails import freeze_tails
from automlops.core.registry import Registry
from automlops.search.suggest import Suggest

__all__ = ["DETECTORS", "PANEL", "DetectorSpec", "fit_detector", "score_after_fit_on"]

Build = Callable[[dict[str, Any], int], Any]
Space = Callable[[Suggest], dict[str, Any]]


@dataclass(frozen=True)
class DetectorSpec:
    """One PyOD detector: how to build it, its search space, its defaults and its row cap."""

    name: str
    label: str
    build: Build = field(repr=False)
    search_space: Space = field(repr=False)
    defaults: dict[str, Any] = field(default_factory=dict)
    max_rows: int = 20_000  # fitted on a random sample above this many rows
    description: str = ""


def _no_params(_: Suggest) -> dict[str, Any]:
    return {}


def _cache_compiled(function: Any) -> None:
    """Keep a numba function's machine code on disk between processes.

    PyOD's HBOS scores rows with a numba-compiled function that is compiled again in every new
    process (~5–8 s, a large bite of a 30 s budget); ECOD and COPOD build their ECDFs with another. Numba can cache the compiled code next to the
    source (or in its user cache folder); PyOD does not ask for it, so we do. If caching is
    impossible (read-only install), HBOS simply compiles as before.
    """
    if getattr(function, "_automlops_cached", False):
        return
    try:
        function.enable_caching()
        function._automlops_cached = True
    except Exception:  # noqa: BLE001 - an optimisation only; compiling without a cache still works
        function._automlops_cached = True


def _iforest(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.iforest import IForest

    return IForest(n_estimators=int(p.get("n_estimators", 100)), max_samples=p.get("max_samples", "auto"),
                   max_features=float(p.get("max_features", 1.0)), random_state=seed)


def _ecod(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.ecod import ECOD
    from pyod.utils import stat_models

    _cache_compiled(stat_models.ecdf_terminate_equals_inplace)  # its ECDF helper: compiled in every process too
    return ECOD()


def _copod(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.copod import COPOD
    from pyod.utils import stat_models

    _cache_compiled(stat_models.ecdf_terminate_equals_inplace)
    return COPOD()


def _lof(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.lof import LOF

    return LOF(n_neighbors=int(p.get("n_neighbors", 20)))


def _knn(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.knn import KNN

    return KNN(n_neighbors=int(p.get("n_neighbors", 5)), method=str(p.get("method", "largest")))


def _ocsvm(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.ocsvm import OCSVM

    return OCSVM(nu=float(p.get("nu", 0.5)), gamma=p.get("gamma", "auto"))


def _hbos(p: dict[str, Any], seed: int) -> Any:
    from pyod.models import hbos

    _cache_compiled(hbos._calculate_outlier_scores)
    return hbos.HBOS(n_bins=int(p.get("n_bins", 10)), alpha=float(p.get("alpha", 0.1)))


def _pca(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.pca import PCA

    return PCA(n_components=p.get("n_components"), random_state=seed)


def _gmm(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.gmm import GMM

    return GMM(n_components=int(p.get("n_components", 1)), covariance_type=str(p.get("covariance_type", "full")),
               reg_covar=1e-4, random_state=seed)


def _inne(p: dict[str, Any], seed: int) -> Any:
    from pyod.models.inne import INNE

    return INNE(n_estimators=int(p.get("n_estimators", 200)), max_samples=p.get("max_samples", "auto"),
                random_state=seed)


DETECTORS: Registry[DetectorSpec] = Registry("anomaly detector")
_ENTRIES = [
    DetectorSpec("iforest", "Isolation Forest", _iforest,
                 lambda s: {"n_estimators": s.int("n_estimators", 50, 400, log=True),
                            "max_samples": s.float("max_samples", 0.05, 1.0),
                            "max_features": s.float("max_features", 0.3, 1.0)},
                 description="random splits isolate anomalies in few steps"),
    DetectorSpec("ecod", "ECOD", _ecod, _no_params, description="empirical tail probabilities per column"),
    DetectorSpec("copod", "COPOD", _copod, _no_params, description="copula-based tail probabilities"),
    DetectorSpec("lof", "Local Outlier Factor", _lof, lambda s: {"n_neighbors": s.int("n_neighbors", 5, 100, log=True)},
                 max_rows=10_000, description="local density compared with the neighbours' density"),
    DetectorSpec("knn", "k-nearest neighbours", _knn,
                 lambda s: {"n_neighbors": s.int("n_neighbors", 3, 100, log=True),
                            "method": s.cat("method", ["largest", "mean", "median"])},
                 max_rows=10_000, description="distance to the k-th (or mean of k) nearest neighbours"),
    DetectorSpec("ocsvm", "One-class SVM", _ocsvm,
                 lambda s: {"nu": s.float("nu", 0.05, 0.5), "gamma": s.float("gamma", 1e-3, 1.0, log=True)},
                 max_rows=3_000, description="a smooth RBF frontier around most of the data"),
    DetectorSpec("hbos", "HBOS", _hbos,
                 lambda s: {"n_bins": s.int("n_bins", 5, 60), "alpha": s.float("alpha", 0.01, 0.5)},
                 description="rare histogram bins, column by column"),
    DetectorSpec("pca", "PCA reconstruction", _pca, lambda s: {"n_components": s.float("n_components", 0.3, 0.99)},
                 description="distance from the main directions of variation"),
    DetectorSpec("gmm", "Gaussian mixture", _gmm,
                 lambda s: {"n_components": s.int("n_components", 1, 10),
                            "covariance_type": s.cat("covariance_type", ["full", "diag", "tied"])},
                 description="low likelihood under a mixture of Gaussians"),
    DetectorSpec("inne", "INNE", _inne,
                 lambda s: {"n_estimators": s.int("n_estimators", 50, 300, log=True),
                            "max_samples": s.int("max_samples", 4, 64, log=True)},
                 description="isolation by nearest-neighbour balls"),
]
for _spec in _ENTRIES:
    DETECTORS.add(_spec.name, _spec)

# The fixed panel of diverse default detectors the unsupervised criterion compares against: the
# seven families the issue names, one per idea of "anomalous" (isolation, tails, density, distance,
# boundary, histograms).
PANEL: tuple[str, ...] = ("iforest", "ecod", "copod", "lof", "knn", "ocsvm", "hbos")


def _sample_rows(n: int, cap: int, seed: int) -> np.ndarray | None:
    if n <= cap:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, cap, replace=False))


def fit_detector(spec: DetectorSpec, params: dict[str, Any], X: np.ndarray, seed: int) -> tuple[Any, np.ndarray]:
    """Fit one detector on ``X`` (a random sample above its row cap); return it and every row's raw score."""
    detector = spec.build(dict(params), seed)
    rows = _sample_rows(len(X), spec.max_rows, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_fit = X if rows is None else X[rows]
        detector = freeze_tails(detector.fit(X_fit), X_fit)  # ECOD/COPOD: new rows scored on training alone
        if rows is None:
            scores = np.asarray(detector.decision_scores_, dtype=float)
        else:
            scores = np.asarray(detector.decision_function(X), dtype=float)
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{spec.name} gave non-finite scores with {params}")
    return detector, scores


def score_after_fit_on(spec: DetectorSpec, params: dict[str, Any], X: np.ndarray, rows: np.ndarray,
                       seed: int) -> np.ndarray:
    """Fit on ``X[rows]`` only, then score every row of ``X`` (used to measure stability)."""
    detector, _ = fit_detector(spec, params, X[rows], seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(detector.decision_function(X), dtype=float)
