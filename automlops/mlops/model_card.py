"""The model card: one page that says what a model version is, how good it is, and how it has fared.

A *model card* (Mitchell et al., 2019) is the label on the box. Before anyone relies on a model
they should be able to read, in one place: which data taught it (the lake version and its
SHA-256, so "exactly which rows?" has an answer), how good it is **with its spread** (a score
without its noise invites over-reading a 0.002 lead), what it leans on (the features with the
largest mean |SHAP| value), whether production traffic still looks like its training data (the
latest drift check), and who moved it between stages, when and why.

:func:`build_model_card` turns those facts into a :class:`ModelCard`; it reads nothing itself, so
it is easy to test. :func:`model_card_for` gathers the facts for a saved version from the model
store's ``meta.json``, the MLflow registry and the drift history; a source that cannot be read
(a remote registry that is down) is named on the card instead of failing it.
:meth:`ModelCard.to_markdown` is the exported file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from automlops.config import Settings, get_settings
from automlops.errors import AutoMLOpsError
from automlops.mlops.card_details import card_details
from automlops.mlops.store import ModelStore, StoredModel

__all__ = ["ModelCard", "build_model_card", "model_card_for"]

SHAP_TASKS = ("classification", "regression")  # the tasks the Models page's Explain button serves


@dataclass(frozen=True)
class ModelCard:
    """Everything the card shows, as plain data (the Models page renders it; Markdown exports it)."""

    ref: str
    task: str
    target: str | None
    best_model: str
    created: str
    source: str
    parent: str | None
    dataset: Mapping[str, Any]
    run_id: str | None
    metric: str | None
    scores: tuple[tuple[str, str], ...]  # (label, "0.9612 ± 0.0110 (5-fold)")
    top_features: tuple[tuple[str, float], ...]
    stage: str | None
    drift: Mapping[str, Any] | None
    history: tuple[Mapping[str, Any], ...]
    notes: tuple[str, ...] = field(default=())  # sources that could not be read, and why
    details: tuple[tuple[str, str], ...] = field(default=())  # the task's own facts (mlops.card_details)

    def to_markdown(self) -> str:
        """The card as a Markdown document (the Models page's download)."""
        ds = self.dataset
        lines = [f"# Model card: {self.ref}", "",
                 f"- **Task**: {self.task}" + (f", target `{self.target}`" if self.target else ""),
                 f"- **Model**: {self.best_model}",
                 f"- **Created**: {self.created} · **source**: {self.source}"
                 + (f" (from {self.parent})" if self.parent else ""),
                 f"- **Stage**: {self.stage or 'none'}",
                 f"- **Data**: {_dataset_text(ds)}",
                 f"- **MLflow run**: `{self.run_id or 'not tracked'}`", ""]
        if self.details:
            lines += ["## About this model", "", *[f"- **{label}**: {text}" for label, text in self.details], ""]
        lines += ["## Scores", ""]
        lines += [f"- {label}: {value}" for label, value in self.scores] or ["- no scores recorded"]
        lines += ["", "## What it leans on (mean |SHAP|)", ""]
        lines += ([f"{i}. `{name}`: {value:.4g}" for i, (name, value) in enumerate(self.top_features, 1)]
                  or [_no_shap_text(self.task)])
        lines += ["", "## Drift", "", _drift_text(self.drift), "", "## Stage history", ""]
        if self.history:
            lines += ["| when | action | stage | who | why |", "|---|---|---|---|---|"]
            lines += [f"| {h.get('when', '')} | {h.get('action', '')} | {h.get('stage') or ''} | {h.get('who', '')} "
                      f"| {str(h.get('reason') or '').replace('|', '/')} |" for h in self.history]
        else:
            lines.append("No transitions yet.")
        if self.notes:
            lines += ["", "## Notes", "", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def _no_shap_text(task: str) -> str:
    if task in SHAP_TASKS:
        return "Not computed for this version (open *Explain* on the Models page)."
    return "SHAP values are computed for classification and regression models only."


def _dataset_text(ds: Mapping[str, Any]) -> str:
    if not ds.get("name"):
        return "unknown"
    return (f"`{ds['name']}` v{int(ds.get('version') or 0):04d}, {ds.get('rows', '?')} rows, "
            f"SHA-256 `{ds.get('sha256', '?')}`")


def _drift_text(drift: Mapping[str, Any] | None) -> str:
    if not drift:
        return "Not checked yet (`automlops monitor --model NAME`)."
    share = drift.get("share_drifted")
    verdict = "**drift detected**" if drift.get("drifted") else "no drift"
    share_text = f"{float(share):.0%} of columns drifted" if isinstance(share, int | float) else "share unknown"
    return f"{verdict}: {share_text} ({drift.get('n_current', '?')} live rows, checked {drift.get('time', drift.get('at', '?'))})."


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(float(value)) else None


def _scores(meta: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Validation with its spread and the test score, saying what its rows were (see _test_rows_text)."""
    metric = meta.get("metric") or "score"
    rows: list[tuple[str, str]] = []
    val, std = _number(meta.get("val_score")), _number(meta.get("val_std"))
    if val is not None:
        spread = f" ± {std:.4f}" if std is not None else ""
        rows.append((f"validation {metric}", f"{val:.4f}{spread} ({meta.get('validation') or 'validation'})"))
    test = _number(meta.get("test_score"))
    test_word = "" if meta.get("score_note") else "test "  # an upload's score is not a test score
    if test is not None:
        rows.append((f"{test_word}{metric}", f"{test:.4f} on {meta.get('n_test_rows', '?')} {_test_rows_text(meta)}"))
    for name, value in sorted((meta.get("test_metrics") or {}).items()):
        if name != metric and _number(value) is not None:
            rows.append((f"{test_word}{name}", f"{float(value):.4f}"))
    return tuple(rows)


def _test_rows_text(meta: Mapping[str, Any]) -> str:
    """What the test rows were, as meta.json and the decisions say: only a search's own test rows are *untouched*.

    An uploaded model was scored on the dataset it was validated on (its ``score_note``); a retrain
    scored held-out rows of the new data, which a warm start's parent may have learned from (its
    decisions count them).
    """
    if meta.get("score_note"):
        return f"rows: {meta['score_note']}"
    if meta.get("source") == "retrain":
        seen = next((d.split("; ", 1)[1] for d in map(str, meta.get("decisions") or ())
                     if "; " in d and "also in the data the parent learned from" in d), None)
        return "held-out rows" + (f" ({seen})" if seen else "")
    return "untouched rows"


def _top_features(meta: Mapping[str, Any], k: int = 5) -> tuple[tuple[str, float], ...]:
    entries = meta.get("shap_top_features") or []
    pairs = [(str(e.get("feature")), float(e.get("mean_abs", 0.0))) for e in entries if isinstance(e, Mapping)]
    return tuple(sorted(pairs, key=lambda p: -p[1])[:k])


def build_model_card(stored: StoredModel, *, stage: str | None = None, history: Sequence[Any] = (),
                     drift: Mapping[str, Any] | None = None, notes: Sequence[str] = ()) -> ModelCard:
    """The card of one saved version from facts already gathered (``history``: transition records)."""
    meta = stored.meta
    return ModelCard(
        ref=stored.ref, task=str(meta.get("task", "?")), target=meta.get("target"),
        best_model=str(meta.get("best_model", "?")), created=stored.created.strftime("%Y-%m-%d %H:%M UTC"),
        source=str(meta.get("source") or "automl search"), parent=meta.get("parent"),
        dataset=dict(meta.get("dataset") or {}), run_id=meta.get("run_id"), metric=meta.get("metric"),
        scores=_scores(meta), top_features=_top_features(meta), stage=stage, drift=drift,
        history=tuple(_as_mapping(h) for h in history), notes=tuple(notes), details=card_details(meta))


def _as_mapping(record: Any) -> Mapping[str, Any]:
    if isinstance(record, Mapping):
        return record
    keys = ("when", "action", "stage", "version", "previous_version", "who", "reason")
    return {k: getattr(record, k, None) for k in keys}


def model_card_for(name: str, version: int, *, settings: Settings | None = None,
                   registry: Any = None) -> ModelCard:
    """Gather the facts for ``name@v{version}`` (store, registry, drift history) and build its card."""
    settings = settings or get_settings()
    stored = ModelStore(settings=settings).versions(name)
    match = [s for s in stored if s.version == version]
    if not match:
        from automlops.errors import NotFoundError

        raise NotFoundError(f"model {name} has no version v{version}")
    notes: list[str] = []
    stage, history = None, []
    try:
        from automlops.mlops.registry import ModelRegistry

        registry = registry or ModelRegistry(settings=settings)
        stage = registry.stage_of(name, version)
        history = [t for t in registry.history(name) if t.version == version or t.previous_version == version]
    except AutoMLOpsError as exc:
        notes.append(f"stage and history unavailable: {exc}")
    drift = _latest_drift(name, version, settings, notes)
    return build_model_card(match[0], stage=stage, history=history, drift=drift, notes=notes)


def _latest_drift(name: str, version: int, settings: Settings, notes: list[str]) -> Mapping[str, Any] | None:
    """The newest drift check of this version, from the monitoring history (None if never checked)."""
    try:
        from automlops.mlops.monitoring import drift_history

        frame = drift_history(name, settings=settings)
    except AutoMLOpsError as exc:
        notes.append(f"drift history unavailable: {exc}")
        return None
    if frame is None or frame.empty:
        return None
    if "model" in frame.columns:
        frame = frame[frame["model"].astype(str) == f"{name}@v{version}"]
    return None if frame.empty else dict(frame.iloc[-1])
