"""CSRF for the dashboard's actions: a per-browser secret in a cookie, repeated in each form.

Every page sets (once) an HttpOnly, SameSite=Strict cookie holding a random secret and puts
the same secret in a hidden field of each of its forms. An action is done only when the two
match: another site can neither read the page nor set the cookie, so it cannot forge the
pair. It holds whether or not a token is set, and for a bearer-token client too.
"""

from __future__ import annotations

import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "rota_csrf"
FIELD = "csrf"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


def current(request: Request) -> str | None:
    """The browser's CSRF secret, if its cookie holds a well-formed one."""
    value = request.cookies.get(COOKIE)
    return value if value is not None and _SHAPE.match(value) else None


def for_page(request: Request) -> tuple[str, bool]:
    """The secret a page embeds, and whether it is new (then ``remember`` must set it)."""
    value = current(request)
    return (value, False) if value is not None else (secrets.token_urlsafe(32), True)


def remember(request: Request, response: Response, value: str) -> None:
    """Set the cookie holding ``value`` on ``response``."""
    root = request.scope.get("root_path", "").rstrip("/")
    response.set_cookie(
        COOKIE,
        value,
        path=root or "/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def valid(request: Request, given: str | None) -> bool:
    """Whether a form's ``given`` secret is the one of this browser's cookie."""
    expected = current(request)
    if expected is None or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())
