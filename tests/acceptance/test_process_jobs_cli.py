"""Process jobs defined in the app file the CLI loads (``--app tasks.py``): ``rota exec`` and
``rota worker`` run them in a child process that imports that file by its module name."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from tests.acceptance.conftest import Cli, Worker

SOURCE = """
import os

import rota

app = rota.App(poll_interval=0.1, lease_seconds=5)


@app.job(executor="process", timeout=30)
def where(n: int) -> dict:
    return {"n": n, "pid": os.getpid(), "parent": os.getppid()}


@app.job(executor="process", max_attempts=1)
def crash() -> None:
    os._exit(9)


if __name__ == "__main__":
    raise SystemExit("the child imported the app file as __main__")
"""


def write_app(tmp_path: Path) -> Path:
    path = tmp_path / "proctasks.py"
    path.write_text(textwrap.dedent(SOURCE))
    return path


def test_exec_runs_a_process_job_of_the_app_file_in_a_child(
    tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path, write_app(tmp_path), database_url)
    done = cli.ok("exec", "where", "--arg", "n=4", "--json")
    run = done.json()
    assert (run["state"], run["result"]["n"]) == ("succeeded", 4)
    assert run["result"]["pid"] != os.getpid()

    failed = cli("exec", "crash", "--json")
    assert failed.code == 1, str(failed)
    assert [e["type"] for e in failed.json()["errors"]] == ["WorkerLost"]
    assert "exited with code 9" in failed.json()["errors"][0]["message"]


def test_rota_worker_runs_process_jobs(tmp_path: Path, database_url: str) -> None:
    cli = Cli(tmp_path, write_app(tmp_path), database_url)
    run_id = cli.ok("launch", "where", "--arg", "n=2", "--json").json()["id"]
    worker = Worker(cli)
    proc = worker.start()
    try:
        run = cli.wait_state(run_id, "succeeded", timeout=30)
        assert run["result"]["parent"] == proc.pid  # a child of the worker, not the worker
        assert run["result"]["pid"] != proc.pid
    finally:
        code, err = worker.stop()
    assert code == 0, err
