"""``GET /docs``: Swagger UI served from the package, so the docs work on a machine without internet.

FastAPI's default ``/docs`` page loads Swagger UI's JavaScript and CSS from a CDN: offline (a
lab, a plane, an air-gapped server) the page stays blank. Here the files come from the
``swagger-ui-bundle-v2`` package (Swagger UI's ``dist`` folder, pinned in requirements.txt)
through three fixed routes, and the page references nothing but this host. ReDoc is not
served (it would need its own bundle); ``/openapi.json`` is the machine-readable document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["ASSETS", "DOCS_PATHS", "router"]

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
# route -> file of Swagger UI's dist folder
ASSETS = {"/docs/swagger-ui-bundle.js": "swagger-ui-bundle.js", "/docs/swagger-ui.css": "swagger-ui.css",
          "/docs/favicon.png": "favicon-32x32.png"}
DOCS_PATHS = frozenset({DOCS_URL, OAUTH2_REDIRECT_URL, "/openapi.json", *ASSETS})

router = APIRouter(include_in_schema=False)


def _dist() -> Path:
    """Swagger UI's files, as installed with the package (imported when first served)."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


@router.get(DOCS_URL)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="AutoMLOps Studio prediction API",
        swagger_js_url="/docs/swagger-ui-bundle.js", swagger_css_url="/docs/swagger-ui.css",
        swagger_favicon_url="/docs/favicon.png", oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        swagger_ui_parameters={"validatorUrl": None})  # no badge fetched from validator.swagger.io


@router.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


def _asset_route(filename: str) -> object:
    async def asset() -> FileResponse:
        return FileResponse(_dist() / filename, headers={"Cache-Control": "public, max-age=86400"})

    return asset


for _path, _file in ASSETS.items():
    router.add_api_route(_path, _asset_route(_file), methods=["GET"], name=f"docs_{_file}")  # type: ignore[arg-type]
