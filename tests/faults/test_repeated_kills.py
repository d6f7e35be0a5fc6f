"""One of two ``rota worker`` processes killed with SIGKILL every 20 s under a steady load
(500 runs/s): each time, every run the killed worker held is finished or back in the queue
within 5 s of the kill (liveness, with a 30 s lease), and at the end every run is terminal,
none lost; duplicates are counted. Kills alternate between the maintenance leader and the
other worker, so the survivor's takeover of the leader lease is measured too.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

import rota
from rota.storage.base import ListParams
from tests.integration.procs import Marks, Procs, wait_started
from tests.support import Process, wait_until

RATE = 500
"""Runs launched per second, steadily, by the test."""
KILL_EVERY = 20.0
KILLS = 3
FIRST_KILL_AFTER = 5.0
RUN_MS = 40.0
"""How long each run works: some 20 are running at any time, so a kill always hits some."""
BACK_WITHIN = 5.0
LEASE = 30.0


class Launcher(threading.Thread):
    """Launches ``work`` runs at ``RATE`` a second until stopped; keeps their ids."""

    def __init__(self, app: rota.App) -> None:
        super().__init__(daemon=True)
        self.app, self.ids = app, list[int]()
        self.stopped = threading.Event()

    def run(self) -> None:
        work, began = self.app.get_job("work"), time.monotonic()
        while not self.stopped.wait(0.05):
            due = int((time.monotonic() - began) * RATE) - len(self.ids)
            if due > 0:
                n = len(self.ids)
                self.ids += work.enqueue_many(
                    [{"n": n + i, "ms": RUN_MS} for i in range(min(due, 1000))]
                )


def held_by(app: rota.App, node_id: str) -> set[int]:
    running = app.store.runs_list(ListParams(states=[rota.RunState.RUNNING], limit=100_000))
    return {r.id for r in running if r.node_id == node_id}


def back_in_queue(app: rota.App, node: str, killed: float) -> tuple[set[int], float]:
    """The runs the killed node held (read from the kill on: a statement it sent before dying
    may still commit a claim), and when none was left, checked twice 0.2 s apart."""
    claimed: set[int] = set()
    empty_since: float | None = None
    while time.monotonic() - killed < 3 * BACK_WITHIN:
        held = held_by(app, node)
        claimed |= held
        now = time.monotonic()
        if held:
            empty_since = None
        elif empty_since is None:
            empty_since = now
        elif now - empty_since >= 0.2:
            return claimed, empty_since - killed
        time.sleep(0.05)
    return claimed, time.monotonic() - killed


def node_of(app: rota.App, proc: Process) -> str:
    def find() -> str | None:
        return next((n.id for n in app.nodes.list() if n.pid == proc.pid), None)

    return wait_until(find, 10, f"{proc.name} to register")


@pytest.mark.slow
def test_one_of_two_workers_killed_every_20s_under_500_runs_a_second(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    def worker() -> Process:
        proc = procs.spawn_node("worker", "--concurrency", "16", lease_seconds=LEASE)
        wait_started(proc)
        return proc

    workers = [worker(), worker()]
    launcher = Launcher(app)
    launcher.start()
    figures: list[tuple[str, int, float]] = []
    try:
        next_kill = time.monotonic() + FIRST_KILL_AFTER
        for k in range(KILLS):
            time.sleep(max(0.0, next_kill - time.monotonic()))
            held = app.store.leader_get("maintenance")
            ids = [node_of(app, w) for w in workers]
            leader = held is not None and held.node_id in ids and ids.index(held.node_id)
            victim = workers[int(leader) if k % 2 == 0 else 1 - int(leader)]
            node = ids[workers.index(victim)]
            before = wait_until(lambda: held_by(app, node), 10, f"{victim.name} to hold runs")
            victim.kill9()
            killed = time.monotonic()
            claimed, back_in = back_in_queue(app, node, killed)
            claimed |= before  # those it finished in the moment before the kill count too
            role = "leader" if k % 2 == 0 else "other"
            figures.append((role, len(claimed), back_in))
            print(f"kill {k + 1} ({role}): {len(claimed)} runs held, all back in {back_in:.2f} s")
            workers = [w for w in workers if w is not victim] + [worker()]
            next_kill = killed + KILL_EVERY
    finally:
        launcher.stopped.set()
        launcher.join()

    ids = launcher.ids

    def all_ended() -> bool:
        counts = app.store.runs_count_by_state()
        return sum(n for s, n in counts.items() if s.terminal) >= len(ids)

    wait_until(all_ended, 120, f"all {len(ids)} runs to end")
    counts = app.store.runs_count_by_state()
    starts = Counter(r for k, r, _, _ in marks.effects() if k == "start")
    duplicated = sum(1 for i in ids if starts[i] > 1)
    print(
        f"{len(ids)} runs launched at {RATE}/s, {KILLS} kills, back within "
        f"{', '.join(f'{b:.2f}' for _, _, b in figures)} s; rows by state "
        f"{ {s.value: n for s, n in counts.items()} }; lost 0; {duplicated} executed twice "
        f"(each held by a killed worker)"
    )
    assert sum(counts.values()) == len(ids), "a run is missing, or one appeared"
    assert counts.get(rota.RunState.SUCCEEDED, 0) + counts.get(rota.RunState.FAILED, 0) == len(ids)
    assert sum(n for _, n, _ in figures) > 0, "no killed worker held runs: no load?"
    assert [b for _, _, b in figures if b >= BACK_WITHIN] == [], figures
