"""Monitoring: is the served model still seeing rows like those it learned from? Drift checks on the
API's live traffic, their history, the Evidently report, volume, latency and live quality."""

from __future__ import annotations

import streamlit as st

from automlops.ui import components, state
from automlops.ui import monitoring_view as view

settings = state.settings()
names = view.model_names(settings)
if not names:
    st.info("No saved models yet — train one on the Train page and serve it (`automlops serve`); its live "
            "traffic is then compared here with the data it was trained on.", icon=":material/info:")
    st.page_link("automlops/ui/pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()

pick, when, rows = st.columns([2, 1, 1])
name = pick.selectbox("Model", names, key="monitor_model")
window = when.selectbox("Window", view.WINDOWS, key="monitor_window", accept_new_options=True,
                        help="The last N predicted rows (1000) or the last hours/days (24h, 7d).")
min_rows = rows.number_input("Minimum rows", min_value=10, max_value=1_000_000, value=100, step=10,
                             key="monitor_min_rows", help="A drift test on a handful of rows says nothing.")
st.caption("Reference: the lake version the served model was trained on. Current: that window of the API's "
           "prediction log. Each column gets a statistical test (K-S or chi-square on small data, Wasserstein "
           "or Jensen-Shannon distances on large), chosen by Evidently.")

hourly = view.traffic(settings, name)
if hourly.empty:
    st.info(f"No traffic yet for **{name}**: nothing has been predicted by the API for this model. Serve it "
            "(`automlops serve`) and send rows to `POST /predict`; each answered row is logged and compared here.",
            icon=":material/info:")

retrain_col, promote_col = st.columns(2)
retrain = retrain_col.toggle("Retrain on drift", key="monitor_retrain", help=(
    "On drift, with enough labelled live rows: train a challenger with the champion's configuration on its data "
    "plus the older half of the labelled rows, and compare both on the newer half (rows neither has seen)."))
auto_promote = promote_col.toggle("Promote a winner straight to production", key="monitor_auto_promote",
                                  disabled=not retrain, help="Off: a winning challenger goes to staging for review.")
if st.button(":material/monitor_heart: Check drift now", key="monitor_check", type="primary",
             disabled=hourly.empty):
    from automlops.mlops.monitoring import monitor_model

    with components.guard("checking drift"), st.spinner("Comparing live traffic with the training data…"):
        result = monitor_model(name, window=str(window), min_rows=int(min_rows), settings=settings)
        st.toast(f"Checked {result.model}: {result.report.share_drifted:.0%} of columns drifted")
        if retrain:
            view.retrain_after(result, auto_promote=auto_promote, settings=settings)

from automlops.mlops.monitoring import drift_history, latest_check  # noqa: E402 - cheap, after the first paint

check = latest_check(name, settings=settings)
if check is None:
    if not hourly.empty:
        st.info("No drift check yet for this model: press **Check drift now** (or run "
                f"`automlops monitor --model {name}`).", icon=":material/info:")
else:
    st.subheader("Latest check")
    view.show_verdict(check)
    for note in check.get("notes", []):
        st.caption(note)
    st.dataframe(view.column_table(check), hide_index=True, width="stretch",
                 column_config={"statistic": st.column_config.NumberColumn(format="%.4g")})
    if check.get("live_metrics"):
        components.metric_cards({k: float(v) for k, v in check["live_metrics"].items()})
        st.caption(f"On {check.get('n_labelled', 0)} labelled rows of the window (true labels sent to "
                   "`POST /feedback`).")
    view.show_report(check.get("report_path"), key="monitor_report")

    history = drift_history(name, settings=settings)
    st.subheader("Drift over time")
    components.show_chart(view.drift_chart(history), key="monitor_drift_chart")
    live = view.live_chart(history)
    if live is not None:
        components.show_chart(live, key="monitor_live_chart")

if not hourly.empty:
    st.subheader("Traffic")
    total = int(hourly["rows"].sum())
    latency = hourly["latency_p50_ms"].dropna()
    st.caption(f"{total:,} rows in {int(hourly['requests'].sum()):,} requests over {len(hourly)} hour(s) with "
               "traffic" + (f"; median latency {latency.median():.1f} ms" if len(latency) else
                            "; latency is not in this log (see GET /metrics)") + ".")
    components.show_chart(view.traffic_chart(hourly), key="monitor_traffic_chart")
