"""The gate in front of the API: bearer token, body size, UTF-8, JSON depth, NUL characters.

With a token, a request passes with ``Authorization: Bearer <token>``; the login cookie of
``rota.web.login`` opens only GETs of the pages a browser reads (the API docs, the OpenAPI
document and the docs' assets), never a call that acts, so no cross-site request can act.

A plain ASGI middleware, so it also covers unknown paths and the OpenAPI document, and it
rejects a request before any body byte is parsed: a 5 MB body is refused once MAX_BODY_BYTES
(the arguments' limit plus room for options) are read, or at once when its Content-Length says
so, and a deeply nested one before ``json.loads`` recurses into it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import rota.web.login as login
from rota.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH
from rota.web.docs import ASSETS_PATH, DOCS_PATH, OPENAPI_PATH
from rota.web.errors import error_response

MAX_BODY = MAX_BODY_BYTES
MAX_DEPTH = MAX_JSON_DEPTH + 2
"""The body object and its ``args`` object hold arguments that nest MAX_JSON_DEPTH deep."""
PUBLIC_PATHS = frozenset({"/api/health", login.LOGIN_PATH})
BROWSER_PAGES = frozenset({DOCS_PATH, OPENAPI_PATH})
"""Paths whose GET the login cookie opens (and every path under ``BROWSER_PREFIXES``)."""
BROWSER_PREFIXES = (ASSETS_PATH,)
LOGIN_PAGES = frozenset({DOCS_PATH})
"""Pages that answer a browser without a token with the login form (not a JSON error)."""
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


def bearer_ok(headers: Iterable[tuple[bytes, bytes]], token: str) -> bool:
    """A constant-time check of ``Authorization: Bearer <token>``."""
    expected = token.encode("utf-8")
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, given = value.partition(b" ")
            if scheme.lower() == b"bearer":
                return hmac.compare_digest(given.strip(), expected)
    return False


def browser_page(path: str) -> bool:
    """Whether the login cookie may open a GET of ``path``."""
    return path in BROWSER_PAGES or path.startswith(BROWSER_PREFIXES)


def relative_path(scope: Scope) -> str:
    """The path inside this app: without the prefix it is mounted under."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class Guard:
    def __init__(
        self, app: ASGIApp, token: str | None, max_body: int = MAX_BODY, max_depth: int = MAX_DEPTH
    ) -> None:
        self.app = app
        self.token = token or None
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
        """None if the request may pass, else its 401 (for a page: the login form)."""
        if self.token is None:
            return None
        path = relative_path(scope)
        if path in PUBLIC_PATHS or bearer_ok(scope.get("headers", ()), self.token):
            return None
        reading = scope["method"] == "GET"
        if reading and browser_page(path) and login.logged_in(scope, self.token):
            return None
        if reading and path in LOGIN_PAGES:
            return login.form_response(scope, path)
        return error_response(
            401,
            "unauthorized",
            "a valid 'Authorization: Bearer <token>' is required",
            headers={"WWW-Authenticate": "Bearer"},
        )

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
