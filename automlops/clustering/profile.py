"""Describing clusters so a person can read them: sizes, a profile per cluster, a 2-D picture.

* **sizes** – rows per cluster (noise, label ``-1``, counted apart);
* **profile** – for each cluster, the mean of every numeric column, the most frequent value of
  every categorical one and the earliest, median and latest time of every date/time column
  (``"time_hour (min)"``...), in the data's own units (not the scaled numbers the algorithm saw), so
  "cluster 2: bill length 47.5 mm, island Biscoe, March to May 2013" can be read directly;
* **projection** – the rows seen through **PCA** (principal component analysis): the two
  directions along which the scaled data varies most. A 2-D scatter of them, coloured by cluster,
  shows how separated the groups are; ``explained_variance`` says how much of the picture the two
  axes keep (a low share means the clusters may be separated in directions the plot cannot show).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DATE_STATS", "PROJECTION_ROWS", "cluster_profile", "cluster_sizes", "date_profile_keys", "projection"]

PROJECTION_ROWS = 2000


def cluster_sizes(labels: np.ndarray) -> tuple[list[int], list[int], int]:
    """Cluster ids (sorted, noise excluded), their sizes, and the number of noise rows."""
    labels = np.asarray(labels, dtype=int)
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    return [int(i) for i in ids], [int(c) for c in counts], int(np.sum(labels < 0))


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar (numpy numbers and NaN become float/None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


DATE_STATS = ("min", "median", "max")  # what the profile says of a date/time column, per cluster


def date_profile_keys(column: str) -> list[str]:
    """The profile's keys for one date/time column: ``"<column> (min)"``, ``(median)`` and ``(max)``."""
    return [f"{column} ({stat})" for stat in DATE_STATS]


def _as_times(values: pd.Series) -> pd.Series:
    """Offset-free UTC times, as the preprocessing reads them (unparseable values become NaT)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(values, errors="coerce", utc=True).dt.tz_convert(None)


def _date_stats(values: pd.Series) -> list[str | None]:
    """Earliest, median and latest time as ISO text (the date alone when every time is midnight)."""
    times = _as_times(values).dropna()
    if times.empty:
        return [None] * len(DATE_STATS)
    stats = [times.min(), times.quantile(0.5, interpolation="lower"), times.max()]
    dates_only = bool((times == times.dt.normalize()).all())
    return [t.strftime("%Y-%m-%d") if dates_only else t.isoformat() for t in stats]


def cluster_profile(frame: pd.DataFrame, labels: np.ndarray, numeric: Sequence[str],
                    categorical: Sequence[str], datetime: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One record per cluster (noise last): cluster, size, share, numeric means, top categories, date ranges."""
    labels = np.asarray(labels, dtype=int)
    records: list[dict[str, Any]] = []
    order = sorted(set(labels.tolist()), key=lambda c: (c < 0, c))
    for cluster in order:
        rows = frame.loc[labels == cluster]
        record: dict[str, Any] = {"cluster": int(cluster), "size": int(len(rows)),
                                  "share": round(len(rows) / max(len(frame), 1), 4)}
        for col in numeric:
            values = pd.to_numeric(rows[col], errors="coerce")
            record[col] = _plain(round(float(values.mean()), 4)) if values.notna().any() else None
        for col in categorical:
            counts = rows[col].dropna().astype(str).value_counts()
            record[col] = str(counts.index[0]) if len(counts) else None
        for col in datetime:
            record.update(zip(date_profile_keys(col), _date_stats(rows[col]), strict=True))
        records.append(record)
    return records


def projection(X: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """PCA to two axes, fitted on every row, of at most PROJECTION_ROWS sampled rows."""
    from sklearn.decomposition import PCA

    X, labels = np.asarray(X, dtype=float), np.asarray(labels, dtype=int)
    n_axes = min(2, X.shape[1], len(X))
    pca = PCA(n_components=n_axes, random_state=seed).fit(X)
    rows = np.arange(len(X))
    if len(X) > PROJECTION_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), PROJECTION_ROWS, replace=False))
    points = pca.transform(X[rows])
    y = points[:, 1] if n_axes > 1 else np.zeros(len(rows))
    return {"x": [round(float(v), 4) for v in points[:, 0]], "y": [round(float(v), 4) for v in y],
            "cluster": [int(c) for c in labels[rows]],
            "explained_variance": [round(float(v), 4) for v in pca.explained_variance_ratio_]}
