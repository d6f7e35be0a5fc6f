"""What a user sees of a snoozed run: the worker's end line, ``rota runs show`` and its JSON."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli

SOURCE = '''
import rota

app = rota.App(poll_interval=0.1, lease_seconds=5)


@app.job
def nap(seconds: float) -> None:
    """Not now: comes back in ``seconds``."""
    raise rota.Snooze(after=seconds)
'''


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "naps.py"
    path.write_text(textwrap.dedent(SOURCE))
    return path


def test_a_snoozed_run_is_shown_scheduled_with_its_attempt_given_back(cli: Cli) -> None:
    run_id = int(cli.ok("launch", "nap", "--arg", "seconds=3600").out.strip())

    burst = cli.raw("--log-format", "json", *cli.globals(), "worker", "--burst", timeout=90)

    assert burst.code == 0, str(burst)  # nothing left due: the snoozed run waits its hour
    lines = [json.loads(line) for line in burst.err.splitlines()]
    [end] = [x for x in lines if x.get("run_id") == run_id and x.get("outcome")]
    assert end["outcome"] == "snoozed" and end["state"] == "scheduled", end
    assert end["attempt"] == 1 and "error_type" not in end, end
    assert f"run {run_id} snoozed: job nap, attempt 1, " in end["message"], end
    next_at = datetime.fromisoformat(end["next_run_at"])
    assert next_at - datetime.fromisoformat(end["ts"]) > timedelta(minutes=59), end

    shown = cli.run_json(run_id)
    assert shown["state"] == "scheduled"
    assert shown["attempt"] == 0 and shown["max_attempts"] == 3
    assert shown["errors"] == [] and shown["finished_at"] is None
    assert abs(datetime.fromisoformat(shown["run_at"]) - next_at) < timedelta(milliseconds=1)

    text = cli.ok("runs", "show", str(run_id)).out
    assert re.search(r"^state\s+scheduled$", text, re.M), text
    assert re.search(r"^attempts\s+0 of 3$", text, re.M), text
    assert re.search(r"^run at\s+.*\(in (59m|1h)\)$", text, re.M), text
    assert re.search(r"^duration\s+-$", text, re.M), text  # not "running": it waits
    assert re.search(r"^errors\s+none$", text, re.M), text

    cli.ok("runs", "cancel", str(run_id))  # a snoozed run is pending: a cancel ends it at once
    assert cli.run_json(run_id)["state"] == "cancelled"
