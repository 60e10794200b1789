"""The search-strategy lab: TPE, random, grid, Hyperband, CMA-ES and QMC compared on your table.

Same data, same time budget, same seeds for every strategy; each repeated over seeds; convergence
curves with bands, pruning and the time it saved, final test scores with confidence intervals, and a
verdict in plain words. Start with :func:`run_lab`; :mod:`automlops.lab.report` renders the table and
:mod:`automlops.lab.plots` the figures. The engine never imports Streamlit.
"""

from __future__ import annotations

from automlops.lab.runner import DEFAULT_STRATEGIES, MIN_BUDGET, run_lab
from automlops.lab.types import Band, LabResult, LabRun, StrategySummary, TrialPoint

__all__ = ["DEFAULT_STRATEGIES", "MIN_BUDGET", "Band", "LabResult", "LabRun", "StrategySummary", "TrialPoint",
           "run_lab"]
