"""The Train page's configuration form: every choice of the seed, explained where it is made.

It only gathers choices and asks the engines for their explanations (task inference, the
validation the runner would pick, each search strategy's one-sentence summary); it returns a
:class:`~automlops.ui.jobs.TrainRequest` when the user presses *Start training*.

"Train again" starts from the last request (:func:`prefill`): Streamlit forgets a widget's value
when the widget is not drawn, and the form is hidden while a job runs, so the form's widgets are
given that request's values before they are drawn again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from automlops.ui import state
from automlops.ui.jobs import TrainRequest

if TYPE_CHECKING:
    import pandas as pd

    from automlops.core.problem import Problem
    from automlops.mlops.lake import DataLake

__all__ = ["prefill", "render"]

SELECTION = {"preset": "Automatic (preset)", "manual": "Manual (select)", "ensemble": "Custom ensemble"}
TASKS = ("auto", "classification", "regression", "timeseries", "clustering", "anomaly")
TASK_LABELS = {"auto": "Auto-detect", "classification": "Classification", "regression": "Regression",
               "timeseries": "Time-series forecasting", "clustering": "Clustering", "anomaly": "Anomaly detection"}
MAX_TRIALS, MAX_BUDGET_S, MAX_WEIGHT = 2000, 86_400, 10.0
SELECT_LABELS = {"best": "Best score", "robust": "Robust (simplest tied with the best)"}


@st.cache_data(show_spinner=False, max_entries=8)
def _load(root: str, dataset: str, version: int, sha256: str) -> pd.DataFrame:
    from pathlib import Path

    from automlops.mlops.lake import DataLake

    return DataLake(Path(root)).load(dataset, version)


def _default_target(dataset: str, columns: list[str]) -> int:
    from automlops.demo import DEMO_DATASETS

    known = DEMO_DATASETS[dataset].target if dataset in DEMO_DATASETS else "target"
    return columns.index(known) if known in columns else len(columns) - 1


def _data(lake: DataLake) -> tuple[str, int, pd.DataFrame] | None:
    datasets = lake.list_datasets()
    if not datasets:
        st.info("No datasets yet — add a CSV in the Data Lake, or load the demo datasets there.")
        st.page_link("automlops/ui/pages/data_lake.py", label="Open the Data Lake", icon=":material/database:")
        return None
    st.subheader("1 · Data")
    ws, names = state.workspace(), [d.name for d in datasets]
    c1, c2 = st.columns(2)
    dataset = c1.selectbox("Dataset", names, index=names.index(ws.dataset) if ws and ws.dataset in names else 0,
                           key="train_dataset")
    info = datasets[names.index(dataset)]
    versions = [v.version for v in reversed(info.versions)]
    default = versions.index(ws.version) if ws and ws.dataset == dataset and ws.version in versions else 0
    version = c2.selectbox("Version", versions, index=default, format_func=lambda v: f"v{v:04d}",
                           key=f"train_version_{dataset}")
    entry = next(v for v in info.versions if v.version == version)
    state.set_workspace(dataset, version)
    frame = _load(str(lake.root), dataset, version, entry.sha256)
    st.caption(f"{entry.rows} rows × {frame.shape[1]} columns · SHA-256 {entry.sha256[:12]}…")
    return dataset, version, frame


def _task(frame: pd.DataFrame, dataset: str) -> tuple[Problem | None, str | None, dict[str, Any]]:
    """(the tabular problem or None, the task asked for or None = auto, the request's task fields)."""
    from automlops.core.problem import infer_problem
    from automlops.tasks import ENGINE_TASKS

    st.subheader("2 · Task")  # the model source is picked above the form (automlops.ui.model_sources)
    choice = st.radio("Task", TASKS, format_func=TASK_LABELS.__getitem__, horizontal=True, key="train_task")
    if choice in ENGINE_TASKS:
        from automlops.ui.task_forms import engine_task_fields

        return None, choice, engine_task_fields(choice, frame, dataset)
    columns = [str(c) for c in frame.columns]
    target = st.selectbox("Target column (what to predict)", columns, index=_default_target(dataset, columns),
                          key=f"train_target_{dataset}")
    inferred = infer_problem(frame, target)
    st.caption(f"Auto-detect would choose **{inferred.task.value}**. Why: " + inferred.reasons[0] + ".")
    problem = inferred if choice == "auto" else infer_problem(frame, target, task=choice)
    return problem, None if choice == "auto" else problem.task.value, {"target": target}


def _ensemble(problem: Problem, names: list[str], label: dict[str, str]) -> tuple[list[str], Any]:
    from automlops.core.problem import TaskType
    from automlops.tabular.ensemble import META_MODELS, EnsembleConfig

    task = problem.task.value
    members = st.multiselect("Ensemble members (at least 2)", names, default=names[:2], format_func=lambda n: label[n],
                             key=f"ens_members_{task}")
    kind = st.radio("Ensemble kind", ["voting", "weighted", "stacking"], horizontal=True, key="ens_kind", captions=[
        "combine the members' votes (hard) or average their probabilities (soft)",
        "ensemble selection learns each member's weight from the out-of-fold predictions (and may drop one)",
        "a meta-model learns how to combine the members' predictions"])
    if kind == "weighted":
        return members, EnsembleConfig("weighted", members=tuple(members), top_k=max(len(members), 2))
    if kind == "voting":
        voting = "soft"
        if problem.task is TaskType.CLASSIFICATION:
            voting = st.radio("Voting", ["soft", "hard"], horizontal=True, key="ens_voting")
        cols = st.columns(max(len(members), 1))
        weights = tuple(float(col.number_input(f"Weight of {m}", 0.0, MAX_WEIGHT, 1.0, 0.5, key=f"ens_w_{m}"))
                        for col, m in zip(cols, members, strict=False))
        return members, EnsembleConfig("voting", voting=voting, weights=weights, members=tuple(members))
    metas = [n for n, (tasks, _) in META_MODELS.items() if problem.task in tasks]
    meta = st.selectbox("Meta-model", metas, key=f"ens_meta_{task}")
    return members, EnsembleConfig("stacking", meta_model=meta, members=tuple(members))


def _models(problem: Problem) -> tuple[tuple[str, ...] | None, Any, str | None]:
    """(models, ensemble, problem-to-fix) for the chosen selection mode."""
    from automlops.tabular.zoo import available_models

    st.subheader("3 · Models")
    specs = available_models(problem.task)
    label = {s.name: s.label for s in specs}
    names = list(label)
    mode = st.radio("Model selection", list(SELECTION), format_func=lambda m: SELECTION[m], horizontal=True,
                    key="train_selection")
    if mode == "preset":
        st.caption("The preset picks the candidates (light models for *fast*, every model for *medium*/*best*).")
        return None, "auto", None
    if mode == "manual":
        chosen = st.multiselect("Models to search", names, default=names[:1], format_func=lambda n: label[n],
                                key=f"train_models_{problem.task.value}")
        return (tuple(chosen) or None), "auto", None if chosen else "choose at least one model"
    members, config = _ensemble(problem, names, label)
    return tuple(members), config, None if len(members) >= 2 else "an ensemble needs at least two members"


def _validation(problem: Problem, y: pd.Series, preset_validation: str) -> tuple[str | None, Any]:
    """The validation selectbox; returns the user's mode and a function that captions the choice
    once the time budget is known (the automatic rule depends on it)."""
    from automlops.core.problem import TaskType
    from automlops.tabular.validation import USER_MODES, choose_validation, training_target

    modes: list[str] = ["preset", *[m for m in USER_MODES
                                    if m != "stratified" or problem.task is TaskType.CLASSIFICATION]]
    label = {"preset": f"From the preset ({preset_validation})", "auto": "Automatic (recommended)",
             "kfold": "K-fold cross-validation", "stratified": "Stratified k-fold", "holdout": "Holdout",
             "timeseries": "Time-series split"}
    mode = st.selectbox("Validation", modes, format_func=lambda m: label[m],
                        key=f"train_validation_{problem.task.value}")
    effective = preset_validation if mode in (None, "preset") else str(mode)
    slot = st.empty()

    def caption(n_columns: int, time_budget: float | None) -> None:
        train_rows = training_target(y, problem)  # the rows the search validates on
        plan = choose_validation(problem, train_rows, mode=effective, n_columns=n_columns, time_budget=time_budget)
        reason = plan.reason.replace("chosen by the user", "set by the preset") if mode == "preset" else plan.reason
        slot.caption(f"→ {plan.kind}: {reason}.")

    return (None if mode == "preset" else mode), caption


def _budget_text(preset: Any, n_trials: int, budget: int) -> str:
    """What will bound the search: the trial count, the time budget, or the preset's own limit."""
    limit = budget or preset.time_budget
    if n_trials and limit:
        return f"→ up to {n_trials} trials, stopping earlier if the {limit:g} s time budget runs out."
    if n_trials:
        return f"→ exactly {n_trials} trials (unless one fails or is pruned), however long they take."
    if budget:
        return (f"→ a {budget} s time budget: trials run until it is nearly spent (keeping time to refit, test and "
                "save), however many that is; the preset's trial count does not apply.")
    if preset.time_budget:
        return f"→ the preset's {preset.time_budget:g} s time budget: trials run until it is nearly spent."
    return f"→ the preset's {preset.n_trials} trials (no time limit)."


def _search(problem: Problem, y: pd.Series, n_columns: int) -> dict[str, Any]:
    from automlops.core.metrics import metrics_for
    from automlops.tabular.presets import PRESETS
    from automlops.tabular.search import STRATEGIES

    st.subheader("4 · Search and budget")
    left, right = st.columns(2)
    presets = dict(PRESETS.items())
    preset = left.radio("Preset", list(presets), key="train_preset",
                        captions=[p.description for p in presets.values()])
    strategies = dict(STRATEGIES.items())
    search = right.radio("Hyperparameter search (HPO)", list(strategies), format_func=lambda n: strategies[n].label,
                         key="train_search", captions=[s.explanation for s in strategies.values()])
    with left:
        validation, caption_validation = _validation(problem, y, presets[preset].validation)
    specs = {m.name: m for m in metrics_for(problem.task)}
    names = list(specs)
    # keyed by the task's default metric too: switching the target from a 7-class to a yes/no column kept
    # log-loss selected (one widget, one remembered value) where the binary default is ROC-AUC
    metric = right.selectbox("Metric", names, index=names.index(problem.metric),
                             key=f"train_metric_{problem.task.value}_{problem.metric}",
                             format_func=lambda n: f"{specs[n].label} ({specs[n].direction})")
    right.caption(specs[metric].explanation)
    select = right.radio("Model choice", list(SELECT_LABELS), format_func=SELECT_LABELS.__getitem__, horizontal=True,
                         key="train_select", help="Robust: among the models whose validation score is statistically "
                         "tied with the best (corrected t-test over folds, or a paired bootstrap on a holdout), ship "
                         "the simplest (fewest tuned hyperparameters, then fastest, then steadiest); the decisions "
                         "say why.")
    c1, c2, c3 = st.columns(3)
    n_trials = c1.number_input("Trials (0 = preset)", 0, MAX_TRIALS, 0, key="train_trials")
    budget = c2.number_input("Time budget in seconds (0 = none)", 0, MAX_BUDGET_S, 0, key="train_budget")
    seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
    st.caption(_budget_text(presets[preset], int(n_trials), int(budget)))
    caption_validation(n_columns, float(budget) or presets[preset].time_budget)
    return {"preset": preset, "search": search, "validation": validation, "metric": metric,
            "n_trials": int(n_trials) or None, "time_budget": float(budget) or None, "seed": int(seed),
            "select": select}


def _selection(request: TrainRequest) -> str:
    if not isinstance(request.ensemble, str):
        return "ensemble"
    return "preset" if request.models is None else "manual"


def _task_values(request: TrainRequest, task: str) -> dict[str, Any]:
    """The widgets whose key names the task (their options depend on it)."""
    r = request
    values: dict[str, Any] = {f"train_validation_{task}": request.validation or "preset"}
    if r.metric:  # whichever default the target implies (the metric widget's key names it)
        from automlops.core.metrics import metrics_for
        from automlops.core.problem import TaskType

        values.update({f"train_metric_{task}_{m.name}": r.metric for m in metrics_for(TaskType(task))})
    if r.models and _selection(r) == "manual":
        values[f"train_models_{task}"] = list(r.models)
    config = r.ensemble
    if not isinstance(config, str):
        members = list(config.members or r.models or ())
        values.update({f"ens_members_{task}": members, "ens_kind": config.kind, "ens_voting": config.voting})
        values.update({f"ens_w_{m}": min(float(w), MAX_WEIGHT)
                       for m, w in zip(members, config.weights or (), strict=False)})
        if config.meta_model:
            values[f"ens_meta_{task}"] = config.meta_model
    return values


def prefill(request: TrainRequest, task: str | None = None) -> None:
    """Give the form's widgets the values of ``request`` (``task``: the task the job trained, when
    the request left it to auto-detection). Values that no longer fit (a deleted dataset) are
    reset by Streamlit to the widget's default."""
    r = request
    values: dict[str, Any] = {
        "train_dataset": r.dataset, f"train_version_{r.dataset}": r.version, f"train_target_{r.dataset}": r.target,
        "train_task": r.task or "auto", "train_selection": _selection(r), "train_preset": r.preset,
        "train_search": r.search, "train_trials": min(int(r.n_trials or 0), MAX_TRIALS),
        "train_budget": min(int(r.time_budget or 0), MAX_BUDGET_S),
        "train_seed": int(r.seed), f"train_name_{r.dataset}": r.name, "train_select": r.select}
    if r.uses_engine:
        from automlops.ui.task_forms import prefill_values

        values.update(prefill_values(r))
    elif r.task or task:
        values.update(_task_values(r, str(r.task or task)))
    st.session_state.update(values)
    state.set_workspace(r.dataset, r.version)


def _name_key(dataset: str, task: str | None) -> str:
    """The name field's key, its value set to the default name (:func:`automlops.tasks.default_model_name`)
    while the user has not typed another: ``iris``, then ``iris_clusters`` when the task becomes clustering."""
    from automlops.tasks import default_model_name

    key, default = f"train_name_{dataset}", default_model_name(dataset, task)
    shown = f"{key}_default"  # the default the field was last given
    if key not in st.session_state or st.session_state[key] == st.session_state.get(shown):
        st.session_state[key] = default
    st.session_state[shown] = default
    return key


def render(lake: DataLake) -> TrainRequest | None:
    """Draw the form; return the request when *Start training* is pressed with a valid setup."""
    data = _data(lake)
    if data is None:
        return None
    dataset, version, frame = data
    problem, task, fields = _task(frame, dataset)
    if problem is None:  # forecasting, clustering, anomaly detection: the task's own engine
        from automlops.ui.task_forms import engine_models, engine_search

        models, problem_to_fix = engine_models(str(task))
        problem_to_fix = problem_to_fix or fields.pop("problem", None)
        choices: dict[str, Any] = {"ensemble": "auto", **engine_search(str(task))}
    else:
        models, ensemble, problem_to_fix = _models(problem)
        choices = {"ensemble": ensemble, **_search(problem, frame[fields["target"]].dropna(),
                                                   n_columns=frame.shape[1] - 1)}
    name = st.text_input("Save the model as", key=_name_key(dataset, task),
                         help="1-64 letters, digits, '_' or '-'; each training saves a new version")
    if problem_to_fix:
        st.warning(f"Before training: {problem_to_fix}.")
    if not st.button("Start training", type="primary", key="train_start", disabled=problem_to_fix is not None):
        return None
    return TrainRequest(dataset=dataset, version=version, task=task, models=models,
                        model_name=name.strip() or None, **fields, **choices)
