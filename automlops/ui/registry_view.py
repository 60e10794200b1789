"""The Models page's "Registry stage" section: promote, demote, archive, roll back, and the history.

Stages live in the MLflow Model Registry (:mod:`automlops.mlops.registry`): ``staging`` and
``production`` are aliases, *archived* is a tag, and every move is recorded with who made it,
when and why. An API started with ``MODEL_STAGE=production`` follows the production alias, so
the buttons here are how a version goes live (or goes back) without touching the server.

The registry is the one of the dashboard's active tracking target (Settings / Tracking): the
local SQLite store, or a remote MLflow server / DagsHub. Saved versions that MLflow does not know
yet (trained while the server was down) are registered when you act on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from automlops.core.redact import redact
from automlops.errors import NotFoundError
from automlops.ui import components, state

if TYPE_CHECKING:
    from automlops.config import Settings
    from automlops.mlops.store import ModelStore, StoredModel

__all__ = ["render_registry"]

BADGES = {"production": ":green-badge[:material/rocket_launch: production]",
          "staging": ":orange-badge[:material/science: staging]",
          "archived": ":gray-badge[:material/inventory_2: archived]",
          None: ":blue-badge[registered, no stage]"}


def _registry() -> Any:
    from automlops.mlops.registry import ModelRegistry
    from automlops.ui import tracking

    return ModelRegistry(tracking.current_tracker())


def _act(registry: Any, store: ModelStore, chosen: StoredModel, action: str, reason: str) -> str:
    """Run one button's action (registering missed versions first); the sentence to show."""
    name, version = chosen.name, chosen.version
    registry.sync(store, name)
    if action in ("staging", "production"):
        t = registry.promote(name, version, action, reason=reason)
        was = f" (was v{t.previous_version})" if t.previous_version and t.previous_version != version else ""
        return f"{chosen.ref} is now in {action}{was}."
    if action == "demote":
        stage = registry.stage_of(name, version)
        if stage not in ("staging", "production"):
            return f"{chosen.ref} holds no stage: nothing to demote."
        registry.demote(name, stage, reason=reason)
        return f"{chosen.ref} left {stage}; no version holds it now."
    if action == "archive":
        registry.archive(name, version, reason=reason)
        return f"{chosen.ref} is archived: it holds no stage and will not be promoted again."
    t = registry.rollback(name, "production", reason=reason)
    return f"production is back on {name}@v{t.version} (was v{t.previous_version})."


def _buttons(stage: str | None, production: int | None, chosen: StoredModel) -> str | None:
    """The action buttons; returns the clicked action, if any."""
    archived = stage == "archived"
    cols = st.columns(5)
    clicked = {
        "staging": cols[0].button(":material/science: Promote to staging", key="registry_staging",
                                  disabled=archived or stage == "staging"),
        "production": cols[1].button(":material/rocket_launch: Promote to production", key="registry_production",
                                     disabled=archived or stage == "production"),
        "demote": cols[2].button(":material/arrow_downward: Demote", key="registry_demote",
                                 disabled=stage not in ("staging", "production")),
        "archive": cols[3].button(":material/inventory_2: Archive", key="registry_archive", disabled=archived),
        "rollback": cols[4].button(":material/undo: Roll back production", key="registry_rollback",
                                   disabled=production is None,
                                   help="Give production back to the version that held it before"),
    }
    return next((action for action, pressed in clicked.items() if pressed), None)


def _versions_table(versions: list[Any]) -> None:
    st.dataframe([{"version": rv.ref, "stage": rv.stage or "", "MLflow version": rv.registry_version,
                   "dataset": f"{rv.dataset} v{rv.dataset_version}" if rv.dataset else "",
                   "dataset sha": (rv.dataset_sha256 or "")[:12], "run": (rv.run_id or "")[:12],
                   "parent": rv.parent or ""} for rv in reversed(versions)], hide_index=True, key="registry_versions")


def _history_table(history: list[Any]) -> None:
    if not history:
        st.caption("No transitions recorded yet.")
        return
    st.dataframe([{"when": t.when, "who": t.who, "action": t.action,
                   "version": f"v{t.version}" if t.version is not None else "", "stage": t.stage or "",
                   "previous": f"v{t.previous_version}" if t.previous_version is not None else "",
                   "why": t.reason} for t in reversed(history)], hide_index=True, key="registry_history")


def render_registry(chosen: StoredModel, store: ModelStore, settings: Settings) -> None:
    """Stage badge, stage buttons with a reason, the registered versions and the transition history."""
    from automlops.ui import tracking

    st.subheader("Registry stage")
    known = tracking.cached_status()
    if known is not None and not known.ok:  # a dead server would cost every page view a probe
        st.warning(f"The model registry is not available: {known.message}. Stages return when the tracking "
                   "server answers (Settings / Tracking).", icon=":material/cloud_off:")
        return
    status = st.container()
    with components.guard("reading the model registry"):
        registry = _registry()
        try:
            versions = registry.versions(chosen.name)
        except NotFoundError:
            versions = []
        current = next((rv for rv in versions if rv.version == chosen.version), None)
        stage = current.stage if current is not None else None
        production = next((rv.version for rv in versions if "production" in rv.aliases), None)
        reason = st.text_input("Reason (kept in the registry's history)", key="registry_reason",
                               placeholder="e.g. better test AUC on the March data")
        action = _buttons(stage, production, chosen)
        if action is not None:
            with components.guard(f"changing the stage of {chosen.ref}"):
                state.show_flash("success", _act(registry, store, chosen, action, reason))
                st.rerun()  # draw the buttons again for the new stage; the flash says what happened
        with status:
            if (flash := state.pop_flash()) is not None:
                getattr(st, flash.kind)(flash.text)
            label = BADGES[current.stage] if current is not None else ":gray-badge[not registered yet]"
            st.markdown(f"**{chosen.ref}** {label}")
            st.caption("An API started with `MODEL_NAME=" + chosen.name + " MODEL_STAGE=production` serves the "
                       f"production version and follows each promotion within about a second "
                       f"(registry: {redact(registry.tracker.tracking_uri, registry.settings.tracking_password)}).")
        if versions:
            _versions_table(versions)
            with st.expander("Stage history (who, when, why)", expanded=True):
                _history_table(registry.history(chosen.name))
