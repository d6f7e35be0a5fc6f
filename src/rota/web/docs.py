"""The interactive API docs (Swagger UI) at ``/api/docs``, with its assets served from here.

FastAPI's own page loads Swagger UI from a CDN, so it is blank offline or behind a firewall;
the assets come from the ``fastapi-offline`` package instead. Every URL in the page starts
with the ASGI ``root_path``, so the page works wherever ``app.asgi()`` is mounted.
"""

from __future__ import annotations

import functools
import importlib.resources

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from rota.web.errors import ApiError

DOCS_PATH = "/api/docs"
OPENAPI_PATH = "/api/openapi.json"
ASSETS_PATH = "/api/docs/assets/"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}

router = APIRouter(include_in_schema=False)


def root_of(request: Request) -> str:
    """The prefix this app is mounted under ("" when it is not)."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


@router.get(DOCS_PATH)
def docs_page(request: Request) -> HTMLResponse:
    root = root_of(request)
    assets = root + ASSETS_PATH
    return get_swagger_ui_html(
        openapi_url=root + OPENAPI_PATH,
        title=f"{request.app.title} - API docs",
        swagger_js_url=assets + "swagger-ui-bundle.js",
        swagger_css_url=assets + "swagger-ui.css",
        swagger_favicon_url=assets + "favicon.png",
        # the default validator badge would call an outside service with the whole document
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(ASSETS_PATH + "{name}")
def docs_asset(name: str) -> Response:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise ApiError(404, "not_found", f"no docs asset {name!r}")
    return Response(
        _asset(name),
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=86400"},
    )


@functools.cache
def _asset(name: str) -> bytes:
    """The file as shipped; read once (the largest is about 1.5 MB)."""
    return (importlib.resources.files("fastapi_offline") / "static" / name).read_bytes()
