"""The Stability page's parts: pick a saved model, set the analysis, follow it, read the report.

**Is this score real, or luck?** A model's test score is one number from one split of the data
and one seed. The stability analysis refits the same configuration many times, changing one thing
at a time — the split (data variance), the seed (the algorithm's own randomness), one
hyperparameter (sensitivity) — and reports how far the metric moves. Tens of refits do not fit in a
page run, so the analysis runs in the background (:mod:`automlops.ui.analysis_jobs`): the page
submits it, follows it with a progress bar that redraws itself every second (with Cancel: what was
measured before is kept), and shows the report when it ends, also after a rerun, a page switch or
a reload (the analysis id lives in the session and the URL).
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from automlops.config import Settings
from automlops.errors import AutoMLOpsError
from automlops.mlops.store import ModelStore, StoredModel
from automlops.ui import analysis_jobs, components, state

__all__ = ["INTRO", "KIND", "analysable", "form", "live", "past_analyses", "pick_model", "render", "show_outcome",
           "submit"]

KIND = "stability"
INTRO = ("Is this model's score real, or luck? The analysis refits the saved configuration on its own dataset "
         "version many times: over **K resampled splits** (how much the score depends on which rows it learns "
         "from and is judged on), over **N seeds** on one split (the model's own randomness) and, for each "
         "hyperparameter, along a **sweep** around the chosen value. It reports the mean, the spread and a 95 % "
         "confidence interval of each, and says in plain words how stable the score is.")
SECTION_HELP = {"splits": "data variance: the same configuration refitted on resampled train/test splits",
                "seeds": "algorithm variance: one fixed split, only the model's random seed changes"}


def analysable(store: ModelStore) -> tuple[list[StoredModel], int]:
    """Saved versions that can be refitted (they name the dataset version they learned from), newest
    first, and how many others were left out (uploaded models, without data)."""
    models = list(reversed(store.list_models()))
    usable = [m for m in models if (m.meta.get("dataset") or {}).get("name")]
    return usable, len(models) - len(usable)


def _describe(model: StoredModel) -> str:
    meta = model.meta
    ds = meta.get("dataset") or {}
    score = meta.get("test_score")
    scored = f"test {meta.get('metric')} = {score:.4f}" if isinstance(score, (int, float)) else "no test score"
    return (f"{meta.get('kind', 'tabular')} · {meta.get('task', '?')} · {meta.get('best_model', '?')} · {scored} · "
            f"trained on {ds.get('name')} v{int(ds.get('version') or 0):04d}")


def pick_model(models: list[StoredModel]) -> StoredModel:
    """The model version to analyse (newest first)."""
    refs = [m.ref for m in models]
    ref = st.selectbox("Model version", refs, key="stab_model")
    chosen = models[refs.index(ref)]
    st.caption(_describe(chosen))
    return chosen


def _options() -> dict[str, Any]:
    """The three analyses and their sizes, in three columns."""
    splits_col, seeds_col, sens_col = st.columns(3)
    with splits_col:
        splits = st.checkbox("Splits", value=True, key="stab_use_splits", help=SECTION_HELP["splits"])
        k = st.number_input("K resampled splits", min_value=2, max_value=100, value=5, key="stab_splits",
                            disabled=not splits)
    with seeds_col:
        seeds = st.checkbox("Seeds", value=False, key="stab_use_seeds", help=SECTION_HELP["seeds"])
        n = st.number_input("N seeds", min_value=2, max_value=50, value=3, key="stab_seeds", disabled=not seeds)
    with sens_col:
        sensitivity = st.checkbox("Sensitivity", value=False, key="stab_sensitivity",
                                  help="each hyperparameter swept around its chosen value (log scale where it is "
                                       "one), the others fixed, each point refitted on a few splits")
        points = st.number_input("Points per hyperparameter", min_value=2, max_value=15, value=5, key="stab_points",
                                 disabled=not sensitivity)
    budget = st.number_input("Time budget (s, 0 = no limit)", min_value=0, max_value=7200, value=120, step=30,
                             key="stab_budget", help="no new refit starts once the budget would be exceeded; "
                                                     "the report says what was skipped")
    return {"splits": int(k) if splits else None, "seeds": int(n) if seeds else None,
            "sensitivity": bool(sensitivity), "points": int(points), "time_budget": float(budget) or None}


def form(model: StoredModel) -> dict[str, Any] | None:
    """The analysis settings; the job's parameters when Start is pressed and they make sense (else ``None``)."""
    from automlops.stability.analysis import check_options

    options = _options()
    planned = (options["splits"] or 0) + (options["seeds"] or 0)
    extra = f" + {options['points']} points × 3 splits per hyperparameter" if options["sensitivity"] else ""
    st.caption(f"About {planned} refits{extra}, run in parallel on every core"
               + (f", within {options['time_budget']:g} s." if options["time_budget"] else "."))
    if not st.button("Start the analysis", key="stab_start", type="primary", icon=":material/balance:"):
        return None
    try:
        check_options(options["splits"], options["seeds"], options["sensitivity"], options["points"],
                      time_budget=options["time_budget"])
    except AutoMLOpsError as exc:
        st.error(str(exc), icon=":material/warning:")
        return None
    return {"model": model.ref, **options}


def submit(params: dict[str, Any], settings: Settings) -> None:
    """Queue the analysis, follow it in this tab, rerun to show its progress."""
    job_id = analysis_jobs.submit(KIND, params, settings=settings)
    state.set_analysis_job_id(KIND, job_id)
    st.rerun()


def _asked(params: dict[str, Any]) -> str:
    parts = [f"{params['splits']} splits" if params.get("splits") else "",
             f"{params['seeds']} seeds" if params.get("seeds") else "",
             f"sensitivity ({params.get('points', 5)} points)" if params.get("sensitivity") else ""]
    return ", ".join(p for p in parts if p) or "nothing"


@st.fragment(run_every=1.0)
def live(job_id: str) -> None:
    """The running analysis, redrawn every second; one full rerun when it ends (the report replaces it)."""
    with components.guard("showing the analysis's progress"):
        snap = analysis_jobs.get(job_id, settings=state.settings())
        if snap is None:
            return
        if not snap.running:
            st.rerun()
        st.subheader(f"Analysing {snap.params.get('model')}: {_asked(snap.params)}")
        if snap.status == "queued":
            st.info(f"Waiting for a free slot: at most {analysis_jobs.MAX_RUNNING} analyses run at once.",
                    icon=":material/hourglass_top:")
        st.progress(min(1.0, max(0.0, snap.progress)), text=f"{snap.message or snap.status} · {snap.elapsed:.0f} s")
        if st.button("Cancel", key="stab_cancel", disabled=snap.cancel_requested,
                     help="stops after the running batch of refits; what was measured is kept and reported "
                          f"(a worker still busy {analysis_jobs.CANCEL_GRACE_S:g} s later is ended)"):
            analysis_jobs.cancel(job_id, settings=state.settings())
            st.toast("Stopping after the running refits…")
        if snap.cancel_requested:
            st.caption("Cancel requested: the analysis stops after the running refits and reports what it measured.")
        st.caption("You can leave this page: the analysis keeps running in its own process and this panel comes "
                   "back.")


def show_outcome(snap: analysis_jobs.AnalysisSnapshot) -> None:
    """An ended analysis: its report (a cancelled one's partial report too), or why it failed."""
    from automlops.stability.types import StabilityReport

    if snap.status == "failed":
        st.error(f"The analysis failed: {snap.error}", icon=":material/error:")
        return
    if snap.result is None:
        st.warning(snap.error or "The analysis stopped before any refit finished.", icon=":material/cancel:")
        return
    report = StabilityReport.from_dict(snap.result)
    if snap.status == "cancelled" or report.cancelled:
        st.warning("Cancelled: the report below covers the refits that finished.", icon=":material/cancel:")
    render(report, key=snap.job_id)


def _headline(report: Any) -> None:
    from automlops.stability.verdict import fmt

    head = report.headline()
    scale = head.std if head is not None and head.n >= 2 else None
    verdict = report.verdict or "no verdict: not enough refits finished"
    box = st.success if verdict.startswith("stable") else st.warning if verdict.startswith("unstable") else st.info
    box(verdict, icon=":material/lightbulb:")
    c1, c2, c3, c4 = st.columns([1.0, 1.8, 0.7, 0.7])  # the interval needs room for two numbers
    if head is not None and head.n:
        c1.metric(f"Mean {report.metric}", fmt(head.mean, scale), help=f"± {fmt(head.std, scale)} (std)")
        c2.metric("95 % interval", f"{fmt(head.ci_low, scale)} – {fmt(head.ci_high, scale)}",
                  help="where the mean score lies, 95 % confidence (corrected for overlapping splits)")
    c3.metric("Refits", report.n_fits, help=f"of {len(report.fits)} planned and started")
    c4.metric("Time", f"{report.seconds:.1f} s")


def render(report: Any, key: str = "stability") -> None:
    """Verdict, the spread per section, the figures, the refits, the decisions, downloads."""
    from automlops.stability.report import figures, fits_frame, section_rows, to_html, to_markdown

    _headline(report)
    st.caption(f"{report.model} · {report.label} · {report.metric} "
               f"({'higher' if report.direction == 'maximize' else 'lower'} is better) · {report.resampling}")
    rows = section_rows(report)
    if rows:
        st.dataframe(rows, hide_index=True, key=f"{key}-sections", column_config={
            c: st.column_config.NumberColumn(format="%.4f") for c in ("mean", "std", "ci_low", "ci_high", "min", "max")})
    figs = figures(report)
    names = {"distribution": "Spread", "sensitivity": "Sensitivity", "importances": "Importances (fANOVA)"}
    tabs = st.tabs([names[n] for n in figs] + ["Every refit", "Decisions"])
    for tab, (name, fig) in zip(tabs, figs.items(), strict=False):
        with tab:
            st.plotly_chart(fig, key=f"{key}-{name}", config={"displaylogo": False})
            if name == "sensitivity":
                _sensitivity_table(report, key)
    with tabs[len(figs)]:
        st.dataframe(fits_frame(report), hide_index=True, key=f"{key}-fits")
    with tabs[len(figs) + 1]:
        components.decision_list(list(report.decisions))
    where = f"MLflow run `{report.run_id}` (nested under the model's training run)" if report.run_id else "not tracked"
    st.caption(f"{where}.")
    left, right = st.columns(2)
    stem = report.model.replace("@", "-")
    left.download_button("Report (Markdown)", to_markdown(report), file_name=f"stability-{stem}.md",
                         mime="text/markdown", key=f"{key}-md", icon=":material/download:")
    right.download_button("Report (HTML, with figures)", to_html(report), file_name=f"stability-{stem}.html",
                          mime="text/html", key=f"{key}-html", icon=":material/download:")


def _sensitivity_table(report: Any, key: str) -> None:
    rows = [{"hyperparameter": c.param, "value": str(v), "chosen": v == c.chosen, "refits": s.n, "mean": s.mean,
             "std": s.std} for c in report.sensitivity for v, s in c.points]
    st.dataframe(rows, hide_index=True, key=f"{key}-sens", column_config={
        "mean": st.column_config.NumberColumn(format="%.4f"), "std": st.column_config.NumberColumn(format="%.4f")})


def past_analyses(settings: Settings, model: str | None, current: str | None) -> None:
    """Earlier analyses of ``model`` (any status): open one to read its report again."""
    snaps = [s for s in analysis_jobs.recent(KIND, limit=50, settings=settings)
             if s.job_id != current and (model is None or s.params.get("model") == model)]
    if not snaps:
        return
    labels = {s.job_id: f"{s.params.get('model')} · {_asked(s.params)} · {s.status} · "
                        f"{time.strftime('%d %b %H:%M', time.localtime(s.created))}" for s in snaps}
    with st.expander(f"Earlier analyses of {model} ({len(snaps)})" if model else f"Earlier analyses ({len(snaps)})"):
        chosen = st.selectbox("Analysis", list(labels), format_func=labels.__getitem__, key="stab_past")
        if st.button("Open", key="stab_open"):
            state.set_analysis_job_id(KIND, chosen)
            st.rerun()
