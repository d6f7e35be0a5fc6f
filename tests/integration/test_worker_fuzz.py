"""Fuzz: hostile jobs mixed with normal ones in ONE real worker process.

Every kind of hostile error and result (tests/integration/hostile_app.py), from sync and async
jobs, plus seeded random text, shuffled among normal runs: every run must end terminal with a
readable error, the normal runs must all succeed, and ``rota worker --burst`` must exit 0.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import rota
from tests.acceptance.conftest import Cli
from tests.integration import hostile_app
from tests.integration.test_hostile_jobs import assert_readable

SEED = 1111
RANDOM_EXTRAS = 12
NORMAL = 30

Plan = list[tuple[str, dict[str, Any], str]]
"""(job, args, expectation): "ok" (the result is the args' sum), "good" (stored as is),
"bad-result" or "error"."""


def plan(rng: random.Random) -> Plan:
    runs: Plan = []
    for sync, asyn in (("fail_with", "afail_with"), ("return_value", "areturn_value")):
        errors = sync == "fail_with"
        kinds = hostile_app.ERROR_KINDS if errors else hostile_app.BAD_RESULTS
        for kind in kinds:
            for job in (sync, asyn):
                runs.append((job, {"kind": kind}, "error" if errors else "bad-result"))
        for _ in range(RANDOM_EXTRAS // 2):
            job = rng.choice((sync, asyn))
            seed = rng.randrange(10**6)
            runs.append(
                (job, {"kind": "random_text", "seed": seed}, "error" if errors else "bad-result")
            )
    for kind in hostile_app.GOOD_RESULTS:
        runs += [(job, {"kind": kind}, "good") for job in ("return_value", "areturn_value")]
    for _ in range(NORMAL):
        args = {"a": rng.randrange(-1000, 1000), "b": rng.randrange(1000)}
        runs.append((rng.choice(("add", "aadd")), args, "ok"))
    rng.shuffle(runs)
    return runs


def check(run: rota.Run, args: dict[str, Any], expect: str) -> None:
    assert run.state.terminal, run
    if expect == "ok":
        assert run.state == "succeeded" and run.result == args["a"] + args["b"], run
    elif expect == "good":
        assert run.state == "succeeded", run
        assert run.result == hostile_app.hostile_value(args["kind"]), run
    else:
        assert run.state == "failed", run
        [entry] = run.errors
        assert_readable(entry)
        if expect == "bad-result":
            assert entry["type"] in ("TypeError", "ValueError"), entry
            assert "returned a value that cannot be stored" in str(entry["message"]), entry


def test_hostile_and_normal_jobs_in_one_worker(tmp_path: Path, database_url: str) -> None:
    runs = plan(random.Random(SEED))
    app = hostile_app.build(database_url)
    try:
        ids = [app.enqueue(job, args).id for job, args, _ in runs]
        cli = Cli(tmp_path, Path(hostile_app.__file__), database_url)

        result = cli.raw(*cli.globals(), "worker", "--burst", "--concurrency", "4", timeout=120)

        assert result.code == 0, str(result)[-4000:]
        assert "database unavailable" not in result.err
        for run_id, (_, args, expect) in zip(ids, runs, strict=True):
            check(app.runs.get(run_id), args, expect)
    finally:
        app.close()
