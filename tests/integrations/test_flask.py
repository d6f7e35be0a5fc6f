"""Flask: the example app under a real `flask run` runs what its routes enqueue, no worker."""

from __future__ import annotations

import signal
from pathlib import Path

import rota
from tests.support import free_port, wait_until

from .servers import EXAMPLES, assert_one_run_per_fire_time, live_nodes, server


def flask_run(port: int, *extra: str) -> list[str]:
    app_path = str(EXAMPLES / "flask_app.py")
    return ["flask", "--app", app_path, "run", "--host", "127.0.0.1", "--port", str(port), *extra]


def test_a_route_enqueues_and_the_server_runs_it(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    with server(flask_run(port), port, tmp_path, database_url) as srv:
        srv.wait_up("/")
        assert live_nodes(database_url) == 1
        posted = srv.post("/orders/7/receipt")
        assert posted.status_code == 202, posted.text
        run_id = posted.json()["run_id"]

        def finished() -> dict[str, object] | None:
            run: dict[str, object] = srv.get(f"/runs/{run_id}").json()
            return run if run["state"] in ("succeeded", "failed", "cancelled") else None

        run = wait_until(finished, 30, f"run {run_id} to finish")
        assert run == {"id": run_id, "state": "succeeded", "result": "receipt for order 7 sent"}
        assert srv.stop(signal.SIGINT) == 0, srv.log()
        assert live_nodes(database_url) == 0, srv.log()  # stopped at exit


def test_the_reloader_parent_starts_nothing(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    with server(flask_run(port, "--debug"), port, tmp_path, database_url) as srv:
        srv.wait_up("/")
        posted = srv.post("/orders/7/receipt")
        assert posted.status_code == 202, posted.text
        # the parent loads the app before it spawns the serving child: had it started rota,
        # its node would be registered by now
        app = rota.App(database=database_url)
        try:
            nodes = [n for n in app.nodes.list() if n.stopped_at is None]
        finally:
            app.close()
        assert len(nodes) == 1, nodes
        assert nodes[0].pid != srv.pid


def test_two_server_processes_fire_each_time_once(tmp_path: Path, database_url: str) -> None:
    ports = free_port(), free_port()
    with (
        server(flask_run(ports[0]), ports[0], tmp_path, database_url, TICK_SECONDS="1") as one,
        server(flask_run(ports[1]), ports[1], tmp_path, database_url, TICK_SECONDS="1") as two,
    ):
        one.wait_up("/")
        two.wait_up("/")
        wait_until(lambda: live_nodes(database_url) == 2, 60, "two rota nodes")
        assert_one_run_per_fire_time(database_url, at_least=5)
        assert one.stop(signal.SIGINT) == 0, one.log()
        assert two.stop(signal.SIGINT) == 0, two.log()
