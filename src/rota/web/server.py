"""Serving the API with uvicorn: the entry point of ``rota serve`` and ``rota run``."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
from collections.abc import Callable, Iterator

import uvicorn

from rota.app import App
from rota.errors import ConfigError
from rota.web.application import TOKEN_ENV, asgi, resolve_token

log = logging.getLogger("rota.web")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve the API on {host} without a token: anyone who reaches it could "
            f"launch and delete runs. Set {TOKEN_ENV} (or --token), or serve on 127.0.0.1"
        )


def serve(
    app: App,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    *,
    before: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
    access_log: bool = True,
    log_level: str = "info",
) -> None:
    """Serve ``app``'s API until SIGINT or SIGTERM (then stop gracefully).

    ``before``/``after`` run around serving (``rota run`` starts and stops its worker and
    scheduler there). Raises ``ConfigError`` before listening when the address is not a
    loopback one and there is no token (``token=`` or ``ROTA_API_TOKEN``).
    """
    token = resolve_token(token)
    check_exposure(host, token)
    app.wait_for_store("API server")  # create or upgrade the schema before the first request
    config = uvicorn.Config(
        asgi(app, token),
        host=host,
        port=port,
        access_log=access_log,
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=max(1, int(app.shutdown_timeout)),
    )
    server = uvicorn.Server(config)
    if before is not None:
        before()
    try:
        with _signals_end_serving():
            server.run()
    finally:
        if after is not None:
            after()
    if not server.started:
        raise ConfigError(f"could not serve on {host}:{port} (is the port in use?)")


@contextlib.contextmanager
def _signals_end_serving() -> Iterator[None]:
    """SIGTERM/SIGINT only end serving (then ``after`` runs and the process exits 0).

    uvicorn handles them gracefully, then re-raises the signal at the handler it found on
    start: with the default one that would kill the process (or raise KeyboardInterrupt).
    """

    def handled(signum: int, _frame: object) -> None:
        log.debug("signal %s: the server has stopped", signum)

    previous = {s: signal.signal(s, handled) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
