"""Browser login and logout: a token typed once into a form, then carried by a signed cookie.

A browser cannot send ``Authorization: Bearer``. ``GET /login`` shows a form (a field
labelled ``Token``, a button ``Log in``); posting it with one of the server's tokens sets an
HttpOnly, SameSite=Strict cookie (Secure under HTTPS) for that token's role (``rota.web.auth``)
and redirects back. ``POST /logout`` ends the session.

Which requests the cookie authenticates is the Guard's choice (``rota.web.guard``): the pages
meant for browsers and the dashboard's own actions (each of which also needs the page's CSRF
token), never the ``/api`` calls, so a cross-site request cannot act with it.
"""

from __future__ import annotations

import html
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Scope

from rota.web.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    Role,
    Tokens,
    cookie,
    issue,
    session_role,
)

COOKIE = SESSION_COOKIE
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
MAX_FORM = 8192

router = APIRouter(include_in_schema=False)


def logged_in(scope: Scope, tokens: Tokens) -> bool:
    """Whether the request carries a valid session cookie for one of ``tokens``."""
    return session_of(scope, tokens) is not None


def session_of(scope: Scope, tokens: Tokens) -> Role | None:
    """The role of the request's session cookie, if it carries a valid one."""
    value = cookie(scope.get("headers", ()), COOKIE)
    return None if value is None else session_role(value, tokens, time.time())


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
    if not request.app.state.tokens.required:  # nothing to log in to: every page is open
        return RedirectResponse(_root(request.scope) + safe_next(next), status_code=303)
    return form_response(request.scope, next)


@router.post(LOGIN_PATH)
async def login(request: Request) -> Response:
    """Check the posted token; if right, set the session cookie and go back to ``next``."""
    tokens: Tokens = request.app.state.tokens
    body = await request.body()
    try:
        fields = parse_qs(body[:MAX_FORM].decode("utf-8", "replace"), max_num_fields=4)
    except ValueError:  # more fields than the form has
        fields = {}
    next_path = safe_next(fields.get("next", ["/"])[0])
    root = _root(request.scope)
    response = RedirectResponse(root + next_path, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    if not tokens.required:  # nothing to log in to: every page is open
        return response
    role = tokens.role_of(fields.get("token", [""])[0])
    if role is None:
        return form_response(request.scope, next_path, wrong=True)
    response.set_cookie(
        COOKIE,
        issue(tokens, role, time.time()),
        max_age=SESSION_SECONDS,
        path=root or "/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post(LOGOUT_PATH)
def logout(request: Request) -> Response:
    """End this browser's session: the cookie is cleared, then the login form."""
    root = _root(request.scope)
    response = RedirectResponse(root + LOGIN_PATH, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(COOKIE, path=root or "/", httponly=True, samesite="strict")
    return response
