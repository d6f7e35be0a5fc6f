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
from pathlib import Path

import rota

from .conftest import Server

HERE = Path(__file__).parent


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
    local_app.drain()
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
            "--workers", "2",
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
    assert result.returncode == 0, report
    assert "14 selected / 14 total" in report, report
    assert server.healthy(), server.log()
    assert "Traceback" not in server.log(), server.log()
