"""``rota bench`` as a user runs it on a database that holds their own runs: every figure is
there and positive, the bare loop beside rota's, and the user's data is as it was."""

from __future__ import annotations

from typing import Any

from tests.acceptance.conftest import Cli, Worker, assert_user_error
from tests.support import wait_until

SMALL = ("--runs", "200", "--latency-runs", "8", "--fires", "2")
RATES = ("enqueue", "bulk", "drain")


def bench(cli: Cli, *args: str) -> Any:
    result = cli.raw("--database", cli.database_url, "bench", *SMALL, *args, timeout=120)
    assert result.code == 0, str(result)
    return result


def test_bench_json_has_every_figure_and_leaves_user_data_alone(cli: Cli) -> None:
    mine = int(cli.ok("launch", "add", "--arg", "a=1").out)
    figures = bench(cli, "--json").json()
    assert figures["backend"] in ("sqlite", "postgres")
    assert (figures["workers"], figures["concurrency"]) == (1, 2)
    for key in RATES:
        rate = figures[key]
        assert rate["rota"] > 0 and rate["bare"] > 0 and rate["ratio"] > 0, rate
        assert abs(rate["ratio"] - rate["rota"] / rate["bare"]) < 0.01 * rate["ratio"] + 1e-3
        assert rate["runs"] == 200
    assert figures["bulk"]["bare_loop"] == (
        "executemany" if figures["backend"] == "sqlite" else "COPY"
    )
    latency = figures["latency"]
    assert latency["runs"] == 8
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"], latency
    fire = figures["fire"]
    assert fire["runs"] == 2 and 0 < fire["p50"] <= fire["p99"], fire

    runs = cli.ok("runs", "list", "--json").json()
    assert [(r["id"], r["job"], r["state"]) for r in runs] == [(mine, "add", "queued")]
    assert [q["name"] for q in cli.ok("queues", "list", "--json").json()] == ["default"]
    assert cli.ok("schedules", "list", "--json").json() == []
    assert cli.ok("nodes", "--json").json() == []


def test_bench_prints_a_table_of_the_chosen_workloads(cli: Cli) -> None:
    result = bench(cli, "--only", "drain", "--only", "latency", "--workers", "2")
    lines = result.out.splitlines()
    assert lines[0].split() == ["workload", "rota", "bare", "loop", "rota", "/", "bare"]
    assert [line.split()[0] for line in lines[1:]] == ["drain", "enqueue"]
    assert "runs/s" in lines[1] and "claim k=10" in lines[1] and lines[1].endswith("%")
    assert "2 worker(s) x concurrency 2" in result.err


def test_bench_refuses_while_another_worker_is_live(cli: Cli, worker: Worker) -> None:
    worker.start("--concurrency", "1")
    wait_until(lambda: cli.ok("nodes", "--json").json(), 30, "the worker's node")
    result = cli.raw("--database", cli.database_url, "bench", *SMALL, "--json")
    assert_user_error(result, 2, "live worker node", "--database")
