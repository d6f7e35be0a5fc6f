"""Node commands start and stop clearly: a signal stops them whatever they are doing (also
while they wait for a database that does not answer), and each logs one line at start and one
at stop."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli, assert_user_error
from tests.acceptance.nodes import (
    SERVING,
    STARTED,
    Nodes,
    health,
    node_args,
    opened,
    running_nodes,
)
from tests.integration.dbfaults import sqlite_exclusive_lock
from tests.support import SilentServer, free_port

NODES = ["worker", "scheduler", "serve", "run"]
SIGNALS = [signal.SIGINT, signal.SIGTERM]
PROMPT = 2.5  # seconds from the signal to the exit of a node that was only waiting


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Nodes]:
    yield from running_nodes(tmp_path)


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def assert_stopped_before_start(log: str, sig: signal.Signals) -> None:
    assert f"received {sig.name}: stopping gracefully" in log
    assert "node stopped before it had started" in log
    assert "serving" not in log
    assert "Traceback" not in log


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("node", NODES)
def test_a_node_waiting_for_a_silent_database_stops_at_once(
    node: str,
    sig: signal.Signals,
    tmp_path: Path,
    app_file: Path,
    nodes: Nodes,
    silent: SilentServer,
) -> None:
    # a server that accepts the connection and never answers: the node hangs in connecting
    cli = Cli(tmp_path, app_file, f"postgresql://postgres@127.0.0.1:{silent.port}/rota")
    proc = nodes.start(cli, *node_args(node))
    proc.wait_for(lambda: silent.connections > 0, 30, "the node to connect to the database")

    sent = time.monotonic()
    proc.send(sig)
    code = proc.wait_exit(15)
    took = time.monotonic() - sent

    assert code == 0, proc.tail()
    assert took < PROMPT, f"{node} took {took:.1f}s to stop on {sig.name}"
    assert_stopped_before_start(proc.log(), sig)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_worker_waiting_for_a_locked_sqlite_file_stops_at_once(
    sig: signal.Signals, tmp_path: Path, app_file: Path, nodes: Nodes
) -> None:
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    with sqlite_exclusive_lock(url):  # a fresh file: not even its schema can be read
        proc = nodes.start(Cli(tmp_path, app_file, url), "worker")
        proc.wait_for(lambda: opened(proc.pid, path), 30, "the worker to open the database")
        sent = time.monotonic()
        proc.send(sig)
        code = proc.wait_exit(15)
        took = time.monotonic() - sent
    assert code == 0, proc.tail()
    assert took < PROMPT, f"the worker took {took:.1f}s to stop on {sig.name}"
    assert_stopped_before_start(proc.log(), sig)


def test_a_node_says_why_the_database_is_unreachable_and_keeps_trying(
    tmp_path: Path, app_file: Path, nodes: Nodes
) -> None:
    port = free_port()  # nothing listens there: connections are refused
    proc = nodes.start(
        Cli(tmp_path, app_file, f"postgresql://postgres@127.0.0.1:{port}/x"), "worker"
    )

    def outage_line() -> str | None:
        lines = [ln for ln in proc.log().splitlines() if "database unavailable, retrying" in ln]
        return lines[0] if lines else None

    # at once, not after the pool's 10 s timeout, and with the cause
    line = proc.wait_for(outage_line, 5, "the outage line")
    assert f"port {port} failed: Connection refused" in line, line
    assert "couldn't get a connection" not in line
    assert proc.alive()
    assert proc.stop(signal.SIGINT, timeout=PROMPT) == 0


def _with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':')[0]}:s3cret-pw@{host}"


EXPECTED = {
    "worker": ("roles worker, maintenance; queues a,b; concurrency 3", False),
    "scheduler": ("roles scheduler", False),
    "serve": ("roles api", True),
    "run": ("roles worker, scheduler, maintenance, api; queues a,b; concurrency 3", True),
}


@pytest.mark.parametrize("node", NODES)
def test_a_node_logs_one_line_at_start_and_one_at_stop(
    node: str, backend: str, database_url: str, tmp_path: Path, app_file: Path, nodes: Nodes
) -> None:
    url = _with_password(database_url) if backend == "postgres" else database_url
    args = node_args(node)
    if node in ("worker", "run"):
        args += ["--queues", "a,b", "--concurrency", "3"]
    proc = nodes.start(Cli(tmp_path, app_file, url), *args)
    match = proc.wait_for(lambda: STARTED.search(proc.log()), 30, "the start line")
    node_id, database, details = match.groups()
    summary, api = EXPECTED[node]
    if api:
        port = args[args.index("--port") + 1]
        summary += f"; API http://127.0.0.1:{port}/"
    assert details == summary
    assert database == (
        database_url.replace("postgres@", "postgres:***@") if backend == "postgres" else url
    )

    assert proc.stop(signal.SIGTERM, timeout=30) == 0
    log = proc.log()
    assert log.count(" started (database ") == 1
    assert log.count(f" node {node_id} stopped") == 1
    assert log.index(f" node {node_id} stopped") > log.index("received SIGTERM")
    assert "s3cret-pw" not in log
    assert "Traceback" not in log


def _sqlite_cli(tmp_path: Path, app_file: Path) -> Cli:
    return Cli(tmp_path, app_file, f"sqlite:///{tmp_path / 'rota.db'}")


def test_serve_refuses_a_port_in_use_in_one_line(tmp_path: Path, app_file: Path) -> None:
    cli = _sqlite_cli(tmp_path, app_file)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), timeout=30)
    assert result.code == 2, str(result)
    assert result.err.splitlines() == [
        f"rota: error: cannot serve on 127.0.0.1:{port}: address already in use "
        "(is another server on that port?)"
    ], str(result)
    assert result.out == ""


def test_serve_refuses_a_public_address_without_a_token_in_one_line(
    tmp_path: Path, app_file: Path
) -> None:
    result = _sqlite_cli(tmp_path, app_file)(
        "serve", "--host", "0.0.0.0", "--port", str(free_port()), timeout=30
    )
    assert_user_error(result, 2, "refusing to serve the API on 0.0.0.0", "ROTA_API_TOKEN")


def test_serve_says_where_it_serves_once_it_answers_there(
    tmp_path: Path, app_file: Path, nodes: Nodes
) -> None:
    path = tmp_path / "late.db"
    url = f"sqlite:///{path}"
    port = free_port()
    with sqlite_exclusive_lock(url):  # the node waits for its database before it serves
        proc = nodes.start(Cli(tmp_path, app_file, url), "serve", "--port", str(port))
        proc.wait_for(lambda: opened(proc.pid, path), 30, "the node to open its database")
        assert "serving" not in proc.log()
    match = proc.wait_for(lambda: SERVING.search(proc.log()), 30, "the 'serving on' line")
    assert match.group(1) == f"http://127.0.0.1:{port}/"
    assert health(match.group(1)) == 200  # already answering when it said so
    assert proc.stop(signal.SIGINT, timeout=30) == 0


def test_a_second_signal_stops_a_draining_worker_at_once(
    tmp_path: Path, app_file: Path, nodes: Nodes
) -> None:
    cli = _sqlite_cli(tmp_path, app_file)
    worker = nodes.start(cli, "worker", "--shutdown-timeout", "60")
    worker.wait_for(lambda: " started (database " in worker.log(), 30, "the worker to start")
    run_id = cli.ok("launch", "block", "--arg", f"path={tmp_path / 'never'}").out.strip()
    cli.wait_state(int(run_id), "running")

    worker.send(signal.SIGTERM)  # graceful: the blocked run may take its 60 s
    worker.wait_for(lambda: "stopping gracefully" in worker.log(), 10, "the graceful stop")
    sent = time.monotonic()
    worker.send(signal.SIGINT)
    code = worker.wait_exit(15)
    took = time.monotonic() - sent

    assert code == 130, worker.tail()
    assert took < PROMPT, f"took {took:.1f}s"
    assert "received SIGINT again: stopping now" in worker.log()
    assert "rota: interrupted" in worker.log()


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_burst_worker_stops_on_a_signal_and_hands_its_runs_back(
    sig: signal.Signals, tmp_path: Path, cli: Cli, nodes: Nodes
) -> None:
    never = tmp_path / "never"
    ids = [int(cli.ok("launch", "block", "--arg", f"path={never}").out) for _ in range(3)]
    worker = nodes.start(
        cli, "worker", "--burst", "--concurrency", "1", "--shutdown-timeout", "0.5"
    )
    first = cli.wait_state(ids[0], "running", timeout=30)
    assert first["attempt"] == 1

    sent = time.monotonic()
    worker.send(sig)
    code = worker.wait_exit(15)
    took = time.monotonic() - sent

    assert code == 0, worker.tail()
    assert took < PROMPT + 0.5, f"took {took:.1f}s"
    assert "burst stopped by a signal" in worker.log()
    assert "Traceback" not in worker.log()
    states = {i: cli.run_json(i)["state"] for i in ids}
    assert states == {i: "queued" for i in ids}  # the running one handed back, the rest untouched
    assert cli.run_json(ids[0])["errors"] == []  # a hand-back is no failed attempt


def test_a_burst_worker_lets_a_running_run_finish_within_its_shutdown_timeout(
    tmp_path: Path, cli: Cli, nodes: Nodes
) -> None:
    release = tmp_path / "release"
    ids = [int(cli.ok("launch", "block", "--arg", f"path={release}").out) for _ in range(2)]
    worker = nodes.start(cli, "worker", "--burst", "--concurrency", "1")
    cli.wait_state(ids[0], "running", timeout=30)

    worker.send(signal.SIGTERM)
    worker.wait_for(lambda: "stopping gracefully" in worker.log(), 10, "the graceful stop")
    release.touch()

    assert worker.wait_exit(20) == 0, worker.tail()
    assert cli.run_json(ids[0])["state"] == "succeeded"
    assert cli.run_json(ids[1])["state"] == "queued"  # never claimed after the signal
