"""``rota schedules``, ``rota scheduler`` and ``rota run`` as a user drives them, on both backends.

The app declares every-second schedules (``tick``, ``tock``) and cron schedules that do not fire
during a test (``new_year``, ``paris_morning``). Waiting is for conditions, with timeouts.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import textwrap
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.acceptance.conftest import APP_SOURCE, Cli, Worker, assert_user_error
from tests.support import free_port, kill_piped, stop_piped, wait_until

SCHEDULES_SOURCE = """
from datetime import timedelta


@app.periodic(every=1)
def tick() -> None:
    pass


@app.periodic(every=timedelta(seconds=1))
def tock() -> None:
    pass


@app.periodic(cron="0 0 1 1 *")
def new_year() -> None:
    pass


@app.periodic(cron="30 9 * * *", timezone="Europe/Paris", name="paris_morning", queue="mail")
def morning() -> None:
    pass
"""

NAMES = ["new_year", "paris_morning", "tick", "tock"]
SCHEDULE_KEYS = {
    "name", "job", "kwargs", "trigger", "cron", "every", "at", "timezone", "misfire",
    "misfire_grace", "overlap", "paused", "source", "options", "next_fire_at", "last_fire_at",
}  # fmt: skip
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.py"
    path.write_text(textwrap.dedent(APP_SOURCE) + textwrap.dedent(SCHEDULES_SOURCE))
    return path


class Nodes:
    """``rota`` node processes (scheduler, run) of one test, killed in teardown if still up."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        proc = self.cli.start(*args)
        self.procs.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sig``, then the exit code and stderr once it has exited."""
        return stop_piped(proc, sig, 30)

    def kill_all(self) -> None:
        for proc in self.procs:
            kill_piped(proc)


@pytest.fixture
def nodes(cli: Cli) -> Iterator[Nodes]:
    n = Nodes(cli)
    yield n
    n.kill_all()


def schedules_json(cli: Cli) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in cli.ok("schedules", "list", "--json").json()}


def runs_of(cli: Cli, job: str, *states: str) -> list[dict[str, Any]]:
    """Runs of ``job`` (oldest first), only in ``states`` if given."""
    found = cli.ok("runs", "list", "--job", job, "--limit", "1000", "--json").json()
    return [r for r in reversed(found) if not states or r["state"] in states]


def wait_runs(cli: Cli, job: str, count: int, *states: str) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        found = runs_of(cli, job, *states)
        return found if len(found) >= count else None

    return wait_until(enough, 30, f"{count} {'/'.join(states) or 'any'} runs of {job}")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def alive_roles(cli: Cli) -> list[list[str]]:
    return sorted(n["roles"] for n in cli.ok("nodes", "--json").json() if n["state"] == "alive")


# -- list and show ------------------------------------------------------------------------


def test_list_shows_declared_schedules_with_next_fire_times(cli: Cli) -> None:
    before = datetime.now(UTC)
    listed = cli.ok("schedules", "list", "--json").json()
    assert [s["name"] for s in listed] == NAMES
    for s in listed:
        assert set(s) >= SCHEDULE_KEYS, s
        assert s["paused"] is False
        assert s["source"] == "code"
        assert s["last_fire_at"] is None
    by_name = {s["name"]: s for s in listed}

    new_year = by_name["new_year"]
    assert (new_year["cron"], new_year["timezone"], new_year["every"]) == ("0 0 1 1 *", "UTC", None)
    assert at(new_year["next_fire_at"]) == datetime(before.year + 1, 1, 1, tzinfo=UTC)

    morning = by_name["paris_morning"]
    assert morning["job"] == "morning"
    assert morning["timezone"] == "Europe/Paris"
    next_morning = at(morning["next_fire_at"])
    assert before < next_morning <= before + timedelta(days=1)
    assert next_morning.astimezone(PARIS).time().isoformat() == "09:30:00"

    tick = by_name["tick"]
    assert tick["every"] == 1 and tick["cron"] is None
    assert before < at(tick["next_fire_at"]) <= datetime.now(UTC) + timedelta(seconds=1)
    assert by_name["tock"]["every"] == 1

    table = cli.ok("schedules", "list")
    lines = table.out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "JOB", "TRIGGER", "NEXT"]
    row = next(line for line in lines if line.startswith("paris_morning "))
    assert "cron 30 9 * * * (Europe/Paris)" in row
    assert "(in " in row and "active" in row
    assert "pending" in table.err  # declared, not stored until a scheduler starts


def test_show_has_the_next_five_fire_times_and_the_fires(cli: Cli) -> None:
    shown = cli.ok("schedules", "show", "paris_morning", "--json").json()
    assert SCHEDULE_KEYS | {"next_fires", "fires"} <= set(shown)
    assert shown["name"] == "paris_morning"
    assert shown["fires"] == []
    times = [at(t) for t in shown["next_fires"]]
    assert len(times) == 5
    assert times[0] == at(shown["next_fire_at"])
    local = [t.astimezone(PARIS) for t in times]
    assert {t.time().isoformat() for t in local} == {"09:30:00"}
    assert [(b.date() - a.date()).days for a, b in itertools.pairwise(local)] == [1] * 4

    human = cli.ok("schedules", "show", "paris_morning").out
    assert "cron 30 9 * * * (Europe/Paris)" in human
    assert "next fires:" in human
    assert human.count("(in ") >= 5


def test_unknown_schedule_exits_3(cli: Cli) -> None:
    for verb in ("show", "pause", "resume", "trigger"):
        assert_user_error(cli("schedules", verb, "nope"), 3, "'nope'")
    assert cli.ok("schedules", "list", "--json", app=False).json() == []  # nothing stored yet


# -- trigger, pause, resume ---------------------------------------------------------------


def test_trigger_creates_a_run_now_with_the_schedule_name(cli: Cli) -> None:
    before = schedules_json(cli)["new_year"]["next_fire_at"]
    run_id = int(cli.ok("schedules", "trigger", "new_year").out)
    run = cli.run_json(run_id)
    assert (run["job"], run["schedule"], run["state"]) == ("new_year", "new_year", "queued")

    as_json = cli.ok("schedules", "trigger", "paris_morning", "--json").json()
    assert as_json["id"] != run_id
    assert (as_json["job"], as_json["schedule"]) == ("morning", "paris_morning")
    assert as_json["queue"] == "mail"

    assert schedules_json(cli)["new_year"]["next_fire_at"] == before  # the schedule is unchanged
    assert cli("worker", "--burst").code == 0
    assert cli.run_json(run_id)["state"] == "succeeded"
    assert cli.run_json(as_json["id"])["state"] == "succeeded"
    assert cli.ok("launch", "add", "--arg", "a=1", "--json").json()["schedule"] is None


def test_pause_stops_new_runs_and_resume_starts_them_again(cli: Cli, nodes: Nodes) -> None:
    paused = cli.ok("schedules", "pause", "tick", "--json").json()  # before any scheduler ran
    assert paused["paused"] is True
    assert "already paused" in cli.ok("schedules", "pause", "tick").out
    scheduler = nodes.start("scheduler")

    wait_runs(cli, "tock", 3)  # the scheduler fired tock three times: tick stayed paused
    assert runs_of(cli, "tick") == []
    shown = cli.ok("schedules", "show", "tick", "--json").json()
    assert shown["paused"] is True
    assert shown["next_fires"] == []
    assert "paused" in cli.ok("schedules", "list").out

    resumed_at = datetime.now(UTC)
    assert "resumed" in cli.ok("schedules", "resume", "tick").out
    ticks = wait_runs(cli, "tick", 2)
    assert all(r["schedule"] == "tick" and at(r["run_at"]) >= resumed_at for r in ticks)

    cli.ok("schedules", "pause", "tick")
    frozen = len(runs_of(cli, "tick"))
    seen = len(runs_of(cli, "tock"))
    wait_runs(cli, "tock", seen + 3)
    assert len(runs_of(cli, "tick")) == frozen

    code, err = nodes.stop(scheduler, signal.SIGINT)
    assert code == 0, err
    assert "Traceback" not in err


# -- nodes --------------------------------------------------------------------------------


def assert_fire_times(runs: list[dict[str, Any]]) -> None:
    """Each run was launched for its own fire time, a whole number of periods apart."""
    times = [at(r["run_at"]) for r in runs]
    for a, b in itertools.pairwise(times):
        gap = (b - a).total_seconds()
        assert gap >= 0.999 and abs(gap - round(gap)) < 0.01, times


def test_scheduler_and_worker_nodes_run_a_periodic_job(
    cli: Cli, nodes: Nodes, worker: Worker
) -> None:
    scheduler = nodes.start("scheduler")
    worker.start("--concurrency", "2")
    ticks = wait_runs(cli, "tick", 3, "succeeded")
    assert {r["schedule"] for r in ticks} == {"tick"}
    assert_fire_times(ticks)

    def two_nodes() -> list[list[str]] | None:
        roles = alive_roles(cli)
        return roles if len(roles) == 2 else None

    roles = wait_until(two_nodes, what="two alive nodes")
    assert roles == [["scheduler"], ["worker", "maintenance"]]  # the worker does not schedule

    listed = cli("schedules", "list")
    assert listed.code == 0 and "pending" not in listed.err  # the scheduler stored them
    tick = cli.ok("schedules", "show", "tick", "--json").json()
    assert tick["last_fire_at"] is not None
    fired = {f["run_id"] for f in tick["fires"] if f["outcome"] == "fired"}
    assert {r["id"] for r in ticks} <= fired

    code, err = nodes.stop(scheduler)
    assert code == 0, err
    assert "Traceback" not in err
    code, err = worker.stop()
    assert code == 0, err
    assert alive_roles(cli) == []


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
            return dict(json.loads(r.read()))
    except OSError:
        return None


def test_run_is_one_node_with_worker_scheduler_and_api(cli: Cli, nodes: Nodes) -> None:
    port = free_port()
    node = nodes.start("run", "--port", str(port), "--concurrency", "2", "--shutdown-timeout", "5")
    ticks = wait_runs(cli, "tick", 3, "succeeded")
    assert {r["schedule"] for r in ticks} == {"tick"}
    assert_fire_times(ticks)
    assert alive_roles(cli) == [["worker", "scheduler", "maintenance", "api"]]
    wait_until(lambda: _health(port) is not None, 30, "the API answers")
    assert _health(port) == {"status": "ok"}
    code, err = nodes.stop(node)
    assert code == 0, err
    assert "Traceback" not in err
    assert f"127.0.0.1:{port}" in err


def test_node_commands_reject_bad_options(cli: Cli) -> None:
    assert_user_error(cli("run", "--port", "0"), 2, "--port")
    assert_user_error(cli("run", "--concurrency", "0"), 2, "--concurrency")
    assert_user_error(cli("scheduler", app=False), 2, "--app")
    assert_user_error(cli("schedules", "trigger", "tick", app=False), 2, "--app")
