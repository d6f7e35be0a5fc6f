"""Browser login: the token typed once into a form, then carried by a signed cookie.

A browser cannot send ``Authorization: Bearer``. ``GET /login`` shows a form (a field
labelled ``Token``, a button ``Log in``); posting it with the server's token sets an HttpOnly,
SameSite=Strict cookie (Secure under HTTPS) and redirects back. The cookie holds its issue time
and an HMAC of it keyed by the token: nothing is stored on the server, every node of a cluster
accepts it, and a new token ends every session at once.

Which requests the cookie authenticates is the Guard's choice (``rota.web.guard``): only the
reads of pages meant for browsers, never the ``/api`` calls that act, so a cross-site request
cannot act with it.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import time
from collections.abc import Iterable
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Scope

COOKIE = "rota_session"
LOGIN_PATH = "/login"
SESSION_SECONDS = 12 * 3600
CLOCK_SKEW = 60  # seconds a cookie may seem to come from the future (nodes' clocks differ)
MAX_FORM = 8192

router = APIRouter(include_in_schema=False)


def token_matches(given: str, token: str) -> bool:
    """Whether ``given`` is the token, in constant time."""
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def _signature(token: str, issued: int) -> str:
    message = f"rota-session:{issued}".encode()
    return hmac.new(token.encode("utf-8"), message, hashlib.sha256).hexdigest()


def issue(token: str, now: float) -> str:
    """A new cookie value: ``<issued>.<signature>``."""
    issued = int(now)
    return f"{issued}.{_signature(token, issued)}"


def session_ok(value: str, token: str, now: float) -> bool:
    """Whether a cookie value was issued for ``token`` and has not expired."""
    issued_text, _, signature = value.partition(".")
    if not (issued_text.isascii() and issued_text.isdigit()) or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    if not now - SESSION_SECONDS <= issued <= now + CLOCK_SKEW:
        return False
    return hmac.compare_digest(signature.encode(), _signature(token, issued).encode())


def cookie_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The value of the session cookie in a request's ``Cookie`` headers, if any."""
    for name, value in headers:
        if name.lower() != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            key, _, given = pair.strip().partition("=")
            if key == COOKIE:
                return given.strip()
    return None


def logged_in(scope: Scope, token: str) -> bool:
    """Whether the request carries a valid session cookie for ``token``."""
    value = cookie_of(scope.get("headers", ()))
    return value is not None and session_ok(value, token, time.time())


def safe_next(path: str | None) -> str:
    """Where to go after logging in: a path of this app only (no other site)."""
    if not path or not path.startswith("/") or path.startswith("//") or len(path) > 2000:
        return "/"
    if any(c in path for c in "\\\r\n\t") or not path.isprintable():
        return "/"
    return path


def _root(scope: Scope) -> str:
    root: str = scope.get("root_path", "")
    return root.rstrip("/")


def form_response(scope: Scope, next_path: str, *, wrong: bool = False) -> HTMLResponse:
    """401 with the login form, which posts back to ``next_path`` after logging in."""
    action = html.escape(_root(scope) + LOGIN_PATH)
    target = html.escape(safe_next(next_path))
    say = "That token is not right." if wrong else "This page needs the server's API token."
    role = "alert" if wrong else "status"
    # An empty icon of its own: else the browser asks for /favicon.ico, refused (401) here.
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>rota: log in</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 24rem;
 padding: 0 1rem">
<h1>rota</h1>
<p role="{role}">{say}</p>
<form method="post" action="{action}">
<input type="hidden" name="next" value="{target}">
<p><label for="token">Token</label><br>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus
 style="width: 100%; box-sizing: border-box"></p>
<p><button type="submit">Log in</button></p>
</form>
</body></html>
"""
    headers = {"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"}
    return HTMLResponse(page, status_code=401, headers=headers)


@router.get(LOGIN_PATH)
def login_form(request: Request, next: str = "/") -> Response:
    if not request.app.state.token:  # nothing to log in to: every page is open
        return RedirectResponse(_root(request.scope) + safe_next(next), status_code=303)
    return form_response(request.scope, next)


@router.post(LOGIN_PATH)
async def login(request: Request) -> Response:
    """Check the posted token; if right, set the session cookie and go back to ``next``."""
    token: str | None = request.app.state.token
    body = await request.body()
    try:
        fields = parse_qs(body[:MAX_FORM].decode("utf-8", "replace"), max_num_fields=4)
    except ValueError:  # more fields than the form has
        fields = {}
    next_path = safe_next(fields.get("next", ["/"])[0])
    root = _root(request.scope)
    response = RedirectResponse(root + next_path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    if not token:  # nothing to log in to: every page is open
        return response
    if not token_matches(fields.get("token", [""])[0], token):
        return form_response(request.scope, next_path, wrong=True)
    response.set_cookie(
        COOKIE,
        issue(token, time.time()),
        max_age=SESSION_SECONDS,
        path=root or "/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
