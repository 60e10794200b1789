"""The bootstrap's weighted metrics equal the studio's metrics: on all rows, and on each resample."""

from __future__ import annotations

import numpy as np
import pytest

from automlops.core.metrics import get_metric, score
from automlops.search.significance import BootstrapScores
from automlops.tabular.resampled_metrics import resampled_scores

RNG = np.random.default_rng(0)
N = 300


def _classification(n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    classes = ["a", "b", "c"][:n_classes]
    y = np.asarray(classes)[RNG.integers(0, n_classes, N)]
    proba = RNG.dirichlet(np.ones(n_classes), N)
    proba[np.arange(N), np.searchsorted(classes, y)] += 0.4  # better than chance
    proba = proba / proba.sum(axis=1, keepdims=True)
    proba[:, :-1] = np.floor(proba[:, :-1] * 20) / 20  # coarse scores: many ties, as AUC must handle
    proba[:, -1] = 1.0 - proba[:, :-1].sum(axis=1)
    return y, np.asarray(classes)[proba.argmax(axis=1)], proba, classes


CASES = [(m, k) for m in ("accuracy", "balanced_accuracy", "f1", "f1_macro", "roc_auc", "log_loss") for k in (2, 3)]


def _resample_rows(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts.astype(int))


@pytest.mark.parametrize(("metric", "n_classes"), CASES)
def test_classification_metrics(metric: str, n_classes: int) -> None:
    y, pred, proba, classes = _classification(n_classes)
    batch = resampled_scores(metric, y, pred, proba, classes)
    assert batch is not None
    spec = get_metric(metric)
    assert batch(np.ones((1, N)))[0] == pytest.approx(score(spec, y, pred, proba, classes), abs=1e-12)
    counts = BootstrapScores(N, n_resamples=5, seed=1).counts()
    for c, value in zip(counts, batch(counts), strict=True):
        rows = _resample_rows(c)
        assert value == pytest.approx(score(spec, y[rows], pred[rows], proba[rows], classes), abs=1e-12)


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2", "mape"])
def test_regression_metrics(metric: str) -> None:
    y = RNG.normal(10, 3, N)
    pred = y + RNG.normal(0, 1, N)
    batch = resampled_scores(metric, y, pred, None, ())
    assert batch is not None
    counts = np.vstack([np.ones(N), BootstrapScores(N, n_resamples=4, seed=2).counts()])
    for c, value in zip(counts, batch(counts), strict=True):
        rows = _resample_rows(c)
        assert value == pytest.approx(score(get_metric(metric), y[rows], pred[rows], None), rel=1e-10)


def test_the_counts_are_resamples_of_every_row() -> None:
    counts = BootstrapScores(50, n_resamples=200, seed=3).counts()
    assert counts.shape == (200, 50) and (counts.sum(axis=1) == 50).all()
    assert counts.mean() == pytest.approx(1.0) and (counts == 0).mean() == pytest.approx((1 - 1 / 50) ** 50, abs=0.02)
    assert BootstrapScores(10_000, seed=3).n_resamples == 250  # a large holdout: fewer resamples, bounded memory
    assert resampled_scores("silhouette", np.zeros(3), np.zeros(3), None, ()) is None


def test_counts_are_built_a_few_resamples_at_a_time_with_the_same_draws() -> None:
    """The count matrix is the one a single (B, n) draw gives (same seed, same resamples: results are
    reproducible across versions), built without the three temporary matrices of its size."""
    import tracemalloc

    n, b = 4057, 600
    rows = np.random.default_rng(7).integers(0, n, size=(b, n))
    expected = np.stack([np.bincount(r, minlength=n) for r in rows]).astype(float)
    del rows
    tracemalloc.start()
    try:
        counts = BootstrapScores(n, n_resamples=b, seed=7).counts()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(counts, expected) and counts.dtype == np.uint16
    extra = peak - counts.nbytes  # one chunk's draws and counts (~6 MB); in one go it was 3x the matrix (56 MB)
    assert extra < 10 * 2**20, f"peak {peak / 2**20:.1f} MB for a {counts.nbytes / 2**20:.1f} MB matrix"
