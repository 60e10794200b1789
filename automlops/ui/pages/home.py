"""Home: what the studio does, the guided path, and the status of tracking and the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import streamlit as st

from automlops.ui import components, shell, state, tracking

st.markdown(
    "The studio runs **AutoML** on tables (it tries many models and settings, scored honestly on rows they "
    "never saw), **tracks** every run in MLflow, **versions** your data and models, and **serves** predictions "
    "through an API. Follow the four steps:")

STEPS = [
    ("1 · Upload", "Drop a CSV into the versioned data lake (or load the demo datasets).",
     "automlops/ui/pages/data_lake.py", "Open the Data Lake", ":material/database:"),
    ("2 · Train", "Pick the column to predict; AutoML searches models and hyperparameters.",
     "automlops/ui/pages/train.py", "Start a training", ":material/model_training:"),
    ("3 · Compare", "Read the leaderboard, plots and decisions; compare runs side by side.",
     "automlops/ui/pages/experiments.py", "See the experiments", ":material/science:"),
    ("4 · Serve", "Download a saved model, predict on a new CSV, or call the REST API.",
     "automlops/ui/pages/models.py", "Use a model", ":material/inventory_2:"),
]
for col, (title, text, page, label, icon) in zip(st.columns(4), STEPS, strict=True):
    with col.container(border=True):
        st.markdown(f"**{title}**")
        st.caption(text)
        st.page_link(page, label=label, icon=icon)

settings = state.settings()


def api_status(url: str, timeout: float = 0.3) -> tuple[bool, str]:
    """Whether the studio's prediction API answers at ``url``, and what it serves (or why not).

    Any web server answers ``GET /``; only the studio's API answers with its health record
    (``studio_version``, ``status``, ``model``), so that is what counts as online.
    """
    try:
        with urllib.request.urlopen(f"{url}/", timeout=timeout) as response:
            raw = response.read(65536)
    except urllib.error.HTTPError as exc:
        return False, f"something else answers there (HTTP {exc.code}), not the studio's API"
    except (OSError, ValueError):
        return False, "not running"
    try:
        health = json.loads(raw)
    except ValueError:
        health = None
    if not isinstance(health, dict) or "studio_version" not in health or "status" not in health:
        return False, "something else answers there, not the studio's API"
    model = health.get("model")
    if isinstance(model, dict) and model.get("name"):
        return True, f"online, serving {model['name']} v{model.get('version')}"
    return True, "online, no model served yet"


@st.fragment(run_every=3.0)
def tracking_panel() -> None:
    with components.guard("checking the tracking status"):
        show_tracking()


def show_tracking() -> None:
    target = tracking.current_target()
    status = tracking.cached_status(target)
    if status is None:
        tracking.refresh_status(target)
    st.markdown(f"**Tracking** — {target.label}")
    st.caption(target.display_uri())
    if status is None:
        st.info("Checking the connection…", icon=":material/hourglass_top:")
    elif status.ok:
        who = f" as {status.user}" if status.user else ""
        st.success(f"Connected{who} ({status.latency_ms:.0f} ms)", icon=shell.STATUS_ICON["connected"])
    else:
        st.error(f"{status.state}: {status.message}", icon=shell.STATUS_ICON.get(status.state, ":material/error:"))
    st.page_link("automlops/ui/pages/settings.py", label="Change tracking", icon=":material/settings:")


left, mid, right = st.columns(3)
with left.container(border=True):
    tracking_panel()
with mid.container(border=True):
    online, api = api_status(settings.resolved_api_url)
    st.markdown(f"**Prediction API** — {api}")
    st.caption(settings.resolved_api_url)
    if online:
        st.link_button("API docs", f"{settings.resolved_api_url}/docs")
    else:
        st.caption("Start it with `automlops serve` (needs API_KEY) — `make run` starts it for you.")
with right.container(border=True):
    st.markdown("**MLflow UI**")
    st.caption(f"{settings.resolved_mlflow_ui_url} — every run, metric and model (started by make run)")
    st.link_button("Open MLflow", settings.resolved_mlflow_ui_url)

with components.guard("reading the data lake"):
    from automlops.mlops.lake import DataLake
    from automlops.mlops.store import ModelStore

    datasets = DataLake(settings=settings).list_datasets()
    models = ModelStore(settings=settings).list_models()
    c1, c2 = st.columns(2)
    c1.metric("Datasets in the lake", len(datasets))
    c2.metric("Saved model versions", len(models))
    if not datasets:
        st.info("No datasets yet — upload a CSV or load the demo datasets in the Data Lake.", icon=":material/info:")
