"""Which rows the model that scored the test rows learned from: what an exported script must fit on.

With one holdout validation split, the studio does not fit the winning recipe again on every
training row before the test: it scores the test rows with the model the search already fitted
for the winning trial, on the split's training part (~80 % of the training rows; see
:class:`automlops.tabular.evaluate.KeptModels` and ``final_fit._scored_model``). A blend reuses
its members' trial models the same way, and fits only the others on every training row. A script
that fitted everything on every training row would score a *different* model, and miss the
recorded test score.

:func:`scored_by` reads that from ``meta.json``: the field ``scored_fit`` when the studio records
it (``{"rows", "splitter", "n_splits", "holdout_size", "sorted_rows", "members"}``; ``members`` is
``null`` for one model, else the vote members that are trial models), else - for models saved
before it - from the decisions the training logged, which say the same in words.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

__all__ = ["scored_by"]

_SINGLE = re.compile(r"the test rows are scored by the model the search fitted for this trial \((\d+) rows\)")
_BLEND = re.compile(r"the test rows are scored by a blend whose members (.+?) are the models the search fitted "
                    r"for their trials \((\d+) rows\)")
_FIRST_FOLD = re.compile(r"the first of the (\d+) folds is one")


def _default_holdout_size() -> float:
    from automlops.tabular.validation import choose_validation

    return float(inspect.signature(choose_validation).parameters["holdout_size"].default)


def _prunes(search: str) -> bool:
    """Whether a search strategy fits on learning-curve slices (its last slice: every row, in index order)."""
    from automlops.search.strategies import STRATEGIES

    try:
        return bool(STRATEGIES.get(search).prunes)
    except Exception:  # noqa: BLE001 - a strategy this studio no longer knows: it did not prune
        return False


def scored_by(meta: dict[str, Any]) -> dict[str, Any] | None:
    """How the scored model was fitted (the script's ``SCORED_BY``), or ``None``: on every training row."""
    recorded = meta.get("scored_fit")
    if isinstance(recorded, dict):
        return dict(recorded) if recorded.get("rows") else None
    validation = str(meta.get("validation") or "")
    if not validation.startswith("holdout"):
        return None  # k folds hold no single model: the studio fitted the recipe on every training row
    decisions = [str(d) for d in meta.get("decisions") or []]
    members: list[str] | None = None
    rows = None
    for decision in decisions:
        if found := _SINGLE.search(decision):
            rows = int(found.group(1))
        elif found := _BLEND.search(decision):
            members, rows = [m.strip() for m in found.group(1).split(",")], int(found.group(2))
    if rows is None:
        return None
    folds = next((int(f.group(1)) for d in decisions if (f := _FIRST_FOLD.search(d))), None)
    if folds is not None:  # a k-fold plan cut to its first fold (tabular/validation_cost.py)
        splitter = "stratified" if validation == "holdout_stratified" else "kfold"
        size = 1 / folds
    else:
        splitter, size = validation, _default_holdout_size()
    return {"rows": rows, "splitter": splitter, "n_splits": folds, "holdout_size": size,
            "sorted_rows": _prunes(str(meta.get("search") or "")), "members": members}
