"""Serving the API with uvicorn: the entry point of ``rota serve`` and ``rota run``."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence

import uvicorn

from rota.app import App
from rota.cluster.lifecycle import StopRequest, boot, started_line, stop_on_signals, stopped_line
from rota.errors import ConfigError
from rota.web.application import asgi
from rota.web.auth import TOKEN_ENV, Tokens, resolve_tokens

log = logging.getLogger("rota.web")
BACKLOG = 2048


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def check_exposure(host: str, tokens: Tokens) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not tokens.required and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve the API on {host} without a token: anyone who reaches it could "
            f"launch and delete runs. Set {TOKEN_ENV} (or --token), or serve on 127.0.0.1"
        )


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, or a ``ConfigError`` saying why it cannot be."""
    bare = host.strip().strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bare, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        hint = " (is another server on that port?)" if exc.errno == errno.EADDRINUSE else ""
        raise ConfigError(f"cannot serve on {host}:{port}: {reason.lower()}{hint}") from None
    return sock


def url_of(host: str, sock: socket.socket) -> str:
    """The URL a listening socket serves at (its real port, also when 0 was asked for)."""
    bare = host.strip().strip("[]")
    shown = f"[{bare}]" if ":" in bare else bare
    return f"http://{shown}:{sock.getsockname()[1]}/"


class _Server(uvicorn.Server):
    """uvicorn's server, telling when it has started to accept connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._on_started()


def serve(
    app: App,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    *,
    read_token: str | None = None,
    before: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
    access_log: bool = True,
    log_level: str = "info",
    details: Sequence[str] = (),
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app``'s API until SIGINT or SIGTERM (then stop gracefully).

    ``before``/``after`` run around serving (``rota run`` starts and stops its worker and
    scheduler there). Raises ``ConfigError`` before anything else when the address is not a
    loopback one and there is no token (``token=`` or ``ROTA_API_TOKEN``), when the tokens are
    not sound (``rota.web.auth.resolve_tokens``), or when it cannot be bound. The database may
    be down at start: the node waits for it, and a signal stops it while it waits.
    ``on_listening(url)`` is called once connections are accepted.
    """
    tokens = resolve_tokens(token, read_token)
    check_exposure(host, tokens)
    sock = listen(host, port)
    url = url_of(host, sock)
    config = uvicorn.Config(
        asgi(app, tokens.admin, read_token=tokens.read),
        access_log=access_log,
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=max(1, int(app.shutdown_timeout)),
    )

    def announce() -> None:
        started_line(app.node, app.database_url, (*details, f"API {url}"))
        if on_listening is not None:
            on_listening(url)

    server = _Server(config, announce)
    started = False
    try:
        with stop_on_signals() as stop:
            stop.on_request(lambda: setattr(server, "should_exit", True))
            try:
                if boot(lambda: _boot(app, before, stop), stop):
                    server.run(sockets=[sock])
                    started = server.started
            finally:
                if after is not None:
                    after()
                stopped_line(app.node, started)
    finally:
        sock.close()


def _boot(app: App, before: Callable[[], None] | None, stop: StopRequest) -> None:
    """Create or upgrade the schema before the first request, then start the node's services."""
    app.wait_for_store("API server", stop)
    stop.check()
    if before is not None:
        before()
