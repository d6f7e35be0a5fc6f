"""A snoozed run over REST, from a node whose worker ran it: scheduled, its attempt given back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support import wait_until

from .conftest import start_server
from .webapp import SOURCE

NAP = """

@app.job
def nap(seconds: float) -> None:
    raise rota.Snooze(after=seconds)
"""


def test_the_run_json_of_a_snoozed_run(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "webtest_app.py").write_text(SOURCE + NAP)
    node = start_server(tmp_path, database_url, node=True)
    try:
        api = node.client
        before = datetime.now(UTC)
        created = api.post("/api/jobs/nap/runs", json={"args": {"seconds": 3600}})
        assert created.status_code == 201, created.text
        run_id = created.json()["id"]

        def snoozed() -> dict[str, Any] | None:
            run: dict[str, Any] = api.get(f"/api/runs/{run_id}").json()
            return run if run["state"] == "scheduled" else None

        run = wait_until(snoozed, 30, "the run to snooze")
        after = datetime.now(UTC)

        assert run["attempt"] == 0 and run["max_attempts"] == 3
        assert run["errors"] == [] and run["finished_at"] is None and run["result"] is None
        assert run["started_at"] is not None  # it did run: the snooze came from its job
        hour = timedelta(hours=1)
        assert before + hour <= datetime.fromisoformat(run["run_at"]) <= after + hour
        listed = api.get("/api/runs", params={"state": "scheduled", "job": "nap"}).json()
        assert [r["id"] for r in listed["items"]] == [run_id]
        page = api.get(f"/runs/{run_id}")  # the dashboard's timeline says what happened
        assert page.status_code == 200, page.text
        assert "attempt 1 started, then snoozed" in page.text
        assert "attempt 0 started" not in page.text
    finally:
        assert node.stop() == 0, node.log()
