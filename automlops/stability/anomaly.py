"""Stability of a saved anomaly detector: would another draw of the rows rank the anomalies the same?

The anomaly engine keeps a fifth of the rows aside and scores the detector (or the rank average of
its two detectors) on them, without ever using them to fit (see :mod:`automlops.anomaly.finalize`).
This adapter refits that recipe – the saved preprocessing and the chosen detectors with their
settings – on other draws of the rows and scores it the same way:

* **Score**: with a column of known anomalies (the model was trained with ``--label``), the
  ROC-AUC of the test rows' scores against it – the chance that a known anomaly ranks above a
  normal row, the number people read. Without one, the engine's own label-free criterion
  ``agreement_stability``: agreement of the test rows' ranking with a panel of default detectors
  fitted on the training rows, and stability of that ranking across fits on two halves of the
  training rows (:mod:`automlops.anomaly.selection`). Either way, the threshold (contamination)
  plays no part: both read the ranking, which is why contamination is not swept.
* **Splits**: K random 80/20 partitions (the engine's test share), stratified by the label when
  there is one, so every test part holds known anomalies.
* **Seeds**: Isolation Forest, INNE and GMM draw random numbers, and so does any detector fitted on
  a random sample of a large table; ECOD, COPOD, LOF, KNN, OCSVM, HBOS and PCA are deterministic.
* **Sensitivity**: each detector's hyperparameters from its search space (named ``detector__param``
  for a two-detector ensemble).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automlops.errors import DataError, ModelError
from automlops.stability.adapter_kit import (
    RecordingSuggest,
    holdouts,
    lake_frame,
    model_ref,
    require_columns,
    sweeps_from,
    to_distributions,
)
from automlops.stability.types import Resample, Sweep

__all__ = ["AnomalySubject", "saved_subject"]

TEST_SHARE = 0.2  # the anomaly engine's default test_size
RANDOM_DETECTORS = frozenset({"iforest", "inne", "gmm"})


class AnomalySubject:
    """An anomaly recipe (preprocessing + detectors) on its rows, refitted and scored like the engine's test."""

    kind = "anomaly"

    def __init__(self, frame: pd.DataFrame, prep: Any, members: Sequence[tuple[str, Mapping[str, Any]]],
                 input_columns: Sequence[str], *, label: np.ndarray | None = None,
                 metric: str = "agreement_stability", seed: int = 0, test_share: float = TEST_SHARE,
                 fit_seconds: float | None = None) -> None:
        self.frame, self.prep = frame.reset_index(drop=True), prep
        self.members = [(str(m), dict(p)) for m, p in members]
        self.input_columns, self.y = list(input_columns), None if label is None else np.asarray(label, dtype=int)
        self.metric = "roc_auc" if self.y is not None else metric
        self.direction = "maximize"
        self.seed, self.test_share, self.fit_seconds = int(seed), float(test_share), fit_seconds
        names = [m for m, _ in self.members]
        self.label = names[0] if len(names) == 1 else f"ensemble({', '.join(names)})"
        self.search_model = names[0]
        self.params = self._flat(self.members)

    @property
    def _single(self) -> bool:
        return len(self.members) == 1

    def _flat(self, members: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
        if self._single:
            return dict(members[0][1])
        return {f"{m}__{k}": v for m, p in members for k, v in p.items()}

    def _with(self, params: Mapping[str, Any] | None) -> list[Any]:
        """The members with ``params`` (flat names, as in :attr:`params`) overriding their settings."""
        from automlops.anomaly.model import Member

        out = []
        for model, own in self.members:
            prefix = "" if self._single else f"{model}__"
            changed = {k[len(prefix):]: v for k, v in (params or {}).items() if k.startswith(prefix)
                       and (prefix or "__" not in k)}
            out.append(Member(model, {**own, **changed}))
        return out

    # ------------------------------------------------------------------ splits
    def resampling(self, k: int, seed: int) -> tuple[str, list[Resample]]:
        pct = round(100 * self.test_share)
        strat = " stratified by the known anomalies (every test part holds some)," if self.y is not None else ""
        return (f"{k} random {100 - pct}/{pct} splits of the {len(self.frame)} rows (Monte Carlo cross-validation),"
                f"{strat} the same kind of split the reported test score came from: each refit learns what is normal "
                f"from {100 - pct} % of the rows and ranks the other {pct} %",
                holdouts(len(self.frame), k, seed, self.test_share, stratify=self.y, min_test=3))

    def reference_split(self) -> Resample:
        """The engine's own split: a permutation by the model's seed, the last 20 % kept aside."""
        n = len(self.frame)
        order = np.random.default_rng(self.seed).permutation(n)
        cut = int(round(n * (1 - self.test_share)))
        return Resample(np.sort(order[:cut]), np.sort(order[cut:]), "the engine's test split")

    def has_randomness(self) -> bool:
        from automlops.anomaly.detectors import DETECTORS

        n = len(self.frame) * (1 - self.test_share)
        return any(m in RANDOM_DETECTORS or n > DETECTORS.get(m).max_rows for m, _ in self.members)

    # ------------------------------------------------------------------ sensitivity
    def _spaces(self) -> list[tuple[str, dict[str, Any]]]:
        from automlops.anomaly.detectors import DETECTORS

        out = []
        for model, params in self.members:
            recorder = RecordingSuggest(params)
            DETECTORS.get(model).search_space(recorder)  # type: ignore[arg-type]
            out.append((model, recorder.spaces))
        return out

    def sweeps(self, points: int) -> list[Sweep]:
        return [s for (model, spaces), (_, params) in zip(self._spaces(), self.members, strict=True)
                for s in sweeps_from(spaces, params, points, prefix="" if self._single else f"{model}__")]

    def search_distributions(self) -> dict[str, Any]:
        return to_distributions(self._spaces()[0][1])

    # ------------------------------------------------------------------ one refit
    def fit_score(self, resample: Resample, *, seed: int, params: Mapping[str, Any] | None = None,
                  deadline: float | None = None) -> float:
        """Fit the recipe on the training rows, rank the test rows, score the ranking (see the module docstring)."""
        from sklearn.base import clone

        from automlops.anomaly.model import fit_anomaly_model
        from automlops.search.deadline import interrupt_at

        train, test = self.frame.iloc[resample.train], self.frame.iloc[resample.test]
        members = self._with(params)
        with interrupt_at(deadline):
            model, _, _ = fit_anomaly_model(clone(self.prep), members, train, self.input_columns, seed)
            scores = model.score_samples(test)
            if self.y is not None:
                return self._roc_auc(self.y[resample.test], scores)
            return self._criterion(model, members, train, test, scores, seed)

    @staticmethod
    def _roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
        from automlops.anomaly.selection import label_metrics

        found = label_metrics(y, scores)
        if "roc_auc" not in found:
            raise ModelError(f"ROC-AUC is undefined on this split: its {len(y)} test rows hold only one kind of row")
        return float(found["roc_auc"])

    def _criterion(self, model: Any, members: Sequence[Any], train: pd.DataFrame, test: pd.DataFrame,
                   scores: np.ndarray, seed: int) -> float:
        """``agreement_stability`` on the test rows, computed as the engine's finalize does."""
        from automlops.anomaly.detectors import DETECTORS, PANEL, fit_detector
        from automlops.anomaly.selection import Panel, RankCalibrator, agreement, rank_scores, stability

        X_train, X_test = model.transform(train), model.transform(test)
        ranks, fitted = {}, {}
        for name in PANEL:  # the panel is part of the yardstick: fitted with the model's seed, not the refit's
            try:
                detector, raw = fit_detector(DETECTORS.get(name), {}, X_train, self.seed)
            except (ValueError, np.linalg.LinAlgError):
                continue
            ranks[name], fitted[name] = rank_scores(raw), (detector, RankCalibrator(raw))
        if len(ranks) < 2:
            raise ModelError("the panel of default detectors could not be fitted on this split's training rows")
        order = np.random.default_rng(self.seed + 1).permutation(len(X_train))
        halves = (np.sort(order[: len(order) // 2]), np.sort(order[len(order) // 2:]))

        def half_fit(rows: np.ndarray) -> np.ndarray:
            parts = [rank_scores(fit_detector(DETECTORS.get(m.model), m.params, X_train[rows], seed)[0]
                                 .decision_function(X_test)) for m in members]
            return np.mean(parts, axis=0)

        agree = agreement(scores, Panel(ranks, fitted).consensus_on(X_test))
        return float((agree + stability(half_fit, halves)) / 2)


def _members(meta: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    from automlops.anomaly.detectors import DETECTORS

    members = [(str(m.get("model")), dict(m.get("params") or {})) for m in meta.get("members") or []]
    if not members:
        raise ModelError(f"{model_ref(meta)} does not record its detectors; it cannot be refitted")
    unknown = [m for m, _ in members if m not in DETECTORS]
    if unknown:
        raise ModelError(f"{model_ref(meta)} uses detector(s) {', '.join(unknown)}, which this version of the studio "
                         "does not have")
    return members


def saved_subject(loaded: Any) -> AnomalySubject:
    """The stability subject of a saved anomaly model (:class:`~automlops.mlops.store.LoadedModel`)."""
    from automlops.anomaly.labels import parse_label

    meta = loaded.meta
    prep = getattr(loaded.model, "prep", None)
    if prep is None:
        raise ModelError(f"{model_ref(meta)} is not an anomaly model of this studio (no preprocessing step)")
    members = _members(meta)
    frame = lake_frame(meta)
    columns = list(meta.get("input_columns") or [])
    if not columns:
        raise DataError(f"{model_ref(meta)} does not record its input columns; it cannot be refitted")
    label_column = meta.get("label")
    require_columns(frame, columns + ([str(label_column)] if label_column else []), meta)
    y = parse_label(frame, str(label_column))[0] if label_column else None
    # a search trial's fit_seconds holds one full fit and two half fits (its stability): about two fits
    timing = sum(float(r.get("fit_seconds") or 0.0) / 2 for r in meta.get("leaderboard") or []
                 if r.get("model") in {m for m, _ in members} and np.isfinite(float(r.get("fit_seconds") or 0.0)))
    return AnomalySubject(frame, prep, members, columns, label=y, metric=str(meta.get("metric") or
                          "agreement_stability"), seed=int(meta.get("seed") or 0), fit_seconds=timing or None)
