"""The ASGI application: the REST API (and, later, the dashboard) of one rota App."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import rota.web.batch as batch
import rota.web.dashboard as dashboard
import rota.web.docs as docs
import rota.web.launching as launching
import rota.web.login as login
import rota.web.metrics as metrics
import rota.web.queues as queues
import rota.web.runs as runs
import rota.web.schedules as schedules
import rota.web.system as system
import rota.web.workflows as workflows
from rota.app import App
from rota.version import __version__
from rota.web.auth import resolve_tokens
from rota.web.errors import install_error_handlers
from rota.web.guard import MAX_BODY, PUBLIC_PATHS, Guard


def asgi(
    app: App,
    token: str | None = None,
    *,
    read_token: str | None = None,
    max_body: int = MAX_BODY,
) -> FastAPI:
    """The REST API and dashboard of ``app`` as an ASGI app, to serve or to mount in yours.

    With a token (``token=`` or env ``ROTA_API_TOKEN``) every path but ``/api/health`` needs
    ``Authorization: Bearer <token>``; a browser logs in at ``/login``. A read-only token
    (``read_token=`` or env ``ROTA_API_READ_TOKEN``) reads everything and acts on nothing.
    Mounted under a prefix, every path moves with it.
    """
    tokens = resolve_tokens(token, read_token)
    api = FastAPI(
        title=f"rota ({app.name})",
        version=__version__,
        description="Launch and manage the runs, schedules and nodes of a rota app.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # rota.web.docs serves it, with its assets (no CDN)
        redoc_url=None,
        redirect_slashes=False,
        generate_unique_id_function=lambda route: route.name,  # operationId = function name
    )
    api.state.rota = app
    api.state.tokens = tokens
    api.state.known_query = {}
    api.state.metrics = metrics.registry_for(app)
    install_error_handlers(api)
    for module in (
        system,
        launching,
        runs,
        schedules,
        queues,
        batch,
        workflows,
        metrics,
        docs,
        login,
    ):
        api.include_router(module.router)
    dashboard.install(api)
    api.add_middleware(Guard, tokens=tokens, max_body=max_body)
    if tokens.required:
        _document_bearer(api)
    return api


def _document_bearer(api: FastAPI) -> None:
    """Declare the bearer token in the OpenAPI document (every operation but the public ones)."""
    plain = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = plain()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            schema["security"] = [{"bearer": []}]
            for path in PUBLIC_PATHS:
                for operation in schema["paths"].get(path, {}).values():
                    operation["security"] = []
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
