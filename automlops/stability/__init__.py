"""Stability analysis: is a model's score real, or luck? (see :mod:`automlops.stability.types`)."""

from __future__ import annotations

from automlops.stability.subjects import SUBJECTS, subject_for
from automlops.stability.types import (
    Fit,
    Resample,
    SensitivityCurve,
    Spread,
    StabilityReport,
    StabilitySubject,
    Sweep,
)

__all__ = ["SUBJECTS", "Fit", "Resample", "SensitivityCurve", "Spread", "StabilityReport", "StabilitySubject",
           "Sweep", "subject_for"]
