"""Models page: "Download the deploy bundle" (zip) for the selected version.

A bundle is a Docker build context serving this one model (see :mod:`automlops.bundle`). Building
it verifies the model, writes the files and runs the bundle once in a fresh Python (several
seconds), so it happens only when asked (a toggle) and once per version (``st.cache_data``: a
saved version never changes). A kind a bundle cannot serve gets one plain sentence instead.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from automlops.errors import AutoMLOpsError

__all__ = ["render_bundle"]


@st.cache_data(max_entries=4, show_spinner="Building and checking the deploy bundle…")
def _bundle(root: str, name: str, version: int, sha256: str, _settings: Any) -> tuple[str, bytes]:
    """The zipped bundle of one stored version (``_settings`` is not hashed: the other arguments name it)."""
    from automlops.bundle import bundle_zip

    return bundle_zip(f"{name}@v{version}", settings=_settings)


def render_bundle(chosen: Any, meta: dict[str, Any], root: str, settings: Any) -> None:
    """A toggle that builds the bundle, then its download button (or why there is none)."""
    from automlops.bundle import BUNDLABLE
    from automlops.tasks import model_kind

    kind = model_kind(meta)
    if kind not in BUNDLABLE:
        st.caption(f"Deploy bundle: {kind} models cannot be bundled yet (supported: {', '.join(BUNDLABLE)}); "
                   "serve them with `automlops serve`.")
        return
    if not st.toggle("Deploy bundle: a Docker build context serving this model", key="models_bundle_toggle",
                     help="The verified model file, a small FastAPI service with the API's /, /ready, /predict and "
                          "/model routes (x-api-key), a pinned requirements.txt, a Dockerfile and a README. Same as "
                          "`automlops bundle NAME@vN --out DIR`."):
        return
    try:
        file_name, data = _bundle(root, chosen.name, chosen.version, str(meta.get("model_sha256")), settings)
    except AutoMLOpsError as exc:
        st.error(f"Cannot build the bundle: {exc}")
        return
    st.download_button(":material/deployed_code: Download the deploy bundle (zip)", data, file_name=file_name,
                       mime="application/zip", key="models_download_bundle")
    image = f"{chosen.name.lower().replace('_', '-')}-v{chosen.version}"
    st.caption(f"{len(data) / 1024:,.0f} KiB, checked to answer as the studio does. Unzip, then "
               f"`docker build -t {image} .` and `docker run -p 8000:8000 -e API_KEY=<secret> {image}` "
               "(or `API_KEY=<secret> python -m uvicorn app:app` in the folder).")
