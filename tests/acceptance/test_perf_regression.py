"""A gross performance regression fails CI: a small drain measured against the bare loop.

``rota bench --runs 2000 --only drain`` drains 2,000 no-op runs with one worker and, on the
same database in the same run, a bare SQL claim loop; its ratio must stay above half of the
figure recorded in ``benchmarks/regression.json``. The machine is shared and noisy, so the
best of three tries counts: a real regression loses all three, noise rarely does. Not a speed
target (those live in ``benchmarks/``): only a tripwire for a change that halves throughput.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.acceptance.conftest import Cli

RECORDED = json.loads(
    (Path(__file__).resolve().parents[2] / "benchmarks" / "regression.json").read_text()
)


def drain_ratio(cli: Cli) -> float:
    args = ("--database", cli.database_url, "bench", "--runs", "2000", "--only", "drain")
    result = cli.raw(*args, "--json", timeout=180)
    assert result.code == 0, str(result)
    return float(result.json()["drain"]["ratio"])


def test_drain_is_not_grossly_slower_than_the_bare_loop(cli: Cli) -> None:
    backend = "sqlite" if cli.database_url.startswith("sqlite") else "postgres"
    floor = RECORDED["drain_ratio"][backend] / 2
    tries = []
    for _ in range(3):
        tries.append(drain_ratio(cli))
        if tries[-1] >= floor:
            return
    raise AssertionError(
        f"{backend}: rota's drain is {max(tries):.3f} of the bare loop's at best of 3 "
        f"({', '.join(f'{t:.3f}' for t in tries)}), under half of the recorded "
        f"{RECORDED['drain_ratio'][backend]} (benchmarks/regression.json)"
    )
