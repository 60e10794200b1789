"""Exporting a stability report: Markdown for reading anywhere, HTML with the figures inline.

Both show the same things, in the order a reader needs them: the verdict, the spread of each
section (n, mean, std, the 95 % interval, min and max), the sensitivity table, the fANOVA
importances, then the decisions the analysis made (split scheme, skipped refits, corrections).
The HTML page is self-contained (plotly.js is embedded once), so it opens offline and can be
attached to an MLflow run or mailed.
"""

from __future__ import annotations

import html
import math
from typing import Any

from automlops.stability.plots import figures
from automlops.stability.types import SensitivityCurve, Spread, StabilityReport
from automlops.stability.verdict import fmt

__all__ = ["figures", "fits_frame", "section_rows", "to_html", "to_markdown"]


def section_rows(report: StabilityReport) -> list[dict[str, Any]]:
    """One row per measured section (splits, seeds): n, mean, std, ci_low, ci_high, min, max."""
    rows = []
    for name, spread in (("splits", report.splits), ("seeds", report.seeds)):
        if spread is not None:
            rows.append({"section": name, "n": spread.n, "mean": spread.mean, "std": spread.std,
                         "ci_low": spread.ci_low, "ci_high": spread.ci_high, "min": spread.min, "max": spread.max})
    return rows


def fits_frame(report: StabilityReport) -> Any:
    """Every refit as a row (kind, index, seed, param, value, score, seconds, error): a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame([{"kind": f.kind, "index": f.index, "seed": f.seed, "param": f.param,
                          "value": None if f.value is None else str(f.value), "score": f.score,
                          "seconds": round(f.seconds, 4), "error": f.error} for f in report.fits],
                        columns=["kind", "index", "seed", "param", "value", "score", "seconds", "error"])


def _scale(report: StabilityReport) -> float | None:
    """The spread that sizes the decimals: the headline's, else the sensitivity points' smallest."""
    head = report.headline()
    if head is not None and head.n >= 2 and math.isfinite(head.std):
        return head.std
    stds = [s.std for c in report.sensitivity for _, s in c.points if s.n >= 2 and math.isfinite(s.std) and s.std > 0]
    return min(stds) if stds else None


def _value(value: object) -> str:
    """A swept value for people: floats with 4 significant digits (0.27014190428938456 → 0.2701)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows)]


def _spread_cells(s: Spread, scale: float | None) -> list[str]:
    return [str(s.n), fmt(s.mean, scale), fmt(s.std, scale), f"{fmt(s.ci_low, scale)} – {fmt(s.ci_high, scale)}",
            fmt(s.min, scale), fmt(s.max, scale)]


def _curve_rows(curve: SensitivityCurve, scale: float | None) -> list[list[str]]:
    return [[curve.param, f"{_value(v)}{' ★' if v == curve.chosen else ''}", str(s.n), fmt(s.mean, scale),
             fmt(s.std, scale) if s.n >= 2 else "–"] for v, s in curve.points]


def _markdown_sections(report: StabilityReport, scale: float | None) -> list[str]:
    lines: list[str] = []
    rows = [[name, *_spread_cells(s, scale)] for name, s in (("splits", report.splits), ("seeds", report.seeds))
            if s is not None]
    if rows:
        lines += ["## Spread", "", *_table(["section", "n", "mean", "std", "95 % CI", "min", "max"], rows), ""]
    if report.sensitivity:
        body = [r for c in sorted(report.sensitivity, key=lambda c: -c.swing) for r in _curve_rows(c, scale)]
        swings = ", ".join(f"{c.param} {fmt(c.swing, scale)}" for c in sorted(report.sensitivity,
                                                                              key=lambda c: -c.swing))
        lines += ["## Sensitivity", "", f"Swing (max − min of the mean score along the sweep): {swings}.", "",
                  *_table(["hyperparameter", "value (★ chosen)", "n", "mean", "std"], body), ""]
    if report.importances:
        imp = sorted(report.importances.items(), key=lambda kv: -kv[1])
        lines += ["## fANOVA importance", "", *_table(["hyperparameter", "importance"],
                                                      [[k, f"{v:.1%}"] for k, v in imp]), ""]
    return lines


def to_markdown(report: StabilityReport) -> str:
    """The report as Markdown: verdict, spread table, sensitivity, importances, decisions."""
    scale = _scale(report)
    params = ", ".join(f"{k}={_value(v)}" for k, v in report.params.items()) or "(defaults)"
    lines = [f"# Stability of {report.model}", "", f"**Verdict:** {report.verdict}", "",
             f"- configuration: {report.label} ({params})", f"- metric: {report.metric} ({report.direction})",
             f"- refits: {report.n_fits} succeeded of {len(report.fits)} run, in {report.seconds:.1f} s"
             + (" — **cancelled, partial**" if report.cancelled else "")]
    if report.resampling:
        lines.append(f"- splits: {report.resampling}")
    if report.run_id:
        lines.append(f"- MLflow run: `{report.run_id}`")
    lines += ["", *_markdown_sections(report, scale)]
    if report.decisions:
        lines += ["## Decisions", "", *(f"- {d}" for d in report.decisions), ""]
    return "\n".join(lines).rstrip() + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
          "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .7em;"
          "text-align:right}th{background:#f4f4f4}.verdict{font-size:1.15em;background:#eef6ee;padding:.8em;"
          "border-left:4px solid #3a3}")


def _html_figures(report: StabilityReport) -> list[str]:
    out, first = [], True
    for name, fig in figures(report).items():
        out.append(f"<h2>{html.escape(name.capitalize())}</h2>")
        out.append(fig.to_html(full_html=False, include_plotlyjs="inline" if first else False,
                               config={"displaylogo": False}))
        first = False
    return out


def to_html(report: StabilityReport) -> str:
    """The report as one self-contained HTML page (tables, figures with plotly.js inline, decisions)."""
    scale = _scale(report)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Stability of {html.escape(report.model)}"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>Stability of {html.escape(report.model)}</h1>",
             f"<p class='verdict'><b>Verdict:</b> {html.escape(report.verdict)}</p>",
             f"<p>{html.escape(report.label)} · {html.escape(report.metric)} ({report.direction}) · "
             f"{report.n_fits} refits in {report.seconds:.1f} s{' · cancelled, partial' if report.cancelled else ''}"
             "</p>"]
    rows = [[name, *_spread_cells(s, scale)] for name, s in (("splits", report.splits), ("seeds", report.seeds))
            if s is not None]
    if rows:
        parts += ["<h2>Spread</h2>", _html_table(["section", "n", "mean", "std", "95 % CI", "min", "max"], rows)]
    parts += _html_figures(report)
    if report.sensitivity:
        body = [r for c in report.sensitivity for r in _curve_rows(c, scale)]
        parts += ["<h2>Sensitivity table</h2>", _html_table(["hyperparameter", "value (★ chosen)", "n", "mean",
                                                             "std"], body)]
    if report.importances:
        parts += [_html_table(["hyperparameter", "fANOVA importance"],
                              [[k, f"{v:.1%}"] for k, v in sorted(report.importances.items(), key=lambda kv: -kv[1])
                               if math.isfinite(v)])]
    parts += ["<h2>Decisions</h2><ul>", *(f"<li>{html.escape(d)}</li>" for d in report.decisions), "</ul>",
              "</body></html>"]
    return "\n".join(parts)
