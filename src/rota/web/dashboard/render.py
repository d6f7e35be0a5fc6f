"""Rendering the dashboard's pages: Jinja2 templates, the context every page shares, headers.

Templates live in ``templates/`` and autoescape everything. Every URL in a page starts with
``root`` (the prefix the app is mounted under), so a mounted dashboard links inside itself.
Pages forbid inline scripts and styles (Content-Security-Policy): the script and stylesheet are
``/static`` files, and bars and charts are SVG drawn with attributes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

import rota.web.dashboard.csrf as csrf
from rota.web.auth import by_cookie, role

TEMPLATES = Path(__file__).parent / "templates"
NAV = ("Runs", "Schedules", "Batch", "Queues", "Workflows", "Nodes")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def ago(then: datetime | None, now: datetime) -> str:
    """``then`` as a short age: ``12 s ago``, ``3 min ago``, ``in 2 h``."""
    if then is None:
        return ""
    seconds = (now - then).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        text = f"{int(seconds)} s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min"
    elif seconds < 86400 * 2:
        text = f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    else:
        text = f"{int(seconds // 86400)} d"
    return f"in {text}" if future else f"{text} ago"


def when(moment: datetime | str | None) -> str:
    """A UTC time to the second, as operators read it in logs: ``2026-12-07 06:40:44``.

    An ISO text (the ``at`` of a run's error) is read first; one that does not parse is
    shown as it is."""
    if isinstance(moment, str):
        try:
            parsed: datetime | None = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    else:
        parsed = moment
    if parsed is None:
        return ""
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


PREVIEW_CHARS = 20_000
"""How much of a run's arguments or result a page shows: the page is sent again at every live
refresh, and a large value (30,000 ids) would make each refresh megabytes."""


def pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    if len(text) <= PREVIEW_CHARS:
        return text
    rest = len(text) - PREVIEW_CHARS
    return (
        f"{text[:PREVIEW_CHARS]}\n… {rest:,} more characters not shown here"
        " (the REST API's run and `rota runs show ID --json` give the whole value)"
    )


def number(value: int) -> str:
    return f"{value:,}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, pretty=pretty, number=number)
    env.globals.update(ago=ago, nav=NAV)
    return env


def page(
    request: Request,
    template: str,
    title: str,
    *,
    section: str | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` with the shared context: root, CSRF secret, role, notices."""
    secret, new = csrf.for_page(request)
    app = request.app.state.rota
    shared = {
        "root": request.scope.get("root_path", "").rstrip("/"),
        "csrf": secret,
        "csrf_field": csrf.FIELD,
        "role": role(request.scope),
        "logged_in": by_cookie(request.scope),
        "title": title,
        "section": section,
        "now": app.clock.now(),
        "app_name": app.name,
        "notice": notice(request),
        "path": request.url.path,
        "live": status < 400,  # an error page is not refreshed: its address may be an action's
    }
    html = environment().get_template(template).render(**shared, **context)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if new:
        csrf.remember(request, response, secret)
    return response


NOTICES = {
    "retried": "Run put back in the queue.",
    "cancelled": "Run cancelled (a running run stops at its next check).",
    "deleted": "Run deleted.",
    "paused": "Paused.",
    "resumed": "Resumed.",
    "triggered": "One run launched now.",
    "queue_paused": "Queue paused: no node starts a new run from it; running runs finish.",
    "queue_resumed": "Queue resumed: its runs start again.",
    "restarted": "Execution restarted.",
    "stopping": "Execution asked to stop at its next chunk boundary.",
    "abandoned": "Execution abandoned.",
    "workflow_retry": "Workflow retried: its failed and cancelled steps are back in the queue.",
    "workflow_cancel": "Workflow cancelled (a running step stops at its next check).",
}


def notice(request: Request) -> str | None:
    """The message of a redirect after an action (``?done=...``), from a fixed set."""
    done = request.query_params.get("done")
    if done == "retried_all":
        count = request.query_params.get("n", "0")
        n = int(count) if count.isdigit() and len(count) < 12 else 0
        return f"Retried {n:,} run{'s' if n != 1 else ''}."
    return NOTICES.get(done or "")


TITLES = {400: "Bad request", 403: "Refused", 404: "Not found", 409: "Conflict"}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A page saying why an action or a page was refused, with its status code."""
    title = TITLES.get(status, "Error")
    return page(request, "error.html", title, status=status, message=message)
