"""The plain data of a stability analysis: what one refit gave, how a set of scores spreads, the report.

A stability analysis answers "is this score real, or luck?" by refitting one fixed configuration
many times while changing one thing at a time:

* the **data split** (which rows it learns from and which it is scored on): *data variance*;
* the **seed** of the model's own randomness (bagging, feature sampling, weight initialisation)
  on one fixed split: *algorithm variance*;
* one **hyperparameter** at a time, swept around its chosen value: *sensitivity*.

Everything here is a frozen dataclass that turns into JSON and back (``to_dict`` / ``from_dict``):
a report crosses a process boundary (a dashboard job) and is stored (MLflow, Markdown, HTML).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["Fit", "Resample", "SensitivityCurve", "Spread", "StabilityReport", "StabilitySubject", "Sweep"]


@dataclass(frozen=True)
class Fit:
    """One refit of the configuration and the score it earned on rows it did not learn from."""

    kind: str  # "split" | "seed" | "sensitivity"
    index: int  # split number, seed number or sweep point number
    score: float  # the metric on the held-out rows (nan when the fit failed)
    seconds: float
    seed: int = 0
    param: str | None = None  # sensitivity: the hyperparameter swept
    value: Any = None  # sensitivity: its value in this fit
    error: str | None = None  # why the fit failed, for people

    @property
    def ok(self) -> bool:
        return self.error is None and math.isfinite(self.score)


@dataclass(frozen=True)
class Spread:
    """How a set of scores spreads: mean, sample std, a 95 % t-interval for the mean, the extremes."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    min: float
    max: float
    scores: tuple[float, ...] = ()

    @classmethod
    def of(cls, scores: Sequence[float], confidence: float = 0.95) -> Spread:
        """Summarise finite ``scores`` (a Student-t interval: the scores are few, the variance unknown)."""
        from scipy import stats

        values = [float(s) for s in scores if math.isfinite(float(s))]
        n = len(values)
        if n == 0:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan, nan, ())
        mean = sum(values) / n
        if n < 2:
            return cls(1, mean, float("nan"), float("nan"), float("nan"), mean, mean, tuple(values))
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
        return cls(n, mean, std, mean - half, mean + half, min(values), max(values), tuple(values))


@dataclass(frozen=True)
class Sweep:
    """The values one hyperparameter takes in a sensitivity sweep (the chosen value among them)."""

    param: str
    values: tuple[Any, ...]
    chosen: Any
    log: bool = False
    categorical: bool = False


@dataclass(frozen=True)
class SensitivityCurve:
    """The metric along one hyperparameter's sweep, each point with its spread over repeats."""

    param: str
    chosen: Any
    log: bool
    categorical: bool
    points: tuple[tuple[Any, Spread], ...]

    @property
    def swing(self) -> float:
        """How far the mean metric moves along the sweep (max - min of the point means)."""
        means = [s.mean for _, s in self.points if math.isfinite(s.mean)]
        return max(means) - min(means) if len(means) >= 2 else 0.0


@dataclass(frozen=True)
class Resample:
    """One way to cut the rows: learn from ``train``, score on ``test`` (positions into the subject's rows)."""

    train: Any  # np.ndarray of positions (or an engine's own picklable description)
    test: Any
    label: str = ""


@runtime_checkable
class StabilitySubject(Protocol):
    """One configuration on its data, ready to be refitted: what each engine gives the analysis.

    A subject is built by the engine's adapter (registered per model kind in
    :data:`automlops.stability.SUBJECTS`) and must be picklable: fits run in worker processes.
    """

    kind: str  # the model kind: "tabular", "clustering", "anomaly", "forecasting", "vision"
    label: str  # the configuration, for people ("lightgbm", "weighted(lightgbm, logistic)")
    metric: str
    direction: str  # "maximize" | "minimize"
    params: Mapping[str, Any]  # the configuration's hyperparameters (what sensitivity may sweep)

    def resampling(self, k: int, seed: int) -> tuple[str, list[Resample]]:
        """``k`` resampled splits chosen for the task, and a sentence saying which scheme and why."""
        ...

    def reference_split(self) -> Resample:
        """The split the configuration was originally scored on (seeds and sensitivity refit on it)."""
        ...

    def has_randomness(self) -> bool:
        """Whether the configuration's own fit depends on a seed at all."""
        ...

    def sweeps(self, points: int) -> list[Sweep]:
        """For each hyperparameter: ``points`` values around the chosen one (log scale where it is one)."""
        ...

    def fit_score(self, resample: Resample, *, seed: int, params: Mapping[str, Any] | None = None,
                  deadline: float | None = None) -> float:
        """Fit on ``resample.train`` (with ``params`` overriding the configuration's), score ``resample.test``."""
        ...


@dataclass(frozen=True)
class StabilityReport:
    """Everything one stability analysis found, and the plain-language verdict."""

    model: str  # NAME@vN, or a leaderboard entry's label
    kind: str
    label: str
    metric: str
    direction: str
    params: Mapping[str, Any]
    resampling: str  # which split scheme, and why
    splits: Spread | None
    seeds: Spread | None
    sensitivity: tuple[SensitivityCurve, ...]
    importances: Mapping[str, float]  # fANOVA importance of each hyperparameter (from the search's trials)
    fits: tuple[Fit, ...]
    decisions: tuple[str, ...]
    verdict: str
    seconds: float
    cancelled: bool = False
    run_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_fits(self) -> int:
        return sum(1 for f in self.fits if f.ok)

    def headline(self) -> Spread | None:
        """The spread the verdict leads with: across splits if measured, else across seeds."""
        return self.splits if self.splits is not None and self.splits.n else self.seeds

    def summary(self) -> dict[str, Any]:
        """The CLI's ``--json`` line: metric, mean, std, ci_low, ci_high, n_fits, verdict (and more)."""
        head = self.headline()
        nan = float("nan")
        return {"model": self.model, "metric": self.metric, "mean": head.mean if head else nan,
                "std": head.std if head else nan, "ci_low": head.ci_low if head else nan,
                "ci_high": head.ci_high if head else nan, "n_fits": self.n_fits, "verdict": self.verdict,
                "split_std": self.splits.std if self.splits else None,
                "seed_std": self.seeds.std if self.seeds else None,
                "most_sensitive": max(self.sensitivity, key=lambda c: c.swing).param if self.sensitivity else None,
                "seconds": self.seconds, "cancelled": self.cancelled, "run_id": self.run_id}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StabilityReport:
        def spread(d: Any) -> Spread | None:
            return None if d is None else Spread(**{**d, "scores": tuple(d.get("scores", ()))})

        curves = tuple(SensitivityCurve(c["param"], c["chosen"], c["log"], c["categorical"],
                                        tuple((v, spread(s)) for v, s in c["points"]))  # type: ignore[misc]
                       for c in data.get("sensitivity", ()))
        return cls(model=data["model"], kind=data["kind"], label=data["label"], metric=data["metric"],
                   direction=data["direction"], params=dict(data.get("params", {})),
                   resampling=data.get("resampling", ""), splits=spread(data.get("splits")),
                   seeds=spread(data.get("seeds")), sensitivity=curves,
                   importances=dict(data.get("importances", {})),
                   fits=tuple(Fit(**f) for f in data.get("fits", ())), decisions=tuple(data.get("decisions", ())),
                   verdict=data.get("verdict", ""), seconds=float(data.get("seconds", 0.0)),
                   cancelled=bool(data.get("cancelled", False)), run_id=data.get("run_id"),
                   extra=dict(data.get("extra", {})))
