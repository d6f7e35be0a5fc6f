"""The gate in front of the server: tokens and roles, body size, UTF-8, JSON depth, NUL.

With a token, a request passes with ``Authorization: Bearer <token>`` (or the read-only
token); the login cookie of ``rota.web.login`` opens the pages a browser reads (the dashboard,
the API docs, the OpenAPI document) and the dashboard's own actions, which also need the CSRF
token of their page (``rota.web.dashboard.csrf``), never an ``/api`` call. The read-only role
may read everything and is refused (403) every other method. The role let in is recorded in
the request's scope (``rota.web.auth.role``).

A plain ASGI middleware, so it also covers unknown paths and the OpenAPI document, and it
rejects a request before any body byte is parsed: a 5 MB body is refused once MAX_BODY_BYTES
(the arguments' limit plus room for options) are read, or at once when its Content-Length says
so, and a deeply nested one before ``json.loads`` recurses into it.
"""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import rota.web.login as login
from rota.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from rota.web.auth import Role, Tokens, bearer, set_role
from rota.web.docs import ASSETS_PATH, DOCS_PATH, OPENAPI_PATH
from rota.web.errors import error_response

MAX_BODY = MAX_BODY_BYTES
MAX_DEPTH = MAX_JSON_DEPTH + 2
"""The body object and its ``args`` object hold arguments that nest MAX_JSON_DEPTH deep."""
PUBLIC_PATHS = frozenset({"/api/health", login.LOGIN_PATH, login.LOGOUT_PATH})
PUBLIC_PREFIXES = ("/static/",)
"""The dashboard's own stylesheet and script: nothing secret, and the login form uses them."""
BROWSER_PAGES = frozenset({DOCS_PATH, OPENAPI_PATH})
"""API paths whose GET the login cookie opens (and every path under ``BROWSER_PREFIXES``);
every path outside ``/api`` but ``/metrics`` is the dashboard's, which the cookie opens too."""
BROWSER_PREFIXES = (ASSETS_PATH,)
LOGIN_PAGES = frozenset({DOCS_PATH})
"""API pages that answer a browser without a token with the login form (not a JSON error);
the dashboard's pages do too."""
MACHINE_PATHS = frozenset({"/metrics"})
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON ``body`` nests arrays/objects deeper than ``limit`` (strings skipped)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        first = match.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first != ord('"'):
            depth -= 1
    return False


def dashboard_path(path: str) -> bool:
    """Whether ``path`` is the dashboard's: its pages and its own actions."""
    return not (path == "/api" or path.startswith("/api/") or path in MACHINE_PATHS)


def browser_page(path: str) -> bool:
    """Whether the login cookie may open a GET of ``path``."""
    return path in BROWSER_PAGES or path.startswith(BROWSER_PREFIXES) or dashboard_path(path)


def relative_path(scope: Scope) -> str:
    """The path inside this app: without the prefix it is mounted under."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class Guard:
    def __init__(
        self, app: ASGIApp, tokens: Tokens, max_body: int = MAX_BODY, max_depth: int = MAX_DEPTH
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.max_body = max_body
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._check_head(scope)
        if problem is not None:
            await error_response(*problem)(scope, receive, send)
            return
        denied = self._deny(scope)
        if denied is not None:
            await denied(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body, problem = await self._read_body(scope, receive)
        if problem is not None:
            await error_response(*problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_head(self, scope: Scope) -> tuple[int, str, str] | None:
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"\x00" in query or b"%00" in query.lower():
            return 400, "bad_request", "NUL characters are not allowed in the path or query"
        return None

    def _deny(self, scope: Scope) -> Response | None:
        """None if the request may pass (its role recorded), else its 401 or 403."""
        if not self.tokens.required:
            set_role(scope, "admin", by_cookie=False)
            return None
        path = relative_path(scope)
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        role = self._role(scope, path)
        if role is None:
            if scope["method"] == "GET" and (path in LOGIN_PAGES or dashboard_path(path)):
                query = scope.get("query_string", b"").decode("latin-1")  # back with the filters
                return login.form_response(scope, path + ("?" + query if query else ""))
            return error_response(
                401,
                "unauthorized",
                "a valid 'Authorization: Bearer <token>' is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if role == "read" and scope["method"] not in _READ_METHODS and not dashboard_path(path):
            return error_response(403, "forbidden", "the read-only token may not act")
        return None  # the dashboard refuses the read-only role's actions with a page of its own

    def _role(self, scope: Scope, path: str) -> Role | None:
        """The role the request shows: a bearer token, or a session cookie where it counts."""
        given = bearer(scope.get("headers", ()))
        if given is not None:
            role = self.tokens.role_of(given)
            if role is not None:
                set_role(scope, role, by_cookie=False)
            return role
        cookie_counts = dashboard_path(path) or (scope["method"] == "GET" and browser_page(path))
        role = login.session_of(scope, self.tokens) if cookie_counts else None
        if role is not None:
            set_role(scope, role, by_cookie=True)
        return role

    async def _read_body(
        self, scope: Scope, receive: Receive
    ) -> tuple[bytes, tuple[int, str, str] | None]:
        too_large = (
            413,
            "payload_too_large",
            f"the request body is larger than {self.max_body} bytes",
        )
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                if not value.isdigit():
                    return b"", (400, "bad_request", "invalid Content-Length")
                if int(value) > self.max_body:
                    return b"", too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"", too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        return body, self._check_body(body)

    def _check_body(self, body: bytes) -> tuple[int, str, str] | None:
        if not body:
            return None
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return 400, "invalid_utf8", f"the request body is not valid UTF-8 (at byte {exc.start})"
        if too_deep(body, self.max_depth):
            return 400, "too_deep", f"JSON nested deeper than {self.max_depth} levels"
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then waits as the original does."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
