"""The Search lab page's parts: the form, the running lab (progress + Cancel), the result, past labs.

A lab runs whole AutoML searches one after another (strategies × seeds × budget seconds), so it
runs as a background analysis (:mod:`automlops.ui.analysis_jobs`): the page submits it, follows it
with a progress bar that redraws itself every second, and shows the result when it ends, also
after a rerun, a page switch or a reload (the job id lives in the session and the URL).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from automlops.config import Settings
from automlops.mlops.lake import DataLake
from automlops.ui import analysis_jobs, components, state

__all__ = ["form", "live", "past_labs", "render", "show_outcome", "submit"]

KIND = "lab"
INTRO = ("Which search strategy suits **this** table? The lab runs each strategy several times (one seed each) "
         "with the same time budget, one run after the other so each gets the whole machine, and compares how "
         "fast the best validation score climbs (median and min–max band over seeds), how many trials "
         "Hyperband pruned and the fitting time that saved (estimated: steps not run × the trial's mean step "
         "time), and the final test score with its 95 % confidence interval.")


def _default_target(columns: list[str]) -> int:
    for i, c in enumerate(columns):
        if c.lower() in ("target", "label", "class", "y"):
            return i
    return len(columns) - 1


def form(lake: DataLake) -> dict[str, Any] | None:
    """The lab's settings; the parameters to submit when Start is pressed (else ``None``)."""
    from automlops.lab.jobs import lab_params
    from automlops.lab.runner import DEFAULT_STRATEGIES, MIN_BUDGET
    from automlops.search.strategies import STRATEGIES
    from automlops.tabular.presets import PRESETS

    datasets = lake.list_datasets()
    if not datasets:
        st.info("The data lake is empty: add a table on the Data lake page (or run `automlops demo`), then "
                "come back to compare search strategies on it.", icon=":material/info:")
        return None
    names = [d.name for d in datasets]
    name = st.selectbox("Dataset", names, key="lab_dataset")
    versions = [v.version for v in next(d for d in datasets if d.name == name).versions]
    version = st.selectbox("Version", versions[::-1], key=f"lab_version_{name}", format_func=lambda v: f"v{v:04d}")
    entry = lake.get_version(name, version)
    target = st.selectbox("Target column", entry.columns, index=_default_target(entry.columns),
                          key=f"lab_target_{name}")
    left, mid, right = st.columns(3)
    budget = left.number_input("Budget per run (s)", min_value=float(MIN_BUDGET), max_value=3600.0, value=20.0,
                               step=5.0, key="lab_budget")
    repeats = mid.number_input("Seeds per strategy", min_value=2, max_value=20, value=3, key="lab_repeats",
                               help="at least 2: with one seed there is no spread")
    preset = right.selectbox("Models (preset)", PRESETS.names(), index=PRESETS.names().index("medium"),
                             key="lab_preset")
    chosen = st.multiselect("Strategies", STRATEGIES.names(), default=list(DEFAULT_STRATEGIES), key="lab_strategies",
                            format_func=lambda s: STRATEGIES.get(s).label)
    runs = len(chosen) * int(repeats)
    st.caption(f"{len(chosen)} strategies × {int(repeats)} seeds = {runs} runs of {budget:g} s, one after the "
               f"other: about {runs * budget / 60:.1f} min.")
    if not st.button("Start the lab", key="lab_start", type="primary", icon=":material/science:"):
        return None
    if not chosen:
        st.error("Pick at least one strategy.", icon=":material/warning:")
        return None
    return lab_params(name, str(target), version=int(version), budget=float(budget), repeats=int(repeats),
                      strategies=list(chosen), preset=str(preset))


def submit(params: dict[str, Any], settings: Settings) -> None:
    """Queue the lab, follow it in this tab, rerun to show its progress."""
    job_id = analysis_jobs.submit(KIND, params, settings=settings)
    state.set_analysis_job_id(KIND, job_id)
    st.rerun()


@st.fragment(run_every=1.0)
def live(job_id: str) -> None:
    """The running lab, redrawn every second; one full rerun when it ends (the result replaces it)."""
    with components.guard("showing the lab's progress"):
        snap = analysis_jobs.get(job_id, settings=state.settings())
        if snap is None:
            return
        if not snap.running:
            st.rerun()
        p = snap.params
        st.subheader(f"Lab on {p.get('dataset')} · target '{p.get('target')}'")
        st.progress(min(1.0, max(0.0, snap.progress)), text=snap.message or snap.status)
        if st.button("Cancel", key="lab_cancel", disabled=snap.cancel_requested,
                     help="stops after the running trial; the runs that finished are kept and compared"):
            analysis_jobs.cancel(job_id, settings=state.settings())
            st.toast("Stopping after the running trial…")
        st.caption("You can leave this page: the lab keeps running in its own process and this panel comes back.")


def show_outcome(snap: analysis_jobs.AnalysisSnapshot) -> None:
    """An ended lab: its result (also a cancelled one's partial result), or why it failed."""
    from automlops.lab.types import LabResult

    if snap.status == "failed":
        st.error(f"The lab failed: {snap.error}", icon=":material/error:")
        return
    if snap.result is None:
        st.warning(snap.error or "The lab stopped before any run finished.", icon=":material/cancel:")
        return
    if snap.status == "cancelled":
        st.warning("Cancelled: the comparison below covers the runs that finished.", icon=":material/cancel:")
    render(LabResult.from_dict(snap.result), key=snap.job_id)


def render(result: Any, key: str = "lab") -> None:
    """Verdict, the table, convergence curves with bands, test scores, the runs, downloads."""
    from automlops.lab.plots import convergence_figure, figures, test_score_figure
    from automlops.lab.report import runs_table, summary_table, to_html, to_markdown

    st.success(result.verdict, icon=":material/lightbulb:")
    st.dataframe(summary_table(result), hide_index=True)
    st.caption(f"Data {result.dataset}, metric {result.metric} "
               f"({'higher' if result.direction == 'maximize' else 'lower'} is better), budget {result.budget:g} s "
               f"per run, seeds {', '.join(map(str, result.seeds))}; the lab took {result.seconds:.0f} s.")
    by_time, by_trials = st.tabs(["Best score vs time", "Best score vs trials"])
    with by_time:
        st.plotly_chart(convergence_figure(result, "seconds"), key=f"{key}-time")
    with by_trials:
        st.plotly_chart(convergence_figure(result, "trials"), key=f"{key}-trials")
    st.plotly_chart(test_score_figure(result), key=f"{key}-test")
    with st.expander("Every run"):
        st.dataframe(runs_table(result), hide_index=True)
    with st.expander("How the lab was run"):
        st.markdown("\n".join(f"- {d}" for d in result.decisions))
    left, right = st.columns(2)
    left.download_button("Report (Markdown)", to_markdown(result), file_name="lab.md", mime="text/markdown",
                         key=f"{key}-md")
    right.download_button("Report (HTML, with figures)", to_html(result, list(figures(result).values())),
                          file_name="lab.html", mime="text/html", key=f"{key}-html")


def past_labs(settings: Settings, current: str | None) -> None:
    """Earlier labs of this studio (any status): open one to read its result again."""
    snaps = [s for s in analysis_jobs.recent(KIND, limit=20, settings=settings) if s.job_id != current]
    if not snaps:
        return
    labels = {s.job_id: f"{s.params.get('dataset')} · '{s.params.get('target')}' · "
                        f"{len(s.params.get('strategies') or [])} strategies × {s.params.get('repeats')} seeds · "
                        f"{s.status}" for s in snaps}
    with st.expander(f"Earlier labs ({len(snaps)})"):
        chosen = st.selectbox("Lab", list(labels), format_func=labels.__getitem__, key="lab_past")
        if st.button("Open", key="lab_open"):
            state.set_analysis_job_id(KIND, chosen)
            st.rerun()
