"""A dashboard with a real worker behind it, shared by the tests of a module.

The server runs the app below as a node (its worker in the server's process), so runs that the
tests launch through the REST API really run. Jobs that should fail once take a ``key``: the
first attempt of a key fails (leaving a mark file), any later one succeeds. A job asked to
``hold`` then waits until the test ``release``s its key, so a test sees the run in flight and
then watches the page change on its own.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import rota
from tests.support import wait_until
from tests.web.conftest import Server

SOURCE = '''
import time
from pathlib import Path

import rota
from rota import batch

app = rota.App(name="browsertest", poll_interval=0.05, lease_seconds=5, shutdown_timeout=5)
MARKS = Path(__file__).parent / "marks"


def first_time(key):
    """True the first time ``key`` is asked about (it leaves a mark file behind)."""
    MARKS.mkdir(exist_ok=True)
    try:
        (MARKS / key).touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


def held_until_released(key):
    deadline = time.monotonic() + 30
    while not (MARKS / f"{key}.release").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def fail_first_time(key):
    if first_time(key):
        raise RuntimeError(f"the first attempt of {key} fails on purpose")


@app.job(max_attempts=1)
def flaky(key: str, hold: bool = False) -> str:
    """Fails its first attempt; later ones succeed (after the test releases them if held)."""
    fail_first_time(key)
    if hold:
        held_until_released(key)
    return f"{key} done"


@app.job(max_attempts=1)
def bulk(key: str) -> str:
    """Like ``flaky``, for the runs retried all at once."""
    fail_first_time(key)
    return f"{key} done"


@app.job
def add(a: int, b: int = 0) -> int:
    return a + b


@app.job(max_attempts=1)
def patient(key: str, ctx: rota.Context) -> str:
    """Runs until the test releases its key or the run is cancelled (a workflow's step in
    flight, to cancel)."""
    deadline = time.monotonic() + 30
    while not (MARKS / f"{key}.release").exists() and not ctx.cancelled:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return f"{key} done"


@app.job
def steps(key: str, ctx: rota.Context) -> int:
    """Reports three of four steps done, waits for the test, then reports the fourth."""
    ctx.progress(3, 4, "three of four")
    held_until_released(key)
    ctx.progress(4, 4, "all four")
    return 4


def prepare(ctx: batch.StepContext) -> None:
    ctx.logger.info("preparing %s", ctx.args["key"])


def load(ctx: batch.StepContext) -> None:
    fail_first_time(ctx.args["key"])


@app.batch
def import_once(key: str) -> batch.Flow:
    """A batch job whose second step fails in its first execution only."""
    return batch.Flow([batch.tasklet("prepare", prepare), batch.tasklet("load", load)])
'''

_keys = itertools.count(1)


class Live:
    """The server, the same app opened in the test process, and the jobs' mark folder."""

    def __init__(self, server: Server, app: rota.App, folder: Path) -> None:
        self.server, self.app, self.folder = server, app, folder
        self.url = server.url

    @staticmethod
    def key(prefix: str = "k") -> str:
        """A key no other test uses (the server is shared)."""
        return f"{prefix}{next(_keys)}"

    def launch(self, job: str, **args: Any) -> int:
        """Launch ``job`` through the REST API; the run's id."""
        response = self.server.client.post(f"/api/jobs/{job}/runs", json={"args": args})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def run(self, run_id: int) -> dict[str, Any]:
        response = self.server.client.get(f"/api/runs/{run_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def state(self, run_id: int) -> str:
        return str(self.run(run_id)["state"])

    def wait_state(self, run_id: int, state: str, timeout: float = 20) -> None:
        wait_until(lambda: self.state(run_id) == state, timeout, f"run {run_id} to be {state}")

    def failed_run(self, job: str = "flaky", **args: Any) -> int:
        """A run of ``job`` (which fails its first attempt) that has failed."""
        run_id = self.launch(job, key=self.key(job), **args)
        self.wait_state(run_id, "failed")
        return run_id

    def release(self, key: str) -> None:
        """Let the held job of ``key`` end."""
        (self.folder / "marks" / f"{key}.release").touch()

    def workflow(self, wf: rota.Workflow) -> int:
        """Enqueue ``wf`` (its steps name the jobs above); its id."""
        return int(wf.enqueue(app=self.app).id)

    def workflow_state(self, workflow_id: int) -> str:
        return str(self.app.workflows.show(workflow_id).state.value)

    def wait_workflow(self, workflow_id: int, state: str, timeout: float = 20) -> None:
        wait_until(
            lambda: self.workflow_state(workflow_id) == state,
            timeout,
            f"workflow {workflow_id} to be {state}",
        )

    def failed_workflow(self) -> int:
        """A workflow whose step ``charge`` failed (so ``report`` was cancelled) while
        ``fetch`` and ``mail`` succeeded; ``charge`` succeeds when retried."""
        wf = rota.Workflow("checkout")
        wf.add("fetch", "add", {"a": 1})
        wf.add("charge", "flaky", {"key": self.key("charge")}, after=["fetch"])
        wf.add("mail", "add", {"a": 2}, after=["fetch"])
        wf.add("report", "add", {"a": 3}, after=["charge", "mail"])
        workflow_id = self.workflow(wf)
        self.wait_workflow(workflow_id, "failed")
        return workflow_id

    def execution(self, execution_id: int) -> dict[str, Any]:
        response = self.server.client.get(f"/api/batch/executions/{execution_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def failed_execution(self) -> int:
        """The id of a failed execution of the batch job ``import_once``."""
        key = self.key("batch")
        run_id = self.launch("import_once", key=key)
        self.wait_state(run_id, "failed")
        listed = self.server.client.get("/api/batch/executions").json()["items"]
        [found] = [e for e in listed if e["run_id"] == run_id]
        assert found["state"] == "failed", found
        return int(found["id"])
