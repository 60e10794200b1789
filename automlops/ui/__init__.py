"""The Streamlit dashboard: thin pages over the engines.

``app.py`` is the router; each page under ``pages/`` is a short script that calls engine
functions and renders their results. Session state goes through :mod:`automlops.ui.state`,
long training runs live in :mod:`automlops.ui.jobs` (worker processes that survive reruns and restarts),
the tracking target in :mod:`automlops.ui.tracking`, and charts/tables in
:mod:`automlops.ui.components`. Only this package (and ``app.py``) imports Streamlit.
"""
