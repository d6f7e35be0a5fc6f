"""Schemathesis against the OpenAPI document of a live server: no 5xx, no response off-schema.

Every check schemathesis has runs (status codes, content types, response schemas, refusals of
invalid data, auth, Allow headers, stateful links...), bounded by a small example count and a
fixed seed so it stays under two minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rota

from .conftest import Server, start_server
from .webapp import SOURCE

HERE = Path(__file__).parent

BATCH_JOB = """
from rota import batch


def read_numbers(ctx: batch.StepContext) -> range:
    return range(ctx.args["n"])


def check(item: int) -> int:
    if item == 7:
        raise ValueError("seven")
    return item


@app.batch
def numbers(n: int) -> batch.Flow:
    return batch.Flow([batch.chunk("load", reader=read_numbers, processor=check,
                                   writer=lambda items: None, size=2)])
"""


WORKFLOWS = """

@app.workflow
def sums(a: int) -> rota.Workflow:
    wf = rota.Workflow("sums")
    wf.add("first", add, {"a": a})
    wf.add("then", add, {"a": a, "b": 1}, after=["first"])
    return wf


@app.workflow
def doomed() -> rota.Workflow:
    wf = rota.Workflow("doomed")
    wf.add("fails", boom)
    wf.add("never", add, {"a": 1}, after=["fails"])
    return wf
"""


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    """The test app plus a batch job and workflows, so that the batch and workflow operations
    meet real executions and workflows."""
    (tmp_path / "webtest_app.py").write_text(SOURCE + BATCH_JOB + WORKFLOWS)
    srv = start_server(tmp_path, database_url)
    yield srv
    srv.stop()


def schemathesis_command() -> list[str]:
    script = Path(sys.executable).parent / "schemathesis"
    if script.exists():
        return [str(script)]
    found = shutil.which("schemathesis")
    return [found] if found else [sys.executable, "-m", "schemathesis.cli"]


def test_schemathesis_finds_nothing(server: Server, local_app: rota.App, tmp_path: Path) -> None:
    # data for the operations that need some: a schedule, and runs in several states
    local_app.add_schedule("nightly", "add", cron="0 3 * * *", kwargs={"a": 1})
    for body in ({"args": {"a": 1}}, {"args": {}}):
        server.client.post("/api/jobs/add/runs", json=body)
    server.client.post("/api/jobs/boom/runs", json={})
    for n in (3, 13):  # a completed and a failed batch execution
        server.client.post("/api/jobs/numbers/runs", json={"args": {"n": n}})
    for name, body in (("sums", {"args": {"a": 1}}), ("doomed", {})):  # succeeded, failed
        server.client.post(f"/api/jobs/{name}/runs", json=body)
    local_app.drain()
    rota.chain(("add", {"a": 1}), ("add", {"a": 2})).enqueue(app=local_app)  # running
    server.client.post("/api/jobs/numbers/runs", json={"args": {"n": 4}, "delay": 3600})
    server.client.post("/api/jobs/add/runs", json={"args": {"a": 2}, "delay": 3600})

    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    result = subprocess.run(
        [
            *schemathesis_command(),
            "--config-file", str(HERE / "schemathesis.toml"),
            "run", f"{server.url}/api/openapi.json",
            "--header", f"Authorization: Bearer {server.token}",
            "--checks", "all",
            "--max-examples", "25",
            "--seed", "20240601",
            "--workers", "1",  # threads parse ASTs at once: CPython 3.11.7 bug gh-106905
            "--request-timeout", "30",
            "--suppress-health-check", "too_slow",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    report = result.stdout + result.stderr
    print(report)  # shown by pytest -s, or on failure
    # A failure shows the server's own log too: a 500 names its exception only there.
    assert result.returncode == 0, (
        f"{report}\n--- server log (last 20,000 characters) ---\n{server.log()[-20000:]}"
    )
    assert "28 selected / 28 total" in report, report
    assert server.healthy(), server.log()
    assert "Traceback" not in server.log(), server.log()
