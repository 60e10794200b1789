"""AutoMLOps Studio dashboard: ``streamlit run app.py`` (``make run`` starts it with MLflow and the API).

This file is only the router: page config, the shared sidebar, every page's title and one-line
purpose (drawn here, before the page runs, so the first paint never waits for a heavy import),
and ``st.navigation``. Each page is a thin script under ``automlops/ui/pages/`` that calls the
engines.
"""

from __future__ import annotations

import streamlit as st

from automlops.ui import components, imports, shell

st.set_page_config(page_title="AutoMLOps Studio", page_icon=":material/rocket_launch:", layout="wide")

# (script, menu title, icon, url path, heading, one-line purpose)
PAGES = [
    ("home", "Home", "home", "home", "AutoMLOps Studio",
     "A hands-on lab for students: from a CSV to a tuned, tracked and saved model — and an explanation of every "
     "choice on the way."),
    ("data_lake", "Data Lake", "database", "data-lake", "Data Lake",
     "Versioned, checksummed datasets: upload a CSV, look inside a version, and choose the one you train on."),
    ("train", "Train", "model_training", "train", "Train",
     "Configure an AutoML search, watch it run live, and get a tuned, tracked, saved model — with every "
     "automatic choice explained."),
    ("vision", "Vision", "image", "vision", "Vision",
     "Images, end to end: add a .zip of labelled images, look inside it, train a classifier, segmenter or detector "
     "in the background, and see what it predicts."),
    ("experiments", "Experiments", "science", "experiments", "Experiments",
     "Every AutoML run tracked in MLflow: filter them, open one to see how it searched and where it errs, or "
     "compare several side by side."),
    ("models", "Models", "inventory_2", "models", "Models",
     "Every saved model version with where it came from (data → run → model); download it, or predict on a new "
     "CSV."),
    ("stability", "Stability", "balance", "stability", "Stability",
     "Is this model's score real, or luck? Refit it over other splits, other seeds and nearby hyperparameters, "
     "and see how much the metric moves."),
    ("lab", "Search Lab", "experiment", "search-lab", "Search-strategy lab",
     "TPE, random, grid, Hyperband, CMA-ES and QMC on the same data, budget and seeds: which one finds a good "
     "model sooner, and is the difference more than noise?"),
    ("monitoring", "Monitoring", "monitor_heart", "monitoring", "Monitoring",
     "Is the served model still seeing rows like those it learned from? Drift of live traffic, its history, "
     "volume, latency and live accuracy."),
    ("settings", "Settings / Tracking", "settings", "settings", "Settings / Tracking",
     "Choose where runs are tracked: the local SQLite store or a remote MLflow server such as DagsHub. "
     "Switching needs no restart."),
]
HEADERS = {title: (heading, purpose) for _, title, _, _, heading, purpose in PAGES}

page = st.navigation([st.Page(f"automlops/ui/pages/{script}.py", title=title, icon=f":material/{icon}:",
                              url_path=url, default=script == "home") for script, title, icon, url, *_ in PAGES])
slot = shell.sidebar()  # cheap: cached status, no network
try:
    components.page_header(*HEADERS[page.title])
    with imports.serialized():  # until the warm-up is done, one importer at a time
        page.run()
except Exception as exc:  # the last line of defence: no traceback ever reaches the screen
    components.report_error(exc, f"showing the {page.title} page")
else:
    shell.sidebar(slot)  # again, with what the page changed (workspace, job)
finally:  # threads start after the page, so its first paint never competes with them
    shell.background()
