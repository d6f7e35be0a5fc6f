"""rota inside a FastAPI or Starlette application (``rota[web]``).

``lifespan(app)`` starts the worker, scheduler and maintenance in background threads of the
server process when it starts, and stops them gracefully when it shuts down::

    web = FastAPI(lifespan=lifespan(app))
    mount(web, app, prefix="/rota")

Your own lifespan composes with it: ``lifespan(app, then=my_lifespan)`` runs yours inside
rota's, or use ``async with running(app):`` inside yours. With several server processes
(``uvicorn --workers N``, gunicorn) each one is a node of the cluster: runs are claimed once
and every schedule fires once per fire time, however many nodes run a scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.routing import Router

from rota.app import App

__all__ = ["lifespan", "mount", "running"]

W = TypeVar("W")
Lifespan = Callable[[W], AbstractAsyncContextManager[Mapping[str, Any] | None]]


@contextlib.asynccontextmanager
async def running(
    app: App,
    *,
    worker: bool = True,
    scheduler: bool = True,
    maintenance: bool = True,
    queues: Sequence[str] | None = None,
    concurrency: int | None = None,
) -> AsyncIterator[App]:
    """Run rota's services while the block runs; start and stop happen on a thread.

    Stopping waits up to ``app.shutdown_timeout`` for running runs, off the event loop, so the
    server keeps answering while rota winds down.
    """
    await asyncio.to_thread(
        app.start,
        worker=worker,
        scheduler=scheduler,
        maintenance=maintenance,
        queues=queues,
        concurrency=concurrency,
    )
    try:
        yield app
    finally:
        await asyncio.to_thread(app.stop)


def lifespan(
    app: App,
    *,
    worker: bool = True,
    scheduler: bool = True,
    maintenance: bool = True,
    queues: Sequence[str] | None = None,
    concurrency: int | None = None,
    then: Lifespan[W] | None = None,
) -> Callable[[W], AbstractAsyncContextManager[Mapping[str, Any] | None]]:
    """A lifespan for ``FastAPI(lifespan=...)`` or ``Starlette(lifespan=...)`` running rota.

    ``then`` is your own lifespan, entered after rota started and left before it stops; the
    state it yields is passed on to the server.
    """

    @contextlib.asynccontextmanager
    async def rota_lifespan(web_app: W) -> AsyncIterator[Mapping[str, Any] | None]:
        async with running(
            app,
            worker=worker,
            scheduler=scheduler,
            maintenance=maintenance,
            queues=queues,
            concurrency=concurrency,
        ):
            if then is None:
                yield None
            else:
                async with then(web_app) as state:
                    yield state

    return rota_lifespan


def mount(
    web_app: Starlette | Router, app: App, prefix: str = "/rota", token: str | None = None
) -> None:
    """Serve rota's REST API under ``prefix`` of ``web_app`` (FastAPI, Starlette or a router).

    ``token`` (else env ``ROTA_API_TOKEN``) protects every path but ``{prefix}/api/health``.
    """
    if not prefix.startswith("/") or prefix == "/":
        raise ValueError(f"prefix must be a path like '/rota', not {prefix!r}")
    web_app.mount(prefix.rstrip("/"), app=app.asgi(token=token), name="rota")
