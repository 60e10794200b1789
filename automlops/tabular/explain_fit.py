"""A SHAP summary of the final model, logged with its MLflow run when it is cheap.

After the final fit, a tracked tabular run gets ``explanations/shap_summary.json`` (mean |SHAP|
per original feature, the method, the units, the class explained) and ``explanations/shap_bar.svg``
as artifacts, and ``meta.json`` gets ``shap_top_features`` for the model card. It is *cheap* when
it costs at most :data:`BUDGET_SHARE` (10 %) of the time budget and fits in the time left: the
cost is measured first on a few rows (plus SHAP's import, ~2 s, if not done yet) and extrapolated.
Without a time budget the allowance is 10 % of the fit's time so far. Untracked runs (the default
of scripts and tests) and small budgets skip it; either way ``decisions_`` says what happened, and
the Models page can still explain any saved model on demand.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from automlops.core.problem import TaskType
from automlops.search.deadline import DeadlineExceeded, interrupt_at

if TYPE_CHECKING:
    from automlops.search.budget import TimeBudget
    from automlops.search.engine import DecisionLog, Finalized
    from automlops.tabular.engine import TabularEngine
    from automlops.tabular.explain import GlobalExplanation

__all__ = ["BUDGET_SHARE", "explain_final", "explain_reserve", "summary_files"]

BUDGET_SHARE = 0.10  # the most of the time budget a training-time SHAP summary may cost
RESERVE_SHARE = 0.05  # what the search keeps back for it (it may use up to BUDGET_SHARE if time is left)
MIN_BUDGET = 30.0  # below this many seconds a summary is never planned (the import alone takes ~2 s)
IMPORT_SECONDS = 2.0  # importing SHAP (and numba) when nothing has yet
TREE_EXPLAINER_BUILD = 0.001  # seconds a boosted tree, to build SHAP's TreeExplainer (6,338 trees: 5.8 s)
ROWS_TREE, ROWS_AGNOSTIC, PROBE_ROWS = 300, 50, 5
TOP = 10


def explain_reserve(tracked: bool, total: float | None) -> float:
    """Seconds the search leaves for the summary: 5 % of a budget of 30 s or more, when tracked."""
    if not tracked or total is None or total < MIN_BUDGET:
        return 0.0
    return min(RESERVE_SHARE * total, 15.0)


def _allowance(budget: TimeBudget) -> float:
    """Seconds the summary may take: 10 % of the budget (or of the time so far), within what is left."""
    if budget.total is None:
        return BUDGET_SHARE * budget.elapsed()
    assert budget.deadline is not None
    left = budget.deadline - time.monotonic() - budget.fixed_tail + explain_reserve(True, budget.total)
    return max(0.0, min(BUDGET_SHARE * budget.total, left))


def explain_final(engine: TabularEngine, final: Finalized, log: DecisionLog, budget: TimeBudget, *,
                  tracked: bool) -> Finalized:
    """``final`` with the SHAP summary files and top features added, when tracked and cheap."""
    if engine.problem.task not in (TaskType.CLASSIFICATION, TaskType.REGRESSION):
        return final
    if not tracked:
        log("explain", "no SHAP summary at training time: the run is not tracked in MLflow (the Models page "
                       "explains any saved model on demand)")
        return final
    from automlops.tabular.finalize import boosted_save_seconds

    # the model is saved after this: thousands of boosted trees take seconds, which are not the summary's
    allowed, started = max(0.0, _allowance(budget) - boosted_save_seconds(engine, final.artifact.obj)), time.monotonic()
    too_dear = _too_dear(engine, final.artifact.obj, budget, allowed)
    if too_dear:
        log("explain", f"no SHAP summary at training time: {too_dear}")
        return final
    try:
        with interrupt_at(started + allowed):  # building the explainer alone can take seconds (10k trees)
            summary = _summarize(engine, final.artifact.obj, allowed, started, log)
    except DeadlineExceeded:
        log("explain", f"no SHAP summary at training time: preparing it took more than the {allowed:.1f} s it may "
                       "cost (10 % of the budget, within the time left)")
        return final
    except Exception as exc:  # an explanation must never cost the model
        log("explain", f"no SHAP summary: explaining the model failed ({type(exc).__name__}: {exc})"[:300])
        return final
    if summary is None:
        return final
    seconds = time.monotonic() - started
    top = summary.top(TOP)
    log("explain", f"SHAP summary ({summary.method}, {len(summary.data)} training rows, {seconds:.1f} s): top "
                   "features " + ", ".join(f"{t['feature']} {t['mean_abs']:.3g}" for t in top[:5]))
    artifact = final.artifact
    meta = {**dict(artifact.meta), "shap_top_features": top,
            "shap_explained": {"method": summary.method, "output": summary.output,
                               "class_name": summary.class_name, "rows": len(summary.data)}}
    files = {**dict(artifact.files), **summary_files(summary, seconds)}
    return replace(final, artifact=replace(artifact, meta=meta, files=files))


def _too_dear(engine: TabularEngine, model: Any, budget: TimeBudget, allowed: float) -> str | None:
    """Why the summary cannot fit in the ``allowed`` seconds before even trying, or None."""
    from automlops.tabular.evaluate import boosted_trees

    importing = IMPORT_SECONDS if "shap" not in sys.modules else 0.0
    if budget.total is not None and budget.total < MIN_BUDGET or allowed < importing + 0.5:
        return (f"it may cost {allowed:.1f} s (10 % of the budget, within the time left), too little to import SHAP "
                "and explain the model")
    trees = boosted_trees(model, len(engine.problem.classes))
    if importing + trees * TREE_EXPLAINER_BUILD > allowed:  # SHAP reads every tree before it explains a row
        return (f"building the explainer for {trees} boosted trees alone would take "
                f"~{trees * TREE_EXPLAINER_BUILD:.1f} s, more than the {allowed:.1f} s it may cost (the Models page "
                "explains the saved model on demand)")
    return None


def _summarize(engine: TabularEngine, model: Any, allowed: float, started: float,
               log: DecisionLog) -> GlobalExplanation | None:
    """Time a few rows, then explain the sample if the extrapolated cost fits ``allowed``."""
    from automlops.tabular.explain import explain_global, make_explainer, tree_inside

    meta = {"task": engine.problem.task.value, "input_columns": list(engine.plan.input_columns)}
    X = engine.X
    explainer = make_explainer(model, meta, X)
    probe_start = time.monotonic()
    explainer.shap_values(X.head(PROBE_ROWS))
    per_row = (time.monotonic() - probe_start) / min(PROBE_ROWS, len(X))
    rows = min(len(X), ROWS_TREE if tree_inside(model) is not None else ROWS_AGNOSTIC)
    expected = (time.monotonic() - started) + per_row * rows
    if expected > allowed:
        log("explain", f"no SHAP summary at training time: {rows} rows would take ~{expected:.1f} s, more than "
                       f"the {allowed:.1f} s it may cost (10 % of the budget, within the time left)")
        return None
    return explain_global(model, meta, X, max_rows=rows, seed=engine.seed, explainer=explainer)


def summary_files(summary: GlobalExplanation, seconds: float) -> dict[str, str]:
    """The run's artifacts: ``explanations/shap_summary.json`` and a bar chart as SVG text."""
    record = {"method": summary.method, "output": summary.output, "class_name": summary.class_name,
              "rows": len(summary.data), "base_value": summary.base_value, "seconds": round(seconds, 3),
              "features": [{"feature": f, "mean_abs": float(m)} for f, m in zip(summary.features, summary.mean_abs,
                                                                                 strict=True)]}
    return {"explanations/shap_summary.json": json.dumps(record, indent=2),
            "explanations/shap_bar.svg": _bar_svg(summary)}


def _bar_svg(summary: GlobalExplanation) -> str:
    """Mean |SHAP| of the top 15 features as a horizontal bar chart, the largest first (SVG text)."""
    from automlops.core.svg import bar_chart_svg

    about = f" (class {summary.class_name})" if summary.class_name else ""
    return bar_chart_svg(list(summary.features[:15]), [float(v) for v in summary.mean_abs[:15]],
                         title=f"Feature importance by SHAP{about}", x_label=f"mean |SHAP| ({summary.output})")
