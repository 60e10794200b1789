"""What a table must be to be clustered: a DataFrame, enough rows, a reference column that exists,
and at least one column that varies. Each refusal is a :class:`~automlops.errors.DataError` that
names the problem (the CLI turns it into exit code 2, the API into a 422).

And which algorithms can run on it (:func:`runnable_models`): one whose cost grows with the square
of the rows clusters a sample of a large table, or is skipped when it cannot; one that finds its own
number of clusters is left out when k is fixed; one made for large tables is left out of a small one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from automlops.clustering.algorithms import CLUSTER_MODELS
from automlops.clustering.assign import describe_assigner
from automlops.errors import ConfigError, DataError
from automlops.search.engine import DecisionLog

__all__ = ["MIN_ROWS", "check_not_constant", "check_rows", "runnable_models", "split_reference"]

MIN_ROWS = 10


def check_rows(data: Any) -> pd.DataFrame:
    """The table itself, when it is a DataFrame with enough rows to cluster."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"clustering needs a table (a pandas DataFrame), not a {type(data).__name__}")
    if len(data) < MIN_ROWS:
        raise DataError(f"clustering needs at least {MIN_ROWS} rows to find groups and test them; this table has "
                        f"{len(data)}")
    return data


def split_reference(data: pd.DataFrame, reference: str | None) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The features without the reference column, and the reference's values (None without one)."""
    if reference is None:
        return data, None
    if reference not in data.columns:
        shown = ", ".join(f"'{c}'" for c in list(data.columns)[:20])
        raise DataError(f"reference column '{reference}' is not in the table; its columns are: {shown}")
    return data.drop(columns=[reference]), data[reference].to_numpy()


def check_not_constant(features: pd.DataFrame) -> None:
    """Refuse a table whose every column holds one value: no row differs from another."""
    constant = [str(c) for c in features.columns if features[c].nunique(dropna=True) <= 1]
    if len(constant) == len(features.columns):
        names = ", ".join(f"'{c}'" for c in constant[:20]) or "none"
        raise DataError(f"every column holds a single value (constant: {names}), so no row differs from another "
                        "and there is nothing to cluster; give columns that vary between rows")


def runnable_models(names: Sequence[str], n_rows: int, log: DecisionLog, *, named: bool,
                    n_clusters: int | None) -> tuple[str, ...]:
    """The algorithms of ``names`` that run on ``n_rows`` training rows, each exclusion said in ``log``.

    ``named``: the user listed the algorithms, so only what cannot run at all is left out.
    """
    kept = []
    for name in names:
        spec = CLUSTER_MODELS.get(name)
        large = spec.max_rows is not None and n_rows > spec.max_rows
        if large and not spec.samples(n_rows):
            log("models", f"{name} skipped: its cost grows with the square of the rows and there are "
                          f"{n_rows} (> {spec.max_rows})")
        elif not named and n_clusters is not None and spec.noise:
            log("models", f"{name} skipped: it finds its own number of clusters, and it is fixed at "
                          f"{n_clusters} (name it in models to search it anyway)")
        elif not named and n_rows < spec.min_rows:
            log("models", f"{name} skipped: it is made for large tables; below {spec.min_rows} rows another "
                          "algorithm does the same job exactly and faster (name it in models to search it anyway)")
        else:
            kept.append(name)
            if large:
                log("models", f"{name} clusters a random sample of {spec.max_rows:,} of the {n_rows:,} rows "
                              "(its cost grows with the square of the rows); the other rows get their cluster from "
                              f"{describe_assigner(str(spec.assigner))}")
    if not kept:
        raise ConfigError("no clustering algorithm can run on this many rows; choose kmeans or minibatch_kmeans")
    log("models", "searched: " + ", ".join(kept))
    return tuple(kept)
