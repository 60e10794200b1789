"""Models page: "Download as a Python script" for the selected version (eject to code).

Writing the script loads the model and re-reads its dataset, so it happens only when asked (a
toggle) and once per version (``st.cache_data``: a saved version never changes). What cannot be
exported - a model uploaded without its data, a dataset version gone from the lake - gets one plain
sentence instead of a button.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from automlops.errors import AutoMLOpsError

__all__ = ["render_export"]


@st.cache_data(max_entries=8, show_spinner="Writing the script…")
def _script(root: str, name: str, version: int, sha256: str, _load: Callable[[], Any]) -> str:
    """The exported script of one stored version (``_load`` is not hashed: the other arguments name it)."""
    from automlops.export import export_script

    return export_script(_load())


def render_export(chosen: Any, meta: dict[str, Any], root: str, load: Callable[[], Any]) -> None:
    """A toggle that writes the script, then its download button (or why it cannot be written)."""
    from automlops.export import EXPORTERS, script_name
    from automlops.tasks import model_kind

    kind = model_kind(meta)
    if kind not in EXPORTERS:
        st.caption(f"Python script: {kind} models cannot be exported to a script yet (supported: "
                   f"{', '.join(EXPORTERS.names())}).")
        return
    if not (meta.get("dataset") or {}).get("name"):
        st.caption("Python script: this model was not trained on a data-lake dataset (uploaded), so there is no "
                   "data for a script to rebuild it from.")
        return
    if not st.toggle("Python script: rebuild this model without the studio", key="models_script_toggle",
                     help="A plain script (numpy, pandas, scikit-learn and the model's own library) that reads the "
                          "same data file, checks its SHA-256, repeats the split, refits this pipeline and prints "
                          "the test score as its last line. Same as `automlops export NAME@vN`."):
        return
    try:
        text = _script(root, chosen.name, chosen.version, str(meta.get("model_sha256")), load)
    except AutoMLOpsError as exc:
        st.error(f"Cannot write the script: {exc}")
        return
    st.download_button(":material/code: Download as a Python script", text, file_name=script_name(chosen.name),
                       mime="text/x-python", key="models_download_script")
    st.caption(f"{len(text.splitlines())} lines; run it with `python {script_name(chosen.name)}` (add `--mlflow` to "
               f"log the run, `--refit-full` to refit on every row). Expected last line: "
               f"`test_score={meta.get('test_score')!r}`.")
