"""The Vision page's training part: the form, the background job, and its live learning curves.

**What the choices mean.** A vision model here is a torchvision network trained by *transfer
learning*: the architecture's backbone starts from pretrained weights when they are available
(a local file, torchvision's cache, or a download) and its last layer is replaced for your
classes. One *epoch* is one pass over the training images; the runner tries several
hyperparameter settings (*trials*: learning rate, weight decay, batch size, how much of the
backbone to freeze, and the architecture when you pick several) and stops the weak ones early
(Hyperband pruning on epochs), all within the time budget.

**Where it runs.** Pressing *Train* submits a :class:`~automlops.ui.jobs.TrainRequest` to the
dashboard's job system: the training runs in its own worker process (PyTorch is loaded there, not
in the dashboard), its progress goes to the job table, and this page polls it once a second. After
each epoch the runner reports the training loss, the validation loss and the validation metric, so
the curves grow while the network learns: a training loss that keeps falling while the validation
loss rises is overfitting, seen as it happens. *Cancel* stops after the running epoch and saves
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from automlops.ui import components, jobs, state
from automlops.ui.jobs import TrainRequest

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from automlops.config import Settings
    from automlops.mlops.image_lake import ImageDatasetVersion
    from automlops.ui.job_types import EpochPoint

__all__ = ["curves_chart", "job_picker", "live", "render_form", "submit"]

DEVICES = {"auto": "auto (the GPU when there is one)", "cpu": "CPU", "cuda": "CUDA GPU"}
WEIGHTS = {"auto": "pretrained (ImageNet / COCO)", "file": "from a file", "none": "random (no pretraining)"}
CANCEL_HELP = ("Stops after the running epoch and saves nothing: a cancelled training never becomes a model "
               "version. A training still busy {grace:g} s later is ended.")
PRESETS = {"fast": "fast (few trials, few epochs)", "medium": "medium", "best": "best (many trials and epochs)"}
MAX_EPOCHS, MAX_BUDGET_S, MAX_TRIALS = 500, 86_400, 500
MIN_IMAGE_SIZE = 16  # the engine's smallest input side


def _architectures(task: str) -> list[str]:
    from automlops.vision.zoo import VISION_MODELS, models_for

    names = models_for(task)
    st.session_state.setdefault(f"vision_models_{task}", names[:1])
    return st.multiselect("Architectures", names, key=f"vision_models_{task}",
                          format_func=lambda n: f"{n} ({VISION_MODELS.get(n).params_m:g} M parameters)",
                          help="\n\n".join(f"**{n}**: {VISION_MODELS.get(n).description}" for n in names)
                          + "\n\nSeveral: the search also chooses among them.")


def _search_settings() -> tuple[str, int, int, float]:
    """Preset, epochs per trial, trials (0: the preset's) and time budget, on one row."""
    c1, c2, c3, c4 = st.columns(4)
    preset = c1.selectbox("Preset", list(PRESETS), key="vision_preset", format_func=PRESETS.__getitem__,
                          help="How many configurations are tried, and how many epochs each may train.")
    epochs = c2.number_input("Epochs per trial (0: the preset's)", 0, MAX_EPOCHS, 3, key="vision_epochs",
                             help="Passes over the training images; early stopping may end a trial sooner.")
    trials = c3.number_input("Trials (0: the preset's)", 0, MAX_TRIALS, 0, key="vision_trials",
                             help="Hyperparameter settings tried; Hyperband stops the weak ones after an epoch or "
                                  "a few.")
    budget = c4.number_input("Time budget (s)", 5, MAX_BUDGET_S, 120, step=10, key="vision_budget",
                             help="The whole training, loading and saving included, stays within it.")
    return str(preset), int(epochs), int(trials), float(budget)


def _problem(models: list[str], start: str, path: Path | None, typed: str, size: int = 0, batch: int = 0
             ) -> str | None:
    """What stops the training from starting (no architecture, a weights file that is not there, an
    image or batch size the engine refuses), or None: said under the form, not by a failed job."""
    if not models:
        return "Pick at least one architecture."
    if 0 < size < MIN_IMAGE_SIZE:
        return f"Image size {size} is too small: use 0 (the runner's choice) or {MIN_IMAGE_SIZE} to 1024 pixels."
    if batch == 1:
        return "Batch size 1 cannot train (batch normalisation needs two images): use 0 (searched) or 2 or more."
    if start == "file" and (path is None or not path.is_file()):
        return (f"No file at {typed.strip()!r}: give the path of a weights file on this machine." if path
                else "Give the path of the weights file, or choose other starting weights.")
    return None


def render_form(entry: ImageDatasetVersion) -> TrainRequest | None:
    """The training choices for ``entry``; the request when *Train* is pressed."""
    from automlops.ui.vision_view import TASK_LABELS

    task = entry.task
    st.markdown(f"Task: **{TASK_LABELS.get(task, task)}** — from the dataset's layout ({entry.layout}); "
                f"{len(entry.classes)} classes: {', '.join(entry.classes[:12])}{' …' if len(entry.classes) > 12 else ''}")
    models = _architectures(task)
    preset, epochs, trials, budget = _search_settings()
    c1, c2, c3 = st.columns(3)
    device = c1.selectbox("Device", list(DEVICES), format_func=DEVICES.__getitem__, key="vision_device")
    start = c2.selectbox("Starting weights", list(WEIGHTS), format_func=WEIGHTS.__getitem__, key="vision_start_from",
                         help="Pretrained: torchvision's cache, else a download; without either (no internet), "
                              "random weights, said in the decisions. A file: a torchvision state dict of the "
                              "chosen architecture.")
    weights = c3.text_input("Weights file", key="vision_weights",
                            placeholder="/path/to/resnet18-f37072fd.pth") if start == "file" else ""
    with st.expander("Advanced"):
        c1, c2, c3 = st.columns(3)
        size = c1.number_input("Image size (0: the runner's choice)", 0, 1024, 0, step=16, key="vision_size")
        batch = c2.number_input("Batch size (0: searched)", 0, 512, 0, key="vision_batch")
        seed = c3.number_input("Seed", 0, 2**31 - 1, 0, key="vision_seed")
    name = st.text_input("Model name", value=entry.name, key=f"vision_name_{entry.name}",
                         help="Saved as the next version of this name in the model store.")
    path = Path(weights.strip()).expanduser() if weights.strip() else None
    problem = _problem(models, start, path, weights, int(size), int(batch))
    if problem:
        st.error(problem)
    if not st.button("Train", type="primary", key="vision_start", icon=":material/model_training:",
                     disabled=problem is not None):
        return None
    return TrainRequest(dataset=entry.name, version=entry.version, target=None, task=task, models=tuple(models),
                        preset=preset, search="hyperband", n_trials=int(trials) or None, time_budget=float(budget),
                        epochs=int(epochs) or None, device=device,
                        weights=str(path) if start == "file" else (None if start == "auto" else "none"),
                        image_size=int(size) or None, batch_size=int(batch) or None, seed=int(seed),
                        model_name=name.strip() or None)


def submit(request: TrainRequest, settings: Settings) -> None:
    """Check a remote tracking server first (a run that cannot be logged would be lost), then submit."""
    from automlops.ui.submit import submit_checked

    with components.guard("starting the training"):
        job = submit_checked(request, settings)
        if job is not None:
            state.set_vision_job_id(job.id)
            st.rerun()


def curves_chart(epochs: tuple[EpochPoint, ...], *, loss: bool) -> go.Figure:
    """Loss (training solid, validation dashed) or the validation metric, per epoch, one colour per trial."""
    import plotly.graph_objects as go

    from automlops.ui.vision_draw import color

    fig = go.Figure()
    trials = sorted({p.trial for p in epochs})
    metric = next((p.metric for p in epochs if p.metric), "metric")
    for k, trial in enumerate(trials):
        points = sorted((p for p in epochs if p.trial == trial), key=lambda p: p.epoch)
        x, rgb = [p.epoch for p in points], f"rgb{color(k)}"
        series = ([("train", [p.train_loss for p in points], "solid"), ("validation", [p.val_loss for p in points],
                                                                         "dash")] if loss
                  else [(metric, [p.value for p in points], "solid")])
        for label, y, dash in series:
            if any(v is not None for v in y):
                fig.add_scatter(x=x, y=y, mode="lines+markers", name=f"trial {trial} {label}",
                                line={"color": rgb, "dash": dash})
    fig.update_layout(title="Loss per epoch (lower is better)" if loss else f"Validation {metric} per epoch",
                      xaxis_title="epoch", yaxis_title="loss" if loss else metric, xaxis={"dtick": 1})
    return fig


def show_curves(epochs: tuple[EpochPoint, ...], key: str) -> None:
    left, right = st.columns(2)
    with left:
        components.show_chart(curves_chart(epochs, loss=True), key=f"{key}-loss")
    with right:
        components.show_chart(curves_chart(epochs, loss=False), key=f"{key}-metric")


@st.fragment(run_every=1.0)
def live(job_id: str) -> None:
    """The running job, redrawn every second; one full rerun when it ends (results replace it)."""
    with components.guard("showing the training progress"):
        _live_panel(job_id)


def _live_panel(job_id: str) -> None:
    job = jobs.get(job_id)
    if job is None:
        return
    snap = job.snapshot()
    if not snap.running:
        st.rerun()
    r = snap.request
    st.subheader(f"Training '{r.name}' on {r.dataset} v{r.version:04d} → {r.headline}")
    if snap.status == "queued":
        st.info(f"Waiting in the queue, position {snap.queue_position or '?'}: at most "
                f"{state.settings().max_training_jobs} training(s) run at once (MAX_TRAINING_JOBS).",
                icon=":material/hourglass_top:")
    else:
        components.show_job_progress(snap)
        if snap.epochs:
            show_curves(snap.epochs, key="vision-live")
        else:
            st.info("The first epoch is running; the loss and metric curves appear as soon as it ends.")
    if st.button("Cancel", key="vision_cancel", disabled=snap.cancel_requested,
                 help=CANCEL_HELP.format(grace=jobs.CANCEL_GRACE_S)):
        job.cancel()
        st.toast("Stopping after the running epoch…")
    st.caption("You can leave this page: the training keeps running in its own process and this panel comes back.")


def job_picker(current: str | None) -> None:
    """The studio's other vision trainings (running or recent, also from before a restart): open one."""
    snaps = [s for s in (j.snapshot() for j in jobs.recent_jobs(limit=30)) if s.request.is_vision and s.id != current]
    if not snaps:
        return
    labels = {s.id: f"{s.request.name} · {s.request.dataset} v{s.request.version:04d} · {s.status}" for s in snaps}
    active = sum(s.running for s in snaps)
    with st.expander(f"Vision trainings: {active} running or queued, {len(snaps) - active} recent",
                     expanded=active > 0):
        pick = st.selectbox("Training", list(labels), format_func=labels.__getitem__, key="vision_job_pick")
        if st.button("Open", key="vision_job_open"):
            state.set_vision_job_id(pick)
            st.rerun()
