"""The lab as tables and text: the summary table (rows = strategies), the per-run table, Markdown and HTML.

The summary table is what the CLI prints and the dashboard shows:

* **test** – the final test score, mean ± sample std across seeds, and its 95 % t-interval;
* **gap** – the paired gap to the leader over the same seeds (mean and 95 % CI; positive = the
  leader is better), blank for the leader itself;
* **best val** – the mean of the runs' best validation scores;
* **trials/min** – trials ended (any state) per minute of search;
* **own trials/run** – trials the strategy chose itself, beyond the warm start (each model's
  default settings, tried first by every strategy but grid): 0 means it never got to choose;
* **pruned/run**, **saved s/run** – trials the pruner stopped, and the fitting time that saved
  (estimated: steps not run × the trial's mean step time, see :mod:`automlops.lab.history`);
* **to target** – median seconds to reach the lab's target validation level (see
  :mod:`automlops.lab.summary`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from automlops.lab.types import LabResult, StrategySummary

__all__ = ["markdown_table", "runs_table", "summary_table", "to_html", "to_markdown"]


def _num(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}" if abs(value) >= 10 else f"{value:.{digits}f}"


def _ci(low: float, high: float) -> str:
    return "–" if not (math.isfinite(low) and math.isfinite(high)) else f"{_num(low)} – {_num(high)}"


def _row(s: StrategySummary) -> dict[str, Any]:
    test = _num(s.test.mean) + (f" ± {_num(s.test.std)}" if math.isfinite(s.test.std) else "")
    gap = "" if s.gap is None else f"{_num(s.gap.mean)} ({_ci(s.gap.ci_low, s.gap.ci_high)})"
    target = "not reached" if s.time_to_target is None else f"{s.time_to_target:.1f} s"
    return {"strategy": s.strategy, "runs": f"{s.runs}" + (f" (+{s.failed} failed)" if s.failed else ""),
            "test": test, "95 % CI": _ci(s.test.ci_low, s.test.ci_high), "gap to best": gap,
            "best val": _num(s.best_val.mean), "trials/min": f"{s.trials_per_min:.0f}",
            "own trials/run": f"{s.own_per_run:.1f}",
            "pruned/run": f"{s.pruned_per_run:.1f}", "saved s/run": f"{s.saved_seconds_per_run:.1f}",
            "to target": target}


def summary_table(result: LabResult) -> pd.DataFrame:
    """One row per strategy, formatted for people (see the module docstring for the columns)."""
    return pd.DataFrame([_row(s) for s in result.summaries])


def runs_table(result: LabResult) -> pd.DataFrame:
    """One row per run: strategy, seed, trials by state, best validation, test score, seconds."""
    return pd.DataFrame([{"strategy": r.strategy, "seed": r.seed, "trials": r.n_trials, "own": r.n_own,
                          "complete": r.n_complete,
                          "pruned": r.n_pruned, "stopped for time": r.n_stopped, "failed": r.n_failed,
                          "saved s": f"{r.saved_seconds:.1f}", "best val": r.best_val, "test": r.test_score,
                          "best model": r.best_model, "wall s": f"{r.wall_seconds:.1f}",
                          "error": r.error or ""} for r in result.runs])


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table (no extra dependency)."""
    def cell(value: Any) -> str:
        text = _num(value) if isinstance(value, float) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _settings(result: LabResult) -> str:
    better = "higher" if result.direction == "maximize" else "lower"
    level = "" if result.target_level is None else (f"; target level {_num(result.target_level)} "
                                                    f"(± {result.tolerance:.3g})")
    return (f"data `{result.dataset or 'table'}`, target `{result.target}`, metric {result.metric} ({better} is "
            f"better); budget {result.budget:g} s per run, {result.repeats} seeds "
            f"({', '.join(map(str, result.seeds))}); {result.seconds:.0f} s in all{level}")


def to_markdown(result: LabResult) -> str:
    """The whole lab as Markdown: settings, the table, the verdict, the runs and the decisions."""
    lines = ["# Search-strategy lab", "", _settings(result), "", markdown_table(summary_table(result)), "",
             f"**Verdict.** {result.verdict}", "", "## Runs", "", markdown_table(runs_table(result)), "",
             "## Decisions", "", *[f"- {d}" for d in result.decisions], ""]
    if result.cancelled:
        lines.insert(2, "**Cancelled**: the table covers the runs that finished.\n")
    return "\n".join(lines)


def to_html(result: LabResult, figures: Sequence[Any] = ()) -> str:
    """A self-contained HTML page: the table, the verdict, the figures (plotly inline, once), the runs."""
    parts = [f"<h1>Search-strategy lab</h1><p>{html.escape(_settings(result))}</p>",
             summary_table(result).to_html(index=False, border=0),
             f"<p><b>Verdict.</b> {html.escape(result.verdict)}</p>"]
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False))
    parts += ["<h2>Runs</h2>", runs_table(result).to_html(index=False, border=0), "<h2>Decisions</h2><ul>",
              *[f"<li>{html.escape(d)}</li>" for d in result.decisions], "</ul>"]
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Search-strategy lab</title></head><body>"
            + "\n".join(parts) + "</body></html>")
