"""Typed access to ``st.session_state``: the only place pages read or write it by name.

Streamlit re-runs the page script on every click, so anything that must outlive one run (the
chosen workspace, the training job this browser tab started, a message to show after a rerun)
is kept in the session state. Going through these functions keeps the keys in one place and the
values typed. Widget values that belong to one page stay with their widgets (``key=``).

**Surviving a reload.** Reloading the browser tab starts a *new* session: the session state is
empty. What the user would hate to lose – the workspace and the training job the tab follows – is
therefore also written into the page's URL (``st.query_params``: ``?dataset=iris&version=2&job=…``;
the Vision page's job as ``vision_job=…``),
and read back from it when the session does not know it yet. Values from a URL are user input:
they are checked (name pattern, integer version, job-id shape) before they are believed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import streamlit as st

from automlops.config import Settings

__all__ = ["Flash", "Workspace", "active_job_id", "analysis_job_id", "pop_flash", "set_active_job_id",
           "set_analysis_job_id", "set_vision_job_id", "set_workspace", "prefilled_from", "set_prefilled_from", "settings", "show_flash", "sync_url",
           "vision_job_id", "workspace"]

_WORKSPACE = "automlops.workspace"
_JOB = "automlops.job_id"
_FLASH = "automlops.flash"
_PREFILLED = "automlops.prefilled_from"
_VISION_JOB = "automlops.vision_job_id"
FlashKind = Literal["success", "info", "warning", "error"]
URL_DATASET, URL_VERSION, URL_JOB, URL_VISION_JOB = "dataset", "version", "job", "vision_job"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the lake's dataset-name rule
_JOB_ID = re.compile(r"^[0-9a-f]{6,32}$")


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
    """The session's workspace; after a reload, the one named in the URL."""
    value = st.session_state.get(_WORKSPACE)
    if isinstance(value, Workspace):
        return value
    from_url = _url_workspace()
    if from_url is not None:
        st.session_state[_WORKSPACE] = from_url
    return from_url


def set_workspace(dataset: str, version: int) -> Workspace:
    st.session_state[_WORKSPACE] = ws = Workspace(dataset, int(version))
    _write_url(URL_DATASET, ws.dataset)
    _write_url(URL_VERSION, str(ws.version))
    return ws


def active_job_id() -> str | None:
    """The job this tab follows; after a reload, the one named in the URL (``None`` once cleared)."""
    if _JOB in st.session_state:
        value = st.session_state[_JOB]
        return value if isinstance(value, str) else None
    job = st.query_params.get(URL_JOB)
    job = job if job and _JOB_ID.fullmatch(job) else None
    st.session_state[_JOB] = job
    return job


def set_active_job_id(job_id: str | None) -> None:
    st.session_state[_JOB] = job_id
    _write_url(URL_JOB, job_id)


def vision_job_id() -> str | None:
    """The vision training this tab follows on the Vision page (its own, beside the Train page's job)."""
    if _VISION_JOB in st.session_state:
        value = st.session_state[_VISION_JOB]
        return value if isinstance(value, str) else None
    job = st.query_params.get(URL_VISION_JOB)
    job = job if job and _JOB_ID.fullmatch(job) else None
    st.session_state[_VISION_JOB] = job
    return job


def set_vision_job_id(job_id: str | None) -> None:
    st.session_state[_VISION_JOB] = job_id
    _write_url(URL_VISION_JOB, job_id)


def analysis_job_id(kind: str) -> str | None:
    """The background analysis of ``kind`` ("lab", "stability") this tab follows; after a reload, the URL's."""
    key, param = f"automlops.{kind}_job_id", f"{kind}_job"
    if key in st.session_state:
        value = st.session_state[key]
        return value if isinstance(value, str) else None
    job = st.query_params.get(param)
    job = job if job and _JOB_ID.fullmatch(job) else None
    st.session_state[key] = job
    return job


def set_analysis_job_id(kind: str, job_id: str | None) -> None:
    st.session_state[f"automlops.{kind}_job_id"] = job_id
    _write_url(f"{kind}_job", job_id)


def prefilled_from() -> str | None:
    """The job whose request last filled the Train form ("Train again" fills it once per job)."""
    value = st.session_state.get(_PREFILLED)
    return value if isinstance(value, str) else None


def set_prefilled_from(job_id: str) -> None:
    st.session_state[_PREFILLED] = job_id


def sync_url() -> None:
    """Write the session's workspace and job into the URL (a page switch starts with a bare URL)."""
    ws, job = workspace(), active_job_id()
    if ws is not None:
        _write_url(URL_DATASET, ws.dataset)
        _write_url(URL_VERSION, str(ws.version))
    _write_url(URL_JOB, job)
    _write_url(URL_VISION_JOB, vision_job_id())


def _url_workspace() -> Workspace | None:
    name, version = st.query_params.get(URL_DATASET), st.query_params.get(URL_VERSION)
    if not name or not _NAME.fullmatch(name) or not version or not version.isdigit():
        return None
    return Workspace(name, int(version))


def _write_url(key: str, value: str | None) -> None:
    """Set (or, for ``None``, remove) one query parameter, only when it changes."""
    if value is None:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def show_flash(kind: FlashKind, text: str) -> None:
    st.session_state[_FLASH] = Flash(kind, text)


def pop_flash() -> Flash | None:
    value = st.session_state.pop(_FLASH, None)
    return value if isinstance(value, Flash) else None
