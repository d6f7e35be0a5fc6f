"""How a dashboard action runs: CSRF and role checked, the shared action done, then back.

Actions are plain HTML forms posted to the dashboard's own paths (they work without the
script too). A refused one answers with a page saying why: 403 without the page's CSRF
secret or with the read-only role, 404/409/422 as the API would. A done one redirects (303)
to the page it came from with a notice.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

import rota.web.dashboard.csrf as csrf
from rota.app import App
from rota.errors import RotaError
from rota.web.auth import Role, role
from rota.web.dashboard.render import error_page
from rota.web.errors import ApiError, status_of

MAX_FORM = 16_384
Done = tuple[str, dict[str, str]]
"""Where to go after an action (a path of the dashboard) and the query to add (the notice)."""


async def form(request: Request) -> dict[str, str]:
    """The posted form's fields (first value of each), bounded in size and count."""
    body = (await request.body())[:MAX_FORM].decode("utf-8", "replace")
    try:
        fields = parse_qs(body, max_num_fields=20)
    except ValueError:  # more fields than any form of the dashboard has
        return {}
    return {name: values[0] for name, values in fields.items()}


async def act(request: Request, do: Callable[[App, Role, dict[str, str]], Done]) -> Response:
    """Check the CSRF secret and the role, do the action, and go back (or say why not)."""
    fields = await form(request)
    if not csrf.valid(request, fields.get(csrf.FIELD)):
        return error_page(
            request,
            403,
            "This action was refused: its form did not carry this page's CSRF token. "
            "Reload the page and try again.",
        )
    who = role(request.scope)
    if who != "admin":
        return error_page(request, 403, "The read-only token may look at everything, not act.")
    app: App = request.app.state.rota
    try:
        path, query = await run_in_threadpool(do, app, who, fields)
    except ApiError as exc:
        return error_page(request, exc.status, exc.message)
    except RotaError as exc:
        known = status_of(exc)
        if known is None:
            raise
        return error_page(request, known[0], str(exc))
    root = request.scope.get("root_path", "").rstrip("/")
    target = root + path + ("?" + urlencode(query) if query else "")
    return RedirectResponse(target, status_code=303)
