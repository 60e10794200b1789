"""Refit a blend on all rows one member at a time, so a short budget still refits what it can.

After the test rows have scored the final model, the studio refits it on train + test rows (more
data, same recipe; see :mod:`automlops.tabular.final_fit`). For a blend – a weighted soft vote of
a few models – that refit is a sum of independent fits, one per member. Done as one block, it is
all or nothing: when the time left cannot cover every member (on bikeshare at 60 s, three boosted
members needed ~14 s and ~10 s were left) nothing was refitted at all.

Done member by member, the blend keeps every member it could refit in time and, for the others,
their fit on the training rows: every member is a valid model of the same target, and the blend's
weights stay as ensemble selection chose them. The members with the largest weight go first (they
move the blend's predictions most), each under the deadline: a member still fitting when the time is
up is abandoned and keeps its earlier fit. With enough time the result is exactly the block refit.

Member by member also lets memory go between members. A member's fit leaves freed buffers behind
(its copy of the encoded features, a boosting library's work arrays) that the C allocator keeps
unless asked to return them; the search asks after every trial, but ``VotingClassifier.fit`` fits
every member in one call. :func:`fit_members` is that fit, one member at a time with the freed pages
handed back in between (``core.memory.release_unused_memory``), and so is every refit here: on a
12-class table (males, 30 s) the end of the training peaked ~15 MB lower.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch

from automlops.core.memory import release_unused_memory
from automlops.search.deadline import DeadlineExceeded, interrupt_at
from automlops.search.engine import DecisionLog
from automlops.tabular.evaluate import one_openmp_thread
from automlops.tabular.forest_growth import fit_before_deadline

__all__ = ["RefitReport", "fit_members", "is_blend", "is_voting", "refit_blend", "refit_members", "reusable"]


def is_voting(model: Any) -> bool:
    """A soft vote or weighted average of members (fitted or not)."""
    return isinstance(model, VotingClassifier | VotingRegressor)


def fit_members(blend: Any, X: pd.DataFrame, y: Any, fitted: Sequence[Any | None] | None = None) -> Any:
    """``blend.fit(X, y)`` for a vote, one member at a time, handing freed memory back after each.

    The same steps as scikit-learn's ``VotingClassifier.fit`` / ``VotingRegressor.fit`` (labels
    encoded 0..k-1, a fresh clone of each member, ``named_estimators_``); only the order of
    operations around them differs. Each member goes through ``fit_before_deadline``, so a forest
    keeps to a deadline in force exactly as it would alone. ``fitted[i]``, when given and
    :func:`reusable`, is member ``i`` already fitted (the search's own model of that trial) and is
    used as it is.
    """
    if blend.weights is not None and len(blend.weights) != len(blend.estimators):
        raise ValueError(f"{len(blend.weights)} weights for {len(blend.estimators)} members")
    if isinstance(blend, VotingClassifier):
        blend.le_ = LabelEncoder().fit(y)
        blend.classes_ = blend.le_.classes_
        target = blend.le_.transform(y)
    else:
        target = np.asarray(y).ravel()
    blend.estimators_ = []
    for i, (_, member) in enumerate(blend.estimators):
        ready = fitted[i] if fitted is not None else None
        if ready is not None and reusable(blend, ready):
            blend.estimators_.append(ready)
            continue
        blend.estimators_.append(fit_before_deadline(clone(member), X, target))
        release_unused_memory()
    names = [name for name, _ in blend.estimators]
    blend.named_estimators_ = Bunch(**dict(zip(names, blend.estimators_, strict=True)))
    for member in blend.estimators_:
        if hasattr(member, "feature_names_in_"):
            blend.feature_names_in_ = member.feature_names_in_
    return blend


def reusable(blend: Any, member: Any) -> bool:
    """Whether a member fitted outside the vote can serve in it as it is.

    The vote fits its members on labels encoded 0..k-1, the search on the labels themselves. A soft
    vote only averages ``predict_proba``, whose columns follow the sorted classes either way, so a
    member that knows every class fits in; a hard vote counts the members' predicted *codes*, so it
    cannot take one. A regression vote averages predictions: any fitted member fits in.
    """
    if isinstance(blend, VotingRegressor):
        return True
    classes = getattr(member, "classes_", None)
    return (blend.voting == "soft" and classes is not None and hasattr(blend, "le_")
            and np.array_equal(np.asarray(classes), blend.le_.classes_))


def is_blend(model: Any, y: pd.Series) -> bool:
    """A fitted vote (plain or weighted) whose members can be refitted one by one on labels ``y``."""
    if not (is_voting(model) and hasattr(model, "estimators_")):
        return False
    return not hasattr(model, "le_") or bool(np.isin(np.unique(y), model.le_.classes_).all())


class RefitReport:
    """Which members were refitted on all rows and which kept their fit on the training rows."""

    def __init__(self, refitted: list[str], kept: list[str]) -> None:
        self.refitted, self.kept = refitted, kept

    @property
    def complete(self) -> bool:
        return not self.kept


def _member_order(blend: Any) -> list[int]:
    weights = blend.weights if blend.weights is not None else [1.0] * len(blend.estimators)
    return sorted(range(len(blend.estimators)), key=lambda i: -float(weights[i]))


def refit_members(blend: Any, X: pd.DataFrame, y: pd.Series, deadline: float | None,
                  prepare: Callable[[Any, Any], Any], release_replaced: bool = False) -> tuple[Any, RefitReport]:
    """A copy of ``blend`` whose members are refitted on ``X, y``, heaviest first, until ``deadline``.

    ``prepare(unfitted, fitted)`` adjusts each fresh member before its fit (e.g. sets its boosting
    rounds from what the fitted member needed). The input blend is not changed, unless
    ``release_replaced``: then each member is dropped from the input as soon as its refit is done
    (for a caller that will not use the input again once a member was refitted). Memory then holds
    one member twice at a time instead of the whole blend: a random forest of 22k rows is tens of MB.
    """
    refitted = copy.copy(blend)
    refitted.estimators_ = list(blend.estimators_)
    # a classifier's members learn encoded labels 0..k-1 (VotingClassifier.fit does the same)
    target = blend.le_.transform(y) if hasattr(blend, "le_") else np.asarray(y)
    names = [name for name, _ in blend.estimators]
    done: list[str] = []
    for i in _member_order(blend):
        member = prepare(clone(blend.estimators[i][1]), blend.estimators_[i])
        try:
            with interrupt_at(deadline), warnings.catch_warnings(), one_openmp_thread():
                warnings.simplefilter("ignore")
                refitted.estimators_[i] = fit_before_deadline(member, X, target)
        except DeadlineExceeded:
            break
        done.append(names[i])
        if release_replaced:
            _release(blend, i)
        release_unused_memory()
    refitted.named_estimators_ = Bunch(**dict(zip(names, refitted.estimators_, strict=True)))
    return refitted, RefitReport([n for n in names if n in done], [n for n in names if n not in done])


def _release(blend: Any, i: int) -> None:
    """Drop the fitted member ``i`` from ``blend`` (both of its references), so its memory can go."""
    name = blend.estimators[i][0]
    blend.estimators_[i] = None
    if hasattr(blend, "named_estimators_"):
        blend.named_estimators_[name] = None


def refit_blend(fitted: Any, X: pd.DataFrame, y: pd.Series, deadline: float | None,
                prepare: Callable[[Any, Any], Any], log: DecisionLog,
                release_replaced: bool = False) -> tuple[Any, list[str]]:
    """:func:`refit_members`, with the decision said in words; also the members that kept their old fit."""
    refitted, report = refit_members(fitted, X, y, deadline, prepare, release_replaced)
    if not report.refitted:
        log("result", "kept the model trained on the training rows: no member of the blend could be refitted on "
                      "all rows within the time budget")
        return fitted, []
    if report.complete:
        log("result", f"refitted the final model on all {len(X)} rows (train + test), member by member, so it "
                      "learns from every row; the test score above was measured before, on a model that had not "
                      "seen the test rows")
    else:
        log("result", f"refitted {', '.join(report.refitted)} on all {len(X)} rows (train + test), the members "
                      f"with the most weight first; {', '.join(report.kept)} kept their fit on the training rows: "
                      "the time budget ran out (a blend's members are refitted one by one, so a short budget still "
                      "refits what it can)")
    return refitted, report.kept
