"""What every route depends on: the App it serves, and the refusal of unknown query parameters.

Both are ``async``: FastAPI would run a sync dependency on a worker thread, a hop per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from rota.app import App
from rota.web.auth import Role, role
from rota.web.errors import ApiError


async def rota_app(request: Request) -> App:
    app: App = request.app.state.rota
    return app


AppDep = Annotated[App, Depends(rota_app)]


async def request_role(request: Request) -> Role:
    """The role the guard let the request in with (for the log line of an action)."""
    return role(request.scope)


RoleDep = Annotated[Role, Depends(request_role)]


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _known_query(route: APIRoute) -> frozenset[str]:
    return frozenset(_query_names(route.dependant))


async def reject_unknown_query(request: Request) -> None:
    """A misspelt filter (``?stat=failed``) is an error, not a silently unfiltered list."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    cache: dict[str, frozenset[str]] = request.app.state.known_query
    known = cache.get(route.unique_id)
    if known is None:
        known = cache[route.unique_id] = _known_query(route)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ApiError(
            400,
            "unknown_parameter",
            f"unknown query parameter(s): {', '.join(unknown)} (allowed: {allowed})",
        )


NO_NUL = r"^[^\x00]*$"
"""Pattern of text query parameters: the guard refuses NUL characters before any route."""
