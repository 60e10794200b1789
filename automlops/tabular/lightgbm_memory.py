"""LightGBM without its text round trip, where keeping the trained booster costs less memory.

When ``lightgbm.train`` finishes, it turns the booster it trained into a prediction-only one by
writing the whole model out as text and parsing it back (``keep_training_booster=False``, which
LightGBM's scikit-learn API always uses). That frees the training state, but for a model of many
trees the text is large and exists several times over at once (LightGBM's string stream, a
ctypes buffer, Python's bytes and str). Measured on a 12-class table, 400 rounds of 63 leaves
(4,800 trees, 29 MB of text): the conversion peaked **132 MB** above the trained booster, for a
model that then takes ~25 MB; keeping the trained booster as it is peaked nowhere above it.

Keeping it is not free either: the trained booster holds its training state, above all one
gradient histogram per leaf (``num_leaves x bins x 16 bytes``: 100 MB for 256 leaves on 100
numeric features) plus the binned rows and score buffers. So the choice is made fit by fit, by
size: keep the trained booster when its state is smaller than the conversion's peak would be,
else convert as LightGBM does. Many small trees on few bins (multi-class, long boosting) keep;
few big trees on many bins convert.

A kept booster is the same model as a converted one: the rounds an early stop ran past its best are
rolled back, as the conversion (which writes the text up to the best round) drops them.
Only fits inside :func:`trained_boosters_kept` are affected (the zoo's boosting wrapper opens it);
every other LightGBM fit in the process behaves as LightGBM ships it. A kept booster's datasets
stay referenced next to it (it still points at them) and go with it; a saved model is the same
either way, since saving writes the text then, once.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from automlops.tabular.boosting_size import leaves_per_tree

__all__ = ["TEXT_BYTES_PER_LEAF", "ROUND_TRIP_TEXT_COPIES", "round_trip_bytes", "trained_boosters_kept",
           "training_state_bytes"]

TEXT_BYTES_PER_LEAF = 100  # a leaf's share of the model text (split, threshold, value, counts...), measured
ROUND_TRIP_TEXT_COPIES = 4.5  # the conversion's peak above the trained booster, in model texts (132 / 29 MB)
HISTOGRAM_BIN_BYTES = 16  # a sum of gradients and one of hessians, two doubles, per bin

_KEEP: ContextVar[bool] = ContextVar("lightgbm_trained_boosters_kept", default=False)
# A kept booster -> the datasets its C++ side still points at; an entry goes when its booster does.
_DATASETS: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()


@contextmanager
def trained_boosters_kept() -> Iterator[None]:
    """Within this block, LightGBM scikit-learn fits keep their trained booster where that is smaller."""
    _install()
    token = _KEEP.set(True)
    try:
        yield
    finally:
        _KEEP.reset(token)


def training_state_bytes(booster: Any, train_set: Any, valid_sets: list[Any]) -> int:
    """Roughly what a trained booster holds beyond its trees: the per-leaf histogram cache, the
    binned rows and the score, gradient and hessian buffers."""
    bins = sum(int(train_set.feature_num_bin(i)) for i in range(train_set.num_feature()))
    per_round = int(booster.num_model_per_iteration())
    rows = [int(train_set.num_data())] + [int(v.num_data()) for v in valid_sets]
    histograms = _num_leaves(booster) * bins * HISTOGRAM_BIN_BYTES
    binned = sum(rows) * train_set.num_feature()
    buffers = sum(rows) * per_round * 8 + rows[0] * per_round * 8
    return histograms + binned + buffers


def round_trip_bytes(booster: Any) -> int:
    """Roughly the conversion's peak above the trained booster: a few copies of the model's text, which
    holds the trees up to the best round (an early stop's later rounds are not written)."""
    rounds = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    trees = int(rounds) * int(booster.num_model_per_iteration())
    return int(ROUND_TRIP_TEXT_COPIES * TEXT_BYTES_PER_LEAF * trees * _num_leaves(booster))


def _num_leaves(booster: Any) -> int:
    return leaves_per_tree(booster.params, "lightgbm")


def _back_to_best_round(booster: Any) -> None:
    """Drop the rounds an early stop ran past its best, as the round trip does (it writes the text up to the
    best round): the kept model is then the same model, also for ``copy.deepcopy``, which rebuilds a booster
    from its text without its best round. Each rollback takes a round's trees off the training and
    validation scores, a fraction of what the round cost to train."""
    while 0 < booster.best_iteration < booster.current_iteration():
        booster.rollback_one_iter()


def _install() -> None:
    """Route ``lightgbm.sklearn``'s call of ``train`` through the wrapper :func:`_dispatching` builds (once per process)."""
    import lightgbm.sklearn as lgb_sklearn

    if not getattr(lgb_sklearn.train, "_automlops_keeps_trained", False):
        lgb_sklearn.train = _dispatching(lgb_sklearn.train)


def _dispatching(library_train: Callable[..., Any]) -> Callable[..., Any]:
    def train(*args: Any, **kwargs: Any) -> Any:
        if not _KEEP.get() or args or kwargs.get("keep_training_booster"):
            return library_train(*args, **kwargs)  # outside the block: LightGBM as shipped
        booster = library_train(**{**kwargs, "keep_training_booster": True})
        train_set, valid_sets = kwargs["train_set"], list(kwargs.get("valid_sets") or [])
        if training_state_bytes(booster, train_set, valid_sets) < round_trip_bytes(booster):
            _DATASETS[booster] = (train_set, *valid_sets)
            _back_to_best_round(booster)
        else:  # what lightgbm.train does with keep_training_booster=False
            booster.model_from_string(booster.model_to_string()).free_dataset()
        return booster

    train._automlops_keeps_trained = True  # type: ignore[attr-defined]
    return train
