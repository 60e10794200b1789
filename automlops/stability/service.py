"""``stability_report``: one call from a saved model's name to a tracked stability report.

It loads the version from the model store (checking its signature and SHA-256), asks the model's
engine for its :class:`~automlops.stability.types.StabilitySubject` (rebuilt on the dataset version
it was trained on), runs :func:`~automlops.stability.analysis.analyze` with the search's own trials
for fANOVA, and logs the report as an MLflow run nested under the training run. The CLI, the
dashboard's background job and the ``automl_engine`` facade all go through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automlops.stability.types import StabilityReport

__all__ = ["load_subject", "stability_report"]


def load_subject(ref: str | Any, *, settings: Any = None) -> tuple[Any, Any, str]:
    """``(loaded model, subject, "NAME@vN")`` for a model reference (``NAME``, ``NAME@vN``) or a LoadedModel."""
    from automlops.stability.subjects import subject_for
    from automlops.tasks import load_saved_model

    loaded = load_saved_model(ref, settings=settings) if isinstance(ref, str) else ref
    label = f"{loaded.meta.get('name', 'model')}@v{loaded.meta.get('version', '?')}"
    return loaded, subject_for(loaded), label


def stability_report(ref: str | Any, *, splits: int | None = None, seeds: int | None = None,
                     sensitivity: bool = False, points: int = 5, repeats: int = 3,
                     time_budget: float | None = None, n_jobs: int = -1,
                     progress: Callable[[float, str], None] | None = None,
                     cancelled: Callable[[], bool] | None = None, track: bool = True,
                     settings: Any = None, tracker: Any = None, started: float | None = None) -> StabilityReport:
    """Load ``ref``, build its subject, analyse it and (``track``) log it to MLflow; see :func:`analyze`.

    ``time_budget`` covers the loading too: its clock starts here (or at ``started``, a
    ``time.monotonic()`` value from the caller), not when the refits begin.
    """
    import time

    from automlops.stability.analysis import analyze, check_options

    started = time.monotonic() if started is None else started

    check_options(splits, seeds, sensitivity, points, repeats, time_budget, n_jobs)  # before any loading
    if progress is not None:
        progress(0.0, f"loading {ref if isinstance(ref, str) else 'the model'} and rebuilding it on its dataset "
                      "version")
    loaded, subject, label = load_subject(ref, settings=settings)
    if track and tracker is None:
        from automlops.mlops.tracking import Tracker

        tracker = Tracker(settings=settings)
    return analyze(subject, splits=splits, seeds=seeds, sensitivity=sensitivity, points=points, repeats=repeats,
                   time_budget=time_budget, n_jobs=n_jobs, progress=progress, cancelled=cancelled,
                   trials=loaded.meta.get("trials"), tracker=tracker if track else None,
                   parent_run_id=loaded.meta.get("run_id"), model_ref=label, started=started)
