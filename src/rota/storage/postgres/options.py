"""rota's own options in a PostgreSQL URL's query, taken out before libpq reads the URL.

- ``rota_pooler=transaction``: the URL reaches PostgreSQL through a pooler in transaction mode
  (PgBouncer's ``pool_mode = transaction``). rota then prepares no statements (a prepared
  statement lives on one server connection, the pooler hands out another one per transaction)
  and does not LISTEN through it (a notification reaches whichever client holds that server
  connection at the time, usually none). ``rota_pooler=session`` says a session pooler, which
  changes nothing.
- ``rota_listen=URL``: where workers LISTEN for new runs, e.g. a direct connection to the
  server beside the pooler; percent-encode it when it has a query of its own. Without it a
  worker behind a transaction pooler finds new runs by its poll (``poll_interval``, 1 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from rota.errors import ConfigError

POOLERS = ("transaction", "session")
OPTIONS = ("rota_pooler", "rota_listen")


@dataclass(frozen=True, slots=True)
class UrlOptions:
    conninfo: str
    """The URL libpq gets: rota's options taken out."""
    pooled: bool
    """Through a transaction pooler: no prepared statements, no LISTEN on ``conninfo``."""
    listen: str | None
    """Where to LISTEN, or None: workers poll."""


def libpq_url(url: str) -> str:
    """The URL in the spelling libpq reads (``postgres://`` and ``postgresql+driver://`` too)."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql+"):
        return "postgresql://" + url.split("://", 1)[1]
    return url


def parse(url: str) -> UrlOptions:
    """rota's options of ``url`` and the URL without them; a ``ConfigError`` for a bad one."""
    base = libpq_url(url)
    head, sep, query = base.partition("?")
    if not sep or "://" not in head:  # key=value conninfo strings carry no rota options
        return UrlOptions(base, False, base)
    query, hash_, fragment = query.partition("#")
    kept: list[str] = []
    found: dict[str, str] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if not key.startswith("rota_"):
            kept.append(pair)
        elif key in OPTIONS:
            found[key] = unquote(value)
        else:
            known = ", ".join(OPTIONS)
            raise ConfigError(f"unknown option {key!r} in the PostgreSQL URL (rota's: {known})")
    stripped = head + ("?" + "&".join(kept) if any(kept) else "") + hash_ + fragment
    pooler = found.get("rota_pooler", "session")
    if pooler not in POOLERS:
        raise ConfigError(
            f"rota_pooler={pooler!r} in the PostgreSQL URL: use transaction or session"
            " (rota's claims are transactions of several statements: statement pooling"
            " cannot carry them)"
        )
    pooled = pooler == "transaction"
    listen = found.get("rota_listen")
    if listen is not None:
        if not libpq_url(listen).startswith("postgresql://"):
            raise ConfigError("rota_listen in the PostgreSQL URL must be a postgresql:// URL")
        return UrlOptions(stripped, pooled, parse(listen).conninfo)
    return UrlOptions(stripped, pooled, None if pooled else stripped)
