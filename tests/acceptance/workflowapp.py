"""The workflow app the CLI and REST tests drive, loaded by the ``rota`` command from this file.

``pipeline(log, blocker)`` is an ``@app.workflow``: ``fetch`` and ``side`` first, ``check``
after ``fetch``, ``report`` after ``check`` and ``side``. ``check`` has one attempt and fails
while the file at ``blocker`` exists (the cause a test fixes before a retry). Every step
appends its name as one line to the file at ``log``, so a test counts which steps ran, and how
often.
"""

from __future__ import annotations

import os
from typing import Any

import rota

app = rota.App(name="workflowtest", poll_interval=0.05, lease_seconds=5, shutdown_timeout=5)


def _ran(log: str, step: str) -> None:
    with open(log, "a", encoding="utf-8") as f:
        f.write(step + "\n")


@app.job
def fetch(log: str, step: str, n: int) -> int:
    _ran(log, step)
    return n


@app.job(max_attempts=1)
def check(log: str, blocker: str, up: rota.Upstream) -> int:
    """Fails while the file at ``blocker`` exists; else the sum of its upstreams' results."""
    _ran(log, "check")
    if os.path.exists(blocker):
        raise RuntimeError(f"blocked by {blocker}")
    return sum(up.values())


@app.job
def report(log: str, up: rota.Upstream) -> dict[str, Any]:
    _ran(log, "report")
    return dict(up)


@app.workflow
def pipeline(log: str, blocker: str, n: int = 2) -> rota.Workflow:
    wf = rota.Workflow("pipeline")
    wf.add("fetch", fetch, {"log": log, "step": "fetch", "n": n})
    wf.add("side", fetch, {"log": log, "step": "side", "n": 10})
    wf.add("check", check, {"log": log, "blocker": blocker}, after=["fetch"])
    wf.add("report", report, {"log": log}, after=["check", "side"])
    return wf


def ran(log: str) -> list[str]:
    """The steps that ran, in order, from the file at ``log``."""
    if not os.path.exists(log):
        return []
    with open(log, encoding="utf-8") as f:
        return f.read().split()
