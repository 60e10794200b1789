"""The Train form's fields for the tasks with an engine of their own: forecasting, clustering, anomalies.

Each task asks only what it needs (a time column and a horizon; a reference column to compare
clusters with; the expected share of anomalies and a column of known ones) and explains the
choice where it is made. The candidates, presets and metrics offered come from the engine's own
registries, so a model added to an engine shows up here without touching the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["engine_models", "engine_search", "engine_task_fields", "prefill_values", "time_columns"]

NONE, DEFAULT = "(none)", "(default)"
MAX_TRIALS, MAX_BUDGET_S, MAX_HORIZON = 2000, 86_400, 10_000
EXPLAIN = {
    "timeseries": "Statistical models (ETS, ARIMA, Theta, seasonal naive) and machine-learning models on lag "
                  "features compete in a backtest: each forecasts the last windows of the history from the past only.",
    "clustering": "No target: candidates (k-means, Gaussian mixtures, hierarchical, density-based) are judged by how "
                  "well separated their groups are (silhouette).",
    "anomaly": "No target: PyOD detectors score how unusual each row is; rows above a threshold are flagged.",
}


@st.cache_resource(show_spinner=False)
def _engine(task: str) -> Any:
    from automlops.tasks import TASK_ENGINES

    return TASK_ENGINES.get(task).engine_class()


def time_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that read as dates or times (datetime dtype, or text that parses on a sample)."""
    import pandas as pd

    found = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            found.append(str(column))
        elif values.dtype == object:
            sample = values.dropna().astype(str).head(50)
            parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
            if len(sample) and parsed.notna().mean() >= 0.9:
                found.append(str(column))
    return found


def _timeseries(frame: pd.DataFrame, dataset: str) -> dict[str, Any]:
    import pandas as pd

    times = time_columns(frame)
    if not times:
        return {"target": None, "problem": "this dataset has no column that reads as dates or times: forecasting "
                                           "needs one (e.g. 2024-01-31)"}
    c1, c2, c3 = st.columns(3)
    time_column = c1.selectbox("Time column", times, key=f"ts_time_{dataset}")
    numeric = [str(c) for c in frame.columns if str(c) != time_column and pd.api.types.is_numeric_dtype(frame[c])]
    if not numeric:
        return {"target": None, "problem": "forecasting needs a numeric column to forecast"}
    target = c2.selectbox("Column to forecast", numeric, index=len(numeric) - 1, key=f"ts_target_{dataset}")
    others = [NONE, *[str(c) for c in frame.columns if str(c) not in (time_column, target)]]
    series = c3.selectbox("Series id (many series in one table)", others, key=f"ts_series_{dataset}")
    c1, c2 = st.columns(2)
    horizon = c1.number_input("Horizon: steps to forecast (0 = one season)", 0, MAX_HORIZON, 0, key="ts_horizon")
    freq = c2.text_input("Frequency (blank = inferred)", key="ts_freq", help="pandas codes: D, W, MS, QS, h…")
    st.caption("The last horizon of every series is kept aside: the chosen model is scored there once, as a "
               "forecast it never saw. Other columns are exogenous inputs, which a forecast then needs for the future.")
    return {"target": target, "time_column": time_column, "series_id": None if series == NONE else series,
            "horizon": int(horizon) or None, "freq": freq.strip() or None}


def _clustering(frame: pd.DataFrame, dataset: str) -> dict[str, Any]:
    columns = [NONE, *[str(c) for c in frame.columns]]
    reference = st.selectbox("Reference groups (optional)", columns, key=f"cl_reference_{dataset}",
                             help="A column of known groups: left out of the features, compared with the clusters "
                                  "(ARI, NMI), never used to choose them.")
    k = st.number_input("Number of clusters (0 = search 2–10)", 0, 50, 0, key=f"cl_k_{dataset}",
                        help="Give k when you know it: the silhouette tends to prefer the coarsest clean split "
                             "(two groups on iris, whose three species overlap).")
    return {"target": None, "reference": None if reference == NONE else reference, "n_clusters": int(k) or None}


def _anomaly(frame: pd.DataFrame, dataset: str) -> dict[str, Any]:
    c1, c2 = st.columns(2)
    auto = c1.checkbox("Choose the share of anomalies automatically", True, key="an_contamination_auto")
    share = c1.slider("Expected share of anomalies", 0.005, 0.5, 0.05, 0.005, key="an_contamination", disabled=auto,
                      help="The threshold flags this share of the training rows.")
    columns = [NONE, *[str(c) for c in frame.columns]]
    label = c2.selectbox("Known anomalies (optional label column)", columns, key=f"an_label_{dataset}",
                         help="Left out of the features; used to measure ROC-AUC, PR-AUC and precision@k.")
    select = c2.checkbox("Also use the label to choose the detector", False, key="an_select_by_label",
                         disabled=label == NONE)
    return {"target": None, "contamination": "auto" if auto else float(share),
            "label": None if label == NONE else label, "select_by_label": bool(select and label != NONE)}


_FIELDS = {"timeseries": _timeseries, "clustering": _clustering, "anomaly": _anomaly}


def engine_task_fields(task: str, frame: pd.DataFrame, dataset: str) -> dict[str, Any]:
    """The request fields of ``task`` (``problem``: what to fix before training, if anything)."""
    st.caption(EXPLAIN[task])
    return _FIELDS[task](frame, dataset)


def engine_models(task: str) -> tuple[tuple[str, ...] | None, str | None]:
    """(models to search or None = the preset's, problem to fix)."""
    st.subheader("3 · Models")
    names = list(_engine(task).models.names())
    mode = st.radio("Model selection", ["preset", "manual"], horizontal=True, key=f"eng_selection_{task}",
                    format_func={"preset": "Automatic (preset)", "manual": "Manual (select)"}.__getitem__)
    if mode == "preset":
        st.caption(f"The preset picks among: {', '.join(names)}.")
        return None, None
    chosen = st.multiselect("Models to search", names, default=names[:1], key=f"eng_models_{task}")
    return (tuple(chosen) or None), None if chosen else "choose at least one model"


def engine_search(task: str) -> dict[str, Any]:
    from automlops.search.strategies import STRATEGIES

    engine = _engine(task)
    st.subheader("4 · Search and budget")
    left, right = st.columns(2)
    presets = dict(engine.presets.items())
    preset = left.radio("Preset", list(presets), index=min(1, len(presets) - 1), key=f"eng_preset_{task}",
                        captions=[str(getattr(p, "description", "")) for p in presets.values()])
    strategies = dict(STRATEGIES.items())
    search = right.radio("Hyperparameter search (HPO)", list(strategies), format_func=lambda n: strategies[n].label,
                         key="train_search", captions=[s.explanation for s in strategies.values()])
    specs = dict(engine.metrics.items())
    metric = right.selectbox("Metric", [DEFAULT, *specs], key=f"eng_metric_{task}",
                             format_func=lambda n: "The engine's default" if n == DEFAULT else
                             f"{getattr(specs[n], 'label', n)} ({specs[n].direction})")
    c1, c2, c3 = st.columns(3)
    n_trials = c1.number_input("Trials (0 = preset)", 0, MAX_TRIALS, 0, key="train_trials")
    budget = c2.number_input("Time budget in seconds (0 = none)", 0, MAX_BUDGET_S, 30, key=f"eng_budget_{task}")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
    return {"preset": preset, "search": search, "metric": None if metric == DEFAULT else metric, "n_trials": int(n_trials) or None,
            "time_budget": float(budget) or None, "seed": int(seed)}


def prefill_values(request: Any) -> dict[str, Any]:
    """The widget values that redraw this module's fields as ``request`` had them ("Train again")."""
    r, task, data = request, request.task, request.dataset
    values: dict[str, Any] = {f"eng_preset_{task}": r.preset, f"eng_metric_{task}": r.metric or DEFAULT,
                              f"eng_budget_{task}": min(int(r.time_budget or 0), MAX_BUDGET_S),
                              f"eng_selection_{task}": "manual" if r.models else "preset"}
    if r.models:
        values[f"eng_models_{task}"] = list(r.models)
    if task == "timeseries":
        values.update({f"ts_time_{data}": r.time_column, f"ts_target_{data}": r.target,
                       f"ts_series_{data}": r.series_id or NONE, "ts_horizon": int(r.horizon or 0),
                       "ts_freq": r.freq or ""})
    elif task == "clustering":
        values.update({f"cl_reference_{data}": r.reference or NONE, f"cl_k_{data}": int(r.n_clusters or 0)})
    elif task == "anomaly":
        auto = r.contamination == "auto"
        values.update({"an_contamination_auto": auto, f"an_label_{data}": r.label or NONE,
                       "an_select_by_label": bool(r.select_by_label)})
        if not auto:
            values["an_contamination"] = float(r.contamination)
    return values
