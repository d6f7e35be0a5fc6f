"""``rota queues`` as a user drives it, on both backends: list, pause, resume, set limits."""

from __future__ import annotations

import dataclasses

import pytest

from tests.acceptance.conftest import Cli, Worker, assert_user_error


def queues(cli: Cli) -> dict[str, dict]:
    return {q["name"]: q for q in cli.ok("queues", "list", "--json").json()}


def test_list_shows_queues_created_by_use(cli: Cli) -> None:
    assert cli.ok("queues", "list", "--json").json() == []
    empty = cli.ok("queues", "list")
    assert (empty.out, empty.err.strip()) == ("", "no queues")
    for _ in range(3):
        cli.ok("launch", "add", "--arg", "a=1", "--queue", "mail")
    cli.ok("launch", "add", "--arg", "a=1")
    listed = queues(cli)
    assert sorted(listed) == ["default", "mail"]
    mail = listed["mail"]
    assert {k: mail[k] for k in ("paused", "concurrency", "rate_limit", "queued", "running")} == {
        "paused": False,
        "concurrency": None,
        "rate_limit": None,
        "queued": 3,
        "running": 0,
    }
    assert mail["oldest_queued_at"] is not None
    table = cli.ok("queues", "list").out.splitlines()
    assert table[0].split() == [
        "NAME",
        "STATE",
        "CONCURRENCY",
        "RATE",
        "QUEUED",
        "RUNNING",
        "OLDEST",
        "QUEUED",
    ]
    assert table[2].split()[:6] == ["mail", "active", "-", "-", "3", "0"]


def test_pause_holds_runs_and_resume_lets_them_run(cli: Cli, worker: Worker) -> None:
    assert cli.ok("queues", "pause", "mail").out == "queue mail paused\n"
    assert cli.ok("queues", "pause", "mail").out == "queue mail was already paused\n"
    held = int(cli.ok("launch", "add", "--arg", "a=1", "--queue", "mail").out)
    free = int(cli.ok("launch", "add", "--arg", "a=2").out)
    worker.start()
    cli.wait_state(free, "succeeded")
    assert cli.run_json(held)["state"] == "queued"
    assert queues(cli)["mail"]["paused"] is True
    assert cli.ok("queues", "resume", "mail").out == "queue mail resumed\n"
    cli.wait_state(held, "succeeded")
    assert cli.ok("queues", "resume", "mail").out == "queue mail was not paused\n"
    code, _ = worker.stop()
    assert code == 0


def test_set_changes_only_the_limits_given(cli: Cli) -> None:
    out = cli.ok("queues", "set", "mail", "--concurrency", "3").out
    assert out == "queue mail: concurrency 3, no rate limit\n"
    got = cli.ok("queues", "set", "mail", "--rate", "10/60", "--json").json()
    assert (got["concurrency"], got["rate_limit"]) == (3, {"limit": 10, "period": 60.0})
    got = cli.ok("queues", "set", "mail", "--concurrency", "none", "--json").json()
    assert (got["concurrency"], got["rate_limit"]) == (None, {"limit": 10, "period": 60.0})
    cli.ok("queues", "set", "mail", "--rate", "NONE")
    assert queues(cli)["mail"]["rate_limit"] is None
    paused = cli.ok("queues", "pause", "mail", "--json").json()
    assert paused["paused"] is True and paused["name"] == "mail"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--rate", "10"], "N/SECONDS"),
        (["--rate", "ten/60"], "N/SECONDS"),
        (["--rate", "10/x"], "N/SECONDS"),
        (["--rate", "0/60"], "from 1 to"),
        (["--rate", "5/0"], "more than 0"),
        (["--rate", "5/-1"], "more than 0"),
        (["--rate", "5/nan"], "more than 0"),
        (["--rate", "5/1e12"], "at most"),
        (["--concurrency", "0"], "from 1 to"),
        (["--concurrency", "-2"], "from 1 to"),
        (["--concurrency", "lots"], "whole number"),
        (["--concurrency", "99999999999"], "from 1 to"),
        ([], "nothing to set"),
    ],
)
def test_bad_limits_are_usage_errors_and_store_nothing(
    cli: Cli, args: list[str], needle: str
) -> None:
    assert_user_error(cli("queues", "set", "mail", *args), 2, needle)
    assert queues(cli) == {}


@pytest.mark.parametrize("name", ["", "q" * 201])
def test_bad_queue_names_are_usage_errors(cli: Cli, name: str) -> None:
    for verb in ("pause", "resume"):
        assert_user_error(cli("queues", verb, name), 2, "queue must be a name")
    assert_user_error(cli("queues", "set", name, "--concurrency", "1"), 2, "queue must be a name")
    assert queues(cli) == {}


def test_a_run_claimed_ahead_shows_as_not_started(cli: Cli, database_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from rota.storage import open_store
    from rota.storage.base import ClaimParams

    cli.ok("queues", "set", "capped", "--concurrency", "1")
    for _ in range(2):
        cli.ok("launch", "add", "--arg", "a=1", "--queue", "capped")
    store = open_store(database_url)
    try:  # a worker's claim that takes the second run ahead of the queue's room
        now = datetime.now(UTC)
        params = ClaimParams("node-x", None, 2, now, now + timedelta(seconds=30))
        params = dataclasses.replace(params, queue_limits=True, limited_slots=1, ahead=1)
        claimed = store.runs_claim(params).claimed
    finally:
        store.close()
    [ahead] = [r.id for r in claimed if r.started_at is None]
    shown = cli.ok("runs", "show", str(ahead)).out
    assert "not yet: claimed ahead" in shown
    assert cli.run_json(ahead)["started_at"] is None
    assert cli.run_json(ahead)["state"] == "running"
