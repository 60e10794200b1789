"""What a model card says about a model *of its task*: the facts a user of that kind of model asks first.

A score says how good a model is; it does not say what the model *is*. A clustering model is
"4 clusters, one of them 2 % of the rows"; an anomaly detector is a threshold on a score and the
share of rows it flags; a forecaster is a horizon at a frequency, with intervals made one way or
another. Each task registers one function that reads those facts from the version's
``meta.json`` (written by its engine) and returns ``(label, text)`` rows; the card lists them
under *About this model*. A task without an entry (vision, for now) simply has no such section.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from automlops.core.registry import Registry

__all__ = ["CARD_DETAILS", "card_details"]

Details = tuple[tuple[str, str], ...]
DetailsOf = Callable[[Mapping[str, Any]], Details]

CARD_DETAILS: Registry[DetailsOf] = Registry("model-card section")

LISTED = 8  # classes, sizes or members named before "… and N more"


def card_details(meta: Mapping[str, Any]) -> Details:
    """The *About this model* rows for the version described by ``meta`` (empty for an unknown task)."""
    task = str(meta.get("task") or "")
    return CARD_DETAILS.get(task)(meta) if task in CARD_DETAILS.names() else ()


def _listed(items: Sequence[Any], unit: str = "") -> str:
    shown = ", ".join(f"{item}{unit}" for item in items[:LISTED])
    return shown + (f", … and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(float(value)) else None


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@CARD_DETAILS.register("classification")
def _classification(meta: Mapping[str, Any]) -> Details:
    classes = list(meta.get("classes") or [])
    return ((("classes", f"{len(classes)}: {_listed(classes)}"),) if classes else ())


@CARD_DETAILS.register("clustering")
def _clustering(meta: Mapping[str, Any]) -> Details:
    rows: list[tuple[str, str]] = []
    sizes = [int(s) for s in meta.get("cluster_sizes") or []]
    if sizes:
        total = sum(sizes) + int(meta.get("noise_count") or 0)
        shares = [f"{s} ({s / total:.0%})" for s in sizes] if total else [str(s) for s in sizes]
        rows.append(("clusters", f"{len(sizes)}, of sizes {_listed(shares)} training rows"))
    noise = _number(meta.get("noise_share"))
    if noise:
        rows.append(("noise", f"{int(meta.get('noise_count') or 0)} training rows ({noise:.1%}) belong to no "
                              "cluster (label -1)"))
    rows.append(("new rows", meta.get("assigner") or "assigned by the fitted model itself"))
    reference = meta.get("reference_scores") or {}
    if reference.get("column"):
        ari, nmi = (_number(reference.get(k)) for k in ("ari", "nmi"))
        rows.append(("reference", f"agreement with '{reference['column']}' (never used to choose): "
                                  f"ARI {_score(ari)}, NMI {_score(nmi)}"))
    return tuple(rows)


@CARD_DETAILS.register("anomaly")
def _anomaly(meta: Mapping[str, Any]) -> Details:
    rows: list[tuple[str, str]] = []
    detectors = list(meta.get("detectors") or [])
    if detectors:
        rows.append(("detectors", _listed(detectors)))
    threshold = _number(meta.get("threshold"))
    if threshold is not None:
        meaning = meta.get("score_meaning")
        rows.append(("threshold", f"a row is flagged when its score is above {threshold:.4f}"
                                  + (f"; the score is the {meaning}" if meaning else "")))
    if meta.get("contamination_rule"):
        rows.append(("contamination", str(meta["contamination_rule"])))
    flagged, n_rows = meta.get("n_flagged"), meta.get("n_rows")
    share = _number(meta.get("flagged_share"))
    if flagged is not None and n_rows:
        rows.append(("flagged", f"{int(flagged)} of {int(n_rows)} training rows"
                                + (f" ({share:.1%})" if share is not None else "")))
    if meta.get("label"):
        rows.append(("label", f"'{meta['label']}' marks the known anomalies the scores are evaluated against"))
    interval = (meta.get("label_metrics_interval") or {}).get("roc_auc")
    if interval:
        rows.append(("test ROC-AUC", f"95 % bootstrap interval {interval[0]:.3f}–{interval[1]:.3f}"))
    if meta.get("selection"):
        rows.append(("selection", str(meta["selection"])))
    return tuple(rows)


@CARD_DETAILS.register("timeseries")
def _timeseries(meta: Mapping[str, Any]) -> Details:
    rows: list[tuple[str, str]] = []
    if meta.get("horizon"):
        rows.append(("horizon", f"{int(meta['horizon'])} steps of frequency {meta.get('freq', '?')}"
                                + (f" ({meta['freq_reason']})" if meta.get("freq_reason") else "")))
    season = meta.get("season")
    if season:
        rows.append(("season", f"{int(season)} steps" if int(season) > 1 else "none (no seasonal period)"))
    n_series = meta.get("n_series")
    if n_series:
        rows.append(("series", f"{int(n_series)}" + (f", identified by '{meta['series_id']}'"
                                                     if meta.get("series_id") else "")))
    members = [str(m.get("model")) for m in (meta.get("best_params") or {}).get("members") or []
               if isinstance(m, Mapping)]
    detail = meta.get("model_detail") or {}
    if members:
        rows.append(("combination", f"{detail.get('combine', 'mean')} of {_listed(members)}"))
    if detail.get("intervals"):
        rows.append(("intervals", "from the model's own forecast distribution" if detail["intervals"] == "model"
                     else "conformal: from the backtest's forecast errors"))
    if detail.get("floor") is not None:
        rows.append(("floor", f"forecasts and bounds are clipped at {detail['floor']:g}: the target is never "
                              "below it in the data"))
    exogenous = list(meta.get("exogenous") or [])
    rows.append(("exogenous", _listed(exogenous) + (" (future values needed to forecast)"
                                                    if meta.get("uses_exogenous") else " (not used by the model)")
                 if exogenous else "none"))
    return tuple(rows)
