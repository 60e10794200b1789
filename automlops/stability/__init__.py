"""Stability analysis: is a model's score real, or luck? (see :mod:`automlops.stability.analysis`).

The plain data (:mod:`~automlops.stability.types`) and the per-kind subject registry load at once;
the analysis, the reports and the one-call service load on first use (``from automlops.stability
import analyze``), so importing the package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

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

_LAZY = {"analyze": "automlops.stability.analysis", "stability_report": "automlops.stability.service",
         "load_subject": "automlops.stability.service", "to_markdown": "automlops.stability.report",
         "to_html": "automlops.stability.report", "figures": "automlops.stability.report",
         "leaderboard_subject": "automlops.stability.tabular"}

__all__ = ["SUBJECTS", "Fit", "Resample", "SensitivityCurve", "Spread", "StabilityReport", "StabilitySubject",
           "Sweep", "analyze", "figures", "leaderboard_subject", "load_subject", "stability_report",
           "subject_for", "to_html", "to_markdown"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automlops.stability' has no attribute {name!r}")
