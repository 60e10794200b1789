"""Typed access to ``st.session_state``: the only place pages read or write it by name.

Streamlit re-runs the page script on every click, so anything that must outlive one run (the
chosen workspace, the training job this browser tab started, a message to show after a rerun)
is kept in the session state. Going through these functions keeps the keys in one place and the
values typed. Widget values that belong to one page stay with their widgets (``key=``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st

from automlops.config import Settings

__all__ = ["Flash", "Workspace", "active_job_id", "pop_flash", "set_active_job_id", "set_workspace",
           "settings", "show_flash", "workspace"]

_WORKSPACE = "automlops.workspace"
_JOB = "automlops.job_id"
_FLASH = "automlops.flash"
FlashKind = Literal["success", "info", "warning", "error"]


@dataclass(frozen=True)
class Workspace:
    """The dataset version the Train page starts from."""

    dataset: str
    version: int

    @property
    def label(self) -> str:
        return f"{self.dataset} v{self.version:04d}"


@dataclass(frozen=True)
class Flash:
    """A one-off message shown on the next run (e.g. after a button click triggers a rerun)."""

    kind: FlashKind
    text: str


def settings() -> Settings:
    """Fresh settings from the environment (cheap; the tracking target lives in ``ui.tracking``)."""
    return Settings()


def workspace() -> Workspace | None:
    value = st.session_state.get(_WORKSPACE)
    return value if isinstance(value, Workspace) else None


def set_workspace(dataset: str, version: int) -> Workspace:
    st.session_state[_WORKSPACE] = ws = Workspace(dataset, int(version))
    return ws


def active_job_id() -> str | None:
    value = st.session_state.get(_JOB)
    return value if isinstance(value, str) else None


def set_active_job_id(job_id: str | None) -> None:
    st.session_state[_JOB] = job_id


def show_flash(kind: FlashKind, text: str) -> None:
    st.session_state[_FLASH] = Flash(kind, text)


def pop_flash() -> Flash | None:
    value = st.session_state.pop(_FLASH, None)
    return value if isinstance(value, Flash) else None
