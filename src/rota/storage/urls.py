"""Database URLs: which backend a URL names, and how to show it without its password."""

from __future__ import annotations

from urllib.parse import unquote

from rota.errors import ConfigError

DEFAULT_URL = "sqlite:///rota.db"


def backend_of(url: str) -> str:
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        return "postgres"
    raise ConfigError(
        f"unsupported database URL {redact(url)!r}: use sqlite:///path.db or "
        "postgresql://user:pass@host:port/db"
    )


def redact(url: str) -> str:
    """The URL without its passwords (its own, and a URL in its query), for messages and logs."""
    if "://" not in url:
        return url
    head, sep, query = url.partition("?")
    if sep:
        pairs = (p.partition("=") for p in query.split("&"))
        query = "&".join(
            k + eq + (redact(unquote(v)) if "://" in unquote(v) else v) for k, eq, v in pairs
        )
    if "@" not in head:
        return head + sep + query
    scheme, rest = head.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return (f"{scheme}://{user}:***@{host}" if ":" in creds else head) + sep + query
