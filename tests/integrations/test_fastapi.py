"""FastAPI: the example app under a real uvicorn runs what its routes enqueue, no other worker."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.support import free_port, wait_until

from .servers import EXAMPLES, assert_one_run_per_fire_time, live_nodes, server


def uvicorn(port: int, *extra: str) -> list[str]:
    return [
        "uvicorn",
        "fastapi_app:web",
        "--app-dir",
        str(EXAMPLES),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "info",
        *extra,
    ]


def test_a_route_enqueues_and_the_server_runs_it(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    with server(uvicorn(port), port, tmp_path, database_url) as srv:
        srv.wait_up("/rota/api/health")
        assert srv.get("/").json() == {"app": "shop"}
        posted = srv.post("/orders/42/receipt")
        assert posted.status_code == 202, posted.text
        run_id = posted.json()["run_id"]

        def finished() -> dict[str, object] | None:
            run: dict[str, object] = srv.get(f"/rota/api/runs/{run_id}").json()
            return run if run["state"] in ("succeeded", "failed", "cancelled") else None

        run = wait_until(finished, 30, f"run {run_id} to finish")
        assert run["state"] == "succeeded", run
        assert run["result"] == "receipt for order 42 sent"
        assert live_nodes(database_url) == 1
        # uvicorn re-raises the signal once it shut down gracefully
        assert srv.stop(signal.SIGTERM) in (0, -signal.SIGTERM), srv.log()
        assert "Application shutdown complete" in srv.log()
        assert live_nodes(database_url) == 0  # the lifespan stopped rota's node


def test_two_worker_processes_fire_each_time_once(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    argv = uvicorn(port, "--workers", "2")
    with server(argv, port, tmp_path, database_url, TICK_SECONDS="1") as srv:
        srv.wait_up("/rota/api/health")
        wait_until(lambda: live_nodes(database_url) == 2, 60, "two rota nodes")
        assert_one_run_per_fire_time(database_url, at_least=5)
        assert srv.stop(signal.SIGTERM) in (0, -signal.SIGTERM), srv.log()


def test_lifespan_composes_with_the_users_own(tmp_path: Path) -> None:
    """``then=`` runs inside rota's lifespan: rota is up before it, and its state is passed on."""
    import asyncio
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    import httpx
    from fastapi import FastAPI

    import rota
    from rota.integrations.fastapi import lifespan, mount

    app = rota.App(database=f"sqlite:///{tmp_path / 'lifespan.db'}")
    seen: list[str] = []

    @app.job
    def hello(name: str) -> str:
        return f"hello {name}"

    @asynccontextmanager
    async def mine(web: FastAPI) -> AsyncIterator[dict[str, str]]:
        seen.append(f"up, rota running: {bool(app.node)}")
        yield {"greeting": "hi"}
        seen.append("down")

    web = FastAPI(lifespan=lifespan(app, scheduler=False, then=mine))
    mount(web, app, prefix="/jobs")

    @web.post("/hello/{name}")
    async def say(name: str) -> dict[str, int]:
        handle = await app.enqueue_async("hello", {"name": name})
        return {"run_id": handle.id}

    async def scenario() -> None:
        async with web.router.lifespan_context(web) as state:
            assert state == {"greeting": "hi"}
            transport = httpx.ASGITransport(app=web)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                run_id = (await client.post("/hello/ada")).json()["run_id"]
                handle = rota.RunHandle(app, run_id)
                assert await asyncio.to_thread(handle.result, 30) == "hello ada"
                run = (await client.get(f"/jobs/api/runs/{run_id}")).json()
                assert run["state"] == "succeeded"
            live = [n.roles for n in app.nodes.list() if n.stopped_at is None]
            assert live == [["worker", "maintenance"]]

    asyncio.run(scenario())
    assert seen == ["up, rota running: True", "down"]
    assert [n for n in app.nodes.list() if n.stopped_at is None] == []
    app.close()
