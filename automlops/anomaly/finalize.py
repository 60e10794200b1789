"""Fitting the chosen detectors for real: threshold, test rows, refit on every row, and the report.

Two fits of the same recipe (see :class:`~automlops.core.fit.Artifact`): one on the training rows
only, scored once on the untouched test rows (``tested_obj``: the honest test numbers come from
it), and the shipped one, refitted on every row – anomaly detectors learn what "normal" looks
like, and more normal rows teach that better. Its threshold is set on its own training scores.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automlops.anomaly.detectors import DETECTORS, fit_detector
from automlops.anomaly.label_choice import roc_auc_interval
from automlops.anomaly.model import AnomalyModel, Member, fit_anomaly_model
from automlops.anomaly.plots import figure_files
from automlops.anomaly.report import score_histogram, top_anomalies
from automlops.anomaly.selection import agreement, auto_contamination, label_metrics, rank_scores, stability
from automlops.core.fit import Artifact
from automlops.search.engine import Choice, DecisionLog, Finalized, TrialOutcome
from automlops.tabular.encodings import build_preprocessor

if TYPE_CHECKING:
    from automlops.anomaly.engine import AnomalyEngine

__all__ = ["FINALIZE_COST", "affordable_members", "finalize_anomaly"]

# Finalize fits each member on the training rows, on two halves (test stability) and on all rows, about
# 1.6 times a trial's fit_seconds (which already holds one full fit and two half fits).
FINALIZE_COST = 1.6


def affordable_members(top: list[TrialOutcome], log: DecisionLog, budget: Any) -> list[TrialOutcome]:
    """Drop the slowest ensemble members (never the best) while finishing would overrun the budget."""
    deadline = getattr(budget, "deadline", None)
    if deadline is None:
        return top
    left = deadline - time.monotonic() - getattr(budget, "fixed_tail", 0.0)
    while len(top) > 1 and FINALIZE_COST * sum(o.fit_seconds for o in top) > left:
        slowest = max(top[1:], key=lambda o: o.fit_seconds)
        top.remove(slowest)
        log("ensemble", f"{slowest.model} left out of the ensemble: refitting it (~{slowest.fit_seconds:.1f} s "
                        "per fit) would overrun the time budget")
    return top


def _fit(engine: AnomalyEngine, members: list[Member], frame: pd.DataFrame) -> tuple[AnomalyModel, str, float]:
    """Fit the recipe on ``frame`` and set its threshold; return the model, the rule used and seconds."""
    prep = build_preprocessor(engine.plan, scale=True, encoding="onehot")
    model, raw, seconds = fit_anomaly_model(prep, members, frame, engine.plan.input_columns, engine.seed)
    if engine.contamination == "auto":
        share, rule = auto_contamination(raw)
    else:
        share = float(engine.contamination)
        rule = f"given: {share:g}, so the threshold is the {1 - share:.1%} quantile of the training scores"
    model.set_threshold(share)
    return model, rule, seconds


def _test_stability(engine: AnomalyEngine, members: list[Member], X_test: np.ndarray) -> float:
    """Stability on the test rows: the recipe fitted on each half of the training rows, scoring the test rows."""
    def ensemble(rows: np.ndarray) -> np.ndarray:
        parts = []
        for m in members:
            detector, _ = fit_detector(DETECTORS.get(m.model), m.params, engine.Xt[rows], engine.seed)
            parts.append(rank_scores(detector.decision_function(X_test)))
        return np.mean(parts, axis=0)

    return stability(ensemble, engine.halves)


def _test_metrics(engine: AnomalyEngine, tested: AnomalyModel, with_stability: bool) -> dict[str, float]:
    X_test = engine.test[engine.plan.input_columns]
    scores = tested.score_samples(X_test)
    metrics: dict[str, float] = {"flagged_share": float(np.mean(scores > tested.threshold_))}
    if len(X_test) >= 3:
        Xt_test = np.asarray(engine.prep.transform(X_test), dtype=float)
        metrics["agreement"] = agreement(scores, engine.panel.consensus_on(Xt_test))
        if with_stability:
            metrics["stability"] = _test_stability(engine, tested.members, Xt_test)
            metrics["agreement_stability"] = (metrics["agreement"] + metrics["stability"]) / 2
    if engine.y_test is not None:
        metrics.update(label_metrics(engine.y_test, scores))
    return metrics


def _test_auc_interval(engine: AnomalyEngine, tested: AnomalyModel) -> tuple[float, float] | None:
    """The test rows' ROC-AUC with its spread: a few known anomalies make a single number very noisy."""
    if engine.y_test is None:
        return None
    X_test = engine.test[engine.plan.input_columns]
    return roc_auc_interval(engine.y_test, tested.score_samples(X_test), seed=engine.seed) if len(X_test) else None


def finalize_anomaly(engine: AnomalyEngine, choice: Choice, log: DecisionLog, deadline: float | None) -> Finalized:
    """Fit, threshold, test, refit on all rows and package the artifact (see the module docstring)."""
    members: list[Member] = list(choice.recipe)
    tested, _, seconds = _fit(engine, members, engine.train)
    # the two half fits of the test stability cost about as much as one more fit: skipped when time is short
    affordable = deadline is None or time.monotonic() + 2.5 * seconds < deadline
    if not affordable and engine.unsupervised:
        log("result", "test stability skipped: the two half fits it needs would overrun the time budget; "
                      "the test score is the agreement alone")
    test_metrics = _test_metrics(engine, tested, affordable)
    if engine.unsupervised and "agreement_stability" not in test_metrics and "agreement" in test_metrics:
        test_metrics["agreement_stability"] = test_metrics["agreement"]
    test_score = float(test_metrics.get(engine.metric, float("nan")))
    if engine.y_test is not None and "roc_auc" not in test_metrics:
        log("result", "the test rows hold only one kind of row (no known anomaly, or only anomalies): label "
                      "metrics on them cannot be computed")
    model, rule, refit_seconds = _fit(engine, members, engine.data)
    left_out = [m.model for m in members if m not in model.members]
    if left_out:
        log("ensemble", f"{', '.join(left_out)} failed when refitted on all rows (non-finite scores) and were left "
                        "out of the shipped model")
    log("threshold", f"contamination {model.contamination_:.2%} ({rule}); threshold {model.threshold_:.4f} on the "
                     "score scale (a row scoring above it is flagged)")
    shown = ", ".join(f"{k} {v:.4f}" for k, v in test_metrics.items())
    interval = _test_auc_interval(engine, tested)
    if interval is not None:
        known = int(np.sum(np.asarray(engine.y_test)))
        shown += f" (ROC-AUC 95 % bootstrap interval {interval[0]:.3f}–{interval[1]:.3f}, from {known} known anomalies)"
    log("result", f"final model: {choice.label}, refitted on all {len(engine.data)} rows; on the {len(engine.test)} "
                  f"test rows (model fitted without them): {shown}")
    meta = _meta(engine, model, choice, rule, test_metrics)
    if interval is not None:
        meta["label_metrics_interval"] = {"roc_auc": list(interval), "level": 0.95}
    files = figure_files(meta)
    artifact = Artifact("anomaly", model, meta=meta, tested_obj=tested, files=files)
    example = engine.test[engine.plan.input_columns].head(5)
    return Finalized(artifact, test_metrics, test_score, seconds + refit_seconds, input_example=example)


def _meta(engine: AnomalyEngine, model: AnomalyModel, choice: Choice, rule: str,
          test_metrics: dict[str, float]) -> dict[str, Any]:
    scores = model.train_scores_
    flagged = int(np.sum(scores > model.threshold_))
    meta: dict[str, Any] = {
        "threshold": float(model.threshold_), "contamination": float(model.contamination_),
        "contamination_rule": rule, "contamination_setting": engine.contamination,
        "n_rows": int(len(scores)), "n_flagged": flagged, "flagged_share": flagged / max(1, len(scores)),
        "score_histogram": score_histogram(scores),
        "top_anomalies": top_anomalies(engine.data, scores, list(engine.plan.input_columns)),
        "selection": _selection_words(engine),
        "panel": list(engine.panel.ranks),  # the default detectors the agreement compared with (budget may drop some)
        "metric": engine.metric, "detectors": model.detector_names,
        "members": [{"model": m.model, "params": dict(m.params)} for m in model.members],
        "input_columns": list(engine.plan.input_columns), "feature_schema": engine.plan.schema(),
        "label": engine.label, "score_meaning": "mean over the detectors of the share of training rows that "
                                                "score lower (0…1, higher = more anomalous)",
    }
    if engine.y is not None:
        meta["label_metrics"] = {k: v for k, v in test_metrics.items() if k in ("roc_auc", "pr_auc", "precision_at_k")}
        meta["label_metrics_rows"] = "test rows, model fitted without them"
        meta["label_metrics_all_rows"] = label_metrics(engine.y, scores)
    return meta


def _selection_words(engine: AnomalyEngine) -> str:
    if engine.unsupervised:
        return ("unsupervised: each candidate detector was scored by the mean of (a) the Spearman agreement of its "
                "ranking with the consensus of a fixed panel of default detectors of other families and (b) its "
                "stability (Spearman between fits on two random halves of the training rows); the best of the top "
                f"{engine.preset.ensemble_size} families were averaged (rank scores)")
    return f"supervised by the label column '{engine.label}': {engine.metric} on the training rows"
