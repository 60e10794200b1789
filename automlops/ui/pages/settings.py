"""Settings / Tracking: local SQLite or a remote MLflow server (DagsHub or any), checked live."""

from __future__ import annotations

import streamlit as st

from automlops.errors import AutoMLOpsError
from automlops.mlops.tracking import ConnectionStatus
from automlops.ui import components, shell, tracking

RESULT = "settings_connect_result"
MODES = {"dagshub": "DagsHub", "server": "MLflow server (URI + username/password)", "local": "Local SQLite"}
SECRET_KEYS = ("set_token", "set_password")


def show_status(status: ConnectionStatus) -> None:
    icon = shell.STATUS_ICON.get(status.state, ":material/error:")
    if status.ok:
        who = f" as **{status.user}**" if status.user else ""
        st.success(f"Connected{who} — {status.message} ({status.latency_ms:.0f} ms)", icon=icon)
    else:
        st.error(f"**{status.state}** — {status.message} ({status.latency_ms:.0f} ms)", icon=icon)


def connect() -> None:
    """Form callback: build the target, probe it, switch if it answers; never keep the secret in a widget."""
    s = st.session_state
    try:
        mode = s.get("set_mode", "dagshub")
        if mode == "dagshub":
            target = tracking.dagshub_target(s.get("set_owner", ""), s.get("set_repo", ""), s.get("set_user", ""),
                                             s.get("set_token", ""))
        elif mode == "server":
            target = tracking.server_target(s.get("set_uri", ""), s.get("set_user", ""), s.get("set_password", ""))
        else:
            target = tracking.local_target()
        status = tracking.connect(target)
        s[RESULT] = ("status", status, target.label)
    except AutoMLOpsError as exc:
        s[RESULT] = ("error", str(exc), "")
    finally:
        for key in SECRET_KEYS:
            s[key] = ""


active = tracking.current_target()
with st.container(border=True):
    st.markdown(f"**Active:** {active.label} — `{active.display_uri()}`")
    if st.button("Check the connection now", key="set_check"):
        with components.guard("checking the connection"), st.spinner("Asking the tracking server…"):
            show_status(tracking.check(active))
    elif (cached := tracking.cached_status(active)) is not None:
        show_status(cached)

result = st.session_state.pop(RESULT, None)
if result is not None:
    kind, payload, label = result
    if kind == "error":
        st.error(payload, icon=":material/warning:")
    else:
        show_status(payload)
        if payload.ok:
            st.success(f"New runs now go to {label}; the Experiments page reads from it too.")
        else:
            st.warning(f"Still using {active.label}: the new target was not switched on.")

st.subheader("Switch tracking")
mode = st.radio("Where should runs be tracked?", list(MODES), format_func=MODES.get, horizontal=True, key="set_mode")
with st.form("tracking_form", border=True):
    if mode == "dagshub":
        c1, c2 = st.columns(2)
        c1.text_input("DagsHub owner", key="set_owner", placeholder="your-user-or-org")
        c2.text_input("Repository", key="set_repo", placeholder="my-project")
        c1.text_input("Username (defaults to the owner)", key="set_user")
        c2.text_input("Token", type="password", key="set_token",
                      help="dagshub.com → Settings → Tokens. Kept in memory only; never shown again nor logged.")
        st.caption("URI: https://dagshub.com/<owner>/<repository>.mlflow")
    elif mode == "server":
        st.text_input("Tracking URI", key="set_uri", placeholder="http://127.0.0.1:5000")
        c1, c2 = st.columns(2)
        c1.text_input("Username (optional)", key="set_user")
        c2.text_input("Password or token (optional)", type="password", key="set_password",
                      help="Kept in memory only; never shown again nor logged.")
    else:
        from automlops.ui import state

        st.caption(f"Runs go to `{tracking.local_target().display_uri(state.settings())}` (works offline).")
    st.form_submit_button("Connect and switch" if mode != "local" else "Use local tracking", type="primary",
                          on_click=connect)

st.caption("The connection is checked by one real request with a 3-second timeout. The switch applies to this "
           "dashboard process: every open tab and every new training uses the same target.")
