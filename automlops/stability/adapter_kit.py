"""What the clustering, anomaly, forecasting and vision stability adapters share.

Each adapter turns a saved model into a :class:`~automlops.stability.types.StabilitySubject`:
its configuration on the data version it was trained on. They need the same few things:

* the **data version** named in ``meta.json`` (:func:`lake_frame`), with a clear error when the
  model was uploaded without one, when that version is gone, or when columns it needs are missing;
* **random hold-out splits** (:func:`holdouts`): *Monte Carlo cross-validation*, K independent
  random train/test partitions of the same sizes as the split the reported score came from.
  Unlike K-fold, the test parts may overlap; the point is to redraw the *same kind* of split the
  reported number was measured on, K times, and see how much that number moves;
* **sweeps** around the chosen configuration from the engine's own search space
  (:class:`RecordingSuggest` records every ``int``/``float``/``cat`` a search space asks for,
  answering with the chosen value; :func:`sweep_for` turns one recorded range into the values
  to try, on a log scale where the search space is one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from automlops.errors import DataError
from automlops.stability.types import Resample, Sweep

__all__ = ["RecordingSuggest", "Space", "holdouts", "lake_frame", "model_ref", "require_columns", "sweep_for",
           "sweeps_from", "to_distributions"]


def model_ref(meta: Mapping[str, Any]) -> str:
    """``NAME@vN`` of a saved model (for messages)."""
    return f"{meta.get('name', 'model')}@v{meta.get('version', '?')}"


def dataset_of(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``dataset`` lineage of a saved model, or a DataError saying why stability cannot run without it."""
    dataset = meta.get("dataset")
    if not isinstance(dataset, Mapping) or not dataset.get("name"):
        raise DataError(f"{model_ref(meta)} was saved without a dataset version (an uploaded model?): a stability "
                        "analysis refits the model on the data it was trained on, so it needs that data in the lake")
    return dataset


def lake_frame(meta: Mapping[str, Any]) -> Any:
    """The table ``meta["dataset"]`` names, loaded from the data lake (SHA-256 checked)."""
    from automlops.errors import NotFoundError
    from automlops.mlops.lake import DataLake

    dataset = dataset_of(meta)
    try:
        return DataLake().load(str(dataset["name"]), dataset.get("version"))
    except NotFoundError as exc:
        raise DataError(f"{model_ref(meta)} was trained on {dataset['name']} v{dataset.get('version')}, which is no "
                        f"longer in the data lake ({exc}); add that data again to analyse the model") from None


def require_columns(frame: Any, columns: Sequence[str], meta: Mapping[str, Any]) -> None:
    """A DataError naming the columns the configuration needs that the data no longer has."""
    missing = [str(c) for c in columns if c not in frame.columns]
    if missing:
        shown = ", ".join(f"'{c}'" for c in missing[:20])
        raise DataError(f"the configuration of {model_ref(meta)} no longer fits its data: column(s) {shown} are "
                        "missing; restore them or train a new model")


def holdouts(n: int, k: int, seed: int, test_share: float, *, stratify: Any = None,
             min_test: int = 2) -> list[Resample]:
    """``k`` random train/test partitions of ``n`` rows (stratified by ``stratify`` when given)."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    n_test = max(min_test, int(round(n * test_share)))
    if n_test >= n - 1:
        raise DataError(f"{n} rows are too few to hold {n_test} out for testing and still learn from the rest")
    splitter: Any = ShuffleSplit(n_splits=k, test_size=n_test, random_state=seed)
    labels = None if stratify is None else np.asarray(stratify)
    if labels is not None:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= 2 and n_test >= len(counts):
            splitter = StratifiedShuffleSplit(n_splits=k, test_size=n_test, random_state=seed)
        else:
            labels = None
    parts = splitter.split(np.zeros((n, 1)), labels)
    return [Resample(np.sort(train), np.sort(test), f"random split {i + 1}") for i, (train, test) in enumerate(parts)]


# ---------------------------------------------------------------------------------------------- search spaces
@dataclass(frozen=True)
class Space:
    """One hyperparameter's range in a search space, as the engine declares it."""

    name: str
    kind: str  # "int" | "float" | "cat"
    low: Any = None
    high: Any = None
    log: bool = False
    choices: tuple[Any, ...] = ()


class RecordingSuggest:
    """Stands in for :class:`~automlops.search.suggest.Suggest`: records each range, answers the chosen value."""

    def __init__(self, chosen: Mapping[str, Any]) -> None:
        self.chosen: dict[str, Any] = dict(chosen)
        self.spaces: dict[str, Space] = {}

    def int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        self.spaces[name] = Space(name, "int", int(low), int(high), log)
        return int(self.chosen.get(name, low))

    def float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        self.spaces[name] = Space(name, "float", float(low), float(high), log)
        return float(self.chosen.get(name, low))

    def cat(self, name: str, choices: Sequence[Any]) -> Any:
        self.spaces[name] = Space(name, "cat", choices=tuple(choices))
        return self.chosen.get(name, list(choices)[0])


def _window(space: Space, chosen: float, points: int, share: float = 0.5) -> list[float]:
    """``points`` values evenly spaced (in log space when ``space.log``) over ``share`` of the range around ``chosen``."""
    to = math.log10 if space.log else float
    lo, hi = to(space.low), to(space.high)
    centre = min(max(to(chosen), lo), hi) if (not space.log or chosen > 0) else lo
    half = share * (hi - lo) / 2
    a, b = centre - half, centre + half
    if a < lo:
        a, b = lo, min(hi, b + lo - a)
    if b > hi:
        a, b = max(lo, a - (b - hi)), hi
    grid = np.linspace(a, b, points)
    return [float(10 ** g) if space.log else float(g) for g in grid]


def sweep_for(space: Space, chosen: Any, points: int, *, name: str | None = None) -> Sweep:
    """The values one hyperparameter takes in a sensitivity sweep; the chosen value is always one of them."""
    label = name or space.name
    if space.kind == "cat":
        values = list(space.choices) if chosen in space.choices else [chosen, *space.choices]
        return Sweep(label, tuple(values), chosen, categorical=True)
    values = _window(space, float(chosen), max(2, points))
    if space.kind == "int" and len({round(v) for v in values}) < min(points, space.high - space.low + 1):
        values = _window(Space(space.name, "int", space.low, space.high, space.log), float(chosen), points,
                         share=1.0)  # a narrow integer window repeats values: spread over the whole range
    if float(chosen) not in values:  # the chosen value joins; the value farthest from it leaves
        to = math.log10 if space.log and float(chosen) > 0 and min(values) > 0 else float
        values.remove(max(values, key=lambda v: abs(to(v) - to(float(chosen)))))
        values.append(float(chosen))
    if space.kind == "int":
        values = [int(round(v)) for v in values]
        chosen = int(chosen)
    unique = sorted(set(values))
    return Sweep(label, tuple(unique), chosen, log=space.log)


def sweeps_from(spaces: Mapping[str, Space], chosen: Mapping[str, Any], points: int, *,
                prefix: str = "") -> list[Sweep]:
    """One sweep per recorded hyperparameter that has a chosen value (named ``prefix + name``)."""
    return [sweep_for(space, chosen[name], points, name=prefix + name)
            for name, space in spaces.items() if name in chosen]


def to_distributions(spaces: Mapping[str, Space]) -> dict[str, Any]:
    """The recorded ranges as Optuna distributions (for fANOVA over the search's trials)."""
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, s in spaces.items():
        if s.kind == "int":
            out[name] = od.IntDistribution(s.low, s.high, log=s.log)
        elif s.kind == "float":
            out[name] = od.FloatDistribution(s.low, s.high, log=s.log)
        else:
            out[name] = od.CategoricalDistribution(s.choices)
    return out
