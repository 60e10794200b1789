"""Shapley values of any model, by sampling orders of the features (the model-agnostic path).

This is the algorithm of ``shap.PermutationExplainer``, written out so it can be read. The model is
a black box ``output(frame) -> rows × outputs``. For one row to explain:

1. Take a random order of the features. Start from a small **background** sample of the training
   rows and switch the row's features in one by one, in that order.
2. After each switch, score the background rows and average: the change of that mean is the
   switched feature's *marginal contribution* along this order.
3. Walk the same order backwards too (*antithetic* sampling: it cancels much of the noise), and
   average the contributions over all the orders walked.

Along any order the contributions add up to ``f(row) − mean f(background)`` exactly, so the result
is additive: base value + Σ contributions = the model's output for the row.

Text, dates and booleans cannot sit in a float matrix, so each such column is coded as integers
into its own ``levels`` and decoded back to the original values before the model sees them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["shapley_values"]

Output = Callable[[pd.DataFrame], np.ndarray]  # rows -> rows × outputs (probabilities, or the value)
Levels = list[np.ndarray | None]  # per column: the original values of its integer codes (None: a number)


def shapley_values(output: Output, background: pd.DataFrame, frame: pd.DataFrame, *, permutations: int,
                   batch_rows: int, predict_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(base values per output, values rows × features × outputs) for ``frame``'s rows.

    ``permutations`` orders are sampled per row (each walked both ways), fewer when a row would build
    more than ``batch_rows`` synthetic rows; the model scores at most ``predict_rows`` rows a call.
    """
    columns = list(background.columns)
    codes, levels = _encode(background, frame)
    decode = _decoder(output, columns, levels, background.dtypes.to_dict())
    n_bg, n_features = len(background), len(columns)
    rows_of_background = codes[:n_bg]
    base = decode(rows_of_background).mean(axis=0)
    n_perm = max(1, min(permutations, batch_rows // (2 * n_features * n_bg)))
    rng = np.random.default_rng(0)
    orders = [o for _ in range(n_perm) for o in [rng.permutation(n_features)] for o in (o, o[::-1])]
    values = np.zeros((len(frame), n_features, base.size))
    for i, row in enumerate(codes[n_bg:]):
        means = _switched_means(decode, rows_of_background, row, orders, predict_rows)
        previous = np.concatenate([np.broadcast_to(base, (len(orders), 1, base.size)), means[:, :-1]], axis=1)
        for o, order in enumerate(orders):
            values[i, order, :] += means[o] - previous[o]
    return base, values / len(orders)


def _encode(background: pd.DataFrame, frame: pd.DataFrame) -> tuple[np.ndarray, Levels]:
    """Background rows then ``frame``'s rows as one float matrix: numbers as they are, other
    columns (text, dates, booleans) as integer codes into per-column ``levels``."""
    both = pd.concat([background, frame], ignore_index=True)
    codes = np.empty(both.shape, dtype=float)
    levels: Levels = []
    for j, column in enumerate(background.columns):
        kind = background[column]
        if pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
            codes[:, j] = both[column].astype("float64").to_numpy()
            levels.append(None)
        else:
            code, found = pd.factorize(both[column], use_na_sentinel=False)
            codes[:, j] = code
            levels.append(np.asarray(found, dtype=object))
    return codes, levels


def _decoder(output: Output, columns: list[str], levels: Levels,
             dtypes: dict[str, object]) -> Callable[[np.ndarray], np.ndarray]:
    """``matrix -> output(frame)``: the coded rows turned back into the model's columns and scored."""
    def decode(matrix: np.ndarray) -> np.ndarray:
        data = {c: (matrix[:, j] if levels[j] is None else levels[j][matrix[:, j].astype(int)])  # type: ignore[index]
                for j, c in enumerate(columns)}
        return output(pd.DataFrame(data).astype(dtypes, errors="ignore"))
    return decode


def _switched_means(decode: Callable[[np.ndarray], np.ndarray], background: np.ndarray, row: np.ndarray,
                    orders: list[np.ndarray], predict_rows: int) -> np.ndarray:
    """``means[o, s]``: the mean output over the background rows with the row's features
    ``orders[o][:s + 1]`` switched in.

    Each (order, step) is a copy of the background rows, so the synthetic rows number orders ×
    features × background rows. They are built a block of about ``predict_rows`` rows at a time and
    scored in calls of at most that many: built all at once they held every column of every one of
    them (500 columns: 50,000 rows, 200 MB); blocks much smaller than a call would pay the
    pipeline's per-call cost more often (one order a block: twice as slow).
    """
    n_bg, n_features = background.shape
    units = [(order, step) for order in orders for step in range(n_features)]
    per_block = max(1, predict_rows // n_bg)
    means = []
    for first in range(0, len(units), per_block):
        chunk = units[first:first + per_block]
        block = np.repeat(background[None], len(chunk), axis=0)
        for j, (order, step) in enumerate(chunk):
            switched = order[:step + 1]
            block[j][:, switched] = row[switched]
        flat = block.reshape(-1, n_features)
        out = np.concatenate([decode(flat[start:start + predict_rows]) for start in range(0, len(flat), predict_rows)])
        means.append(out.reshape(len(chunk), n_bg, -1).mean(axis=1))
    return np.concatenate(means).reshape(len(orders), n_features, -1)
