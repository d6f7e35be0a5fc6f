"""Who is asking: the tokens a server accepts, and the role each gives.

A server may have two tokens: the token (``ROTA_API_TOKEN``, ``--token``), which may do
everything, and a read-only token (``ROTA_API_READ_TOKEN``, ``--read-token``), which may read
everything and act on nothing. A request shows one as ``Authorization: Bearer <token>``, or a
browser as the session cookie that logging in with it set (``rota.web.login``). Without any
token every request may do everything (a server off loopback refuses to start so).

The cookie holds its role, its issue time and an HMAC of both keyed by that role's token:
nothing is stored on the server, every node of a cluster accepts it, and a new token ends every
session of its role at once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from starlette.types import Scope

from rota.errors import ConfigError

Role = Literal["admin", "read"]
TOKEN_ENV = "ROTA_API_TOKEN"
READ_TOKEN_ENV = "ROTA_API_READ_TOKEN"
SESSION_COOKIE = "rota_session"
SESSION_SECONDS = 12 * 3600
CLOCK_SKEW = 60  # seconds a cookie may seem to come from the future (nodes' clocks differ)
_ROLE_KEY = "rota_role"


@dataclass(frozen=True, slots=True)
class Tokens:
    admin: str | None = None
    read: str | None = None

    @property
    def required(self) -> bool:
        """Whether a request must show a token (else everyone may do everything)."""
        return self.admin is not None

    def of(self, role: Role) -> str | None:
        return self.admin if role == "admin" else self.read

    def role_of(self, given: str) -> Role | None:
        """The role ``given`` is the token of, compared in constant time."""
        admin = self.admin is not None and _same(given, self.admin)
        read = self.read is not None and _same(given, self.read)
        return "admin" if admin else "read" if read else None


def resolve_tokens(token: str | None, read_token: str | None = None) -> Tokens:
    """The tokens given, else those of the environment; an empty one means none.

    A read-only token alone is refused: with no token to act, it would guard nothing but
    reads while nobody could act, which is never what was meant.
    """
    if token is None:
        token = os.environ.get(TOKEN_ENV)
    if read_token is None:
        read_token = os.environ.get(READ_TOKEN_ENV)
    tokens = Tokens(token or None, read_token or None)
    if tokens.read is not None and tokens.admin is None:
        raise ConfigError(
            f"a read-only token ({READ_TOKEN_ENV} or --read-token) needs a token too "
            f"({TOKEN_ENV} or --token): set both"
        )
    if tokens.read is not None and tokens.read == tokens.admin:
        raise ConfigError("the read-only token must differ from the token")
    return tokens


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def bearer(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, given = value.partition(b" ")
            if scheme.lower() == b"bearer":
                return given.strip().decode("utf-8", "replace")
    return None


def _signature(token: str, role: Role, issued: int) -> str:
    message = f"rota-session:{role}:{issued}".encode()
    return hmac.new(token.encode("utf-8"), message, hashlib.sha256).hexdigest()


def issue(tokens: Tokens, role: Role, now: float) -> str:
    """A new session cookie value for ``role``: ``<role>.<issued>.<signature>``."""
    token = tokens.of(role)
    assert token is not None
    issued = int(now)
    return f"{role}.{issued}.{_signature(token, role, issued)}"


def _as_role(text: str) -> Role | None:
    return "admin" if text == "admin" else "read" if text == "read" else None


def session_role(value: str, tokens: Tokens, now: float) -> Role | None:
    """The role a cookie value was issued for, if it is valid and has not expired."""
    role_text, _, rest = value.partition(".")
    issued_text, _, signature = rest.partition(".")
    role = _as_role(role_text)
    token = tokens.of(role) if role is not None else None
    if token is None or role is None:
        return None
    if not (issued_text.isascii() and issued_text.isdigit()) or len(issued_text) > 12:
        return None
    issued = int(issued_text)
    if not now - SESSION_SECONDS <= issued <= now + CLOCK_SKEW:
        return None
    expected = _signature(token, role, issued)
    return role if hmac.compare_digest(signature.encode(), expected.encode()) else None


def cookie(headers: Iterable[tuple[bytes, bytes]], name: str) -> str | None:
    """The value of cookie ``name`` in a request's ``Cookie`` headers, if any."""
    for key, value in headers:
        if key.lower() != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            found, _, given = pair.strip().partition("=")
            if found == name:
                return given.strip()
    return None


def set_role(scope: Scope, role: Role, by_cookie: bool) -> None:
    """Record who the guard let in, for the routes (``role``) and the dashboard."""
    state = scope.setdefault("state", {})
    state[_ROLE_KEY] = role
    state["rota_by_cookie"] = by_cookie


def role(scope: Scope) -> Role:
    """The role the guard let this request in with (``admin`` when no token is set)."""
    found: Role = scope.get("state", {}).get(_ROLE_KEY, "admin")
    return found


def by_cookie(scope: Scope) -> bool:
    """Whether the request was let in by a session cookie (so it may log out)."""
    return bool(scope.get("state", {}).get("rota_by_cookie", False))
