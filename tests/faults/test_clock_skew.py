"""Clock skew of +-5 s between nodes (PostgreSQL): real skew, with libfaketime preloaded into
``rota worker`` and ``rota scheduler`` processes (Debian's ``faketime``; CI installs it).

Every node's times follow the database's clock (``rota.clock.DatabaseClock``), so: a schedule
fires once per fire time and never before it, the runs of a live skewed node are never
rescued (not by lease, not by liveness), and a killed skewed node's runs are rescued within
seconds. SQLite is left out: it has no clock of its own, its nodes share one machine's.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

import rota
from rota.nodes import LIVENESS_CHECK_SECONDS, NODE_DEAD_AFTER_SECONDS
from tests.integration.procs import Marks, Procs, wait_started, wait_terminal
from tests.support import Process, wait_until

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
SKEWS = ("+5s", "-5s")
LEASE = 4.0
"""Shorter than the skew: a lease written by a node's own clock would be expired, or 5 s
longer, as the database reads it."""
EARLY = 0.5
"""How early a fire may be seen (the offset's measurement, the test's polling)."""


SLEEP_SHIM = """\
import threading
import time

_never = threading.Event()


def _sleep(seconds):
    _never.wait(max(0.0, seconds))


time.sleep = _sleep
"""
"""libfaketime 0.9.10 (Debian 12) breaks ``time.sleep`` of Python 3.11+, which sleeps with
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)``: with the monotonic clock left alone
(``DONT_FAKE_MONOTONIC=1``) that call fails with EINVAL; with it faked, waits on a lock or an
event (``sem_clockwait``, not intercepted) hang, their deadline decades away. So monotonic is
left alone and the skewed processes sleep on an event instead (a ``sitecustomize``)."""


@pytest.fixture
def faketime(tmp_path: Path) -> Callable[[str], dict[str, str]]:
    """The environment of a process whose wall clock is off by ``skew`` (``+5s``)."""
    if not LIBFAKETIME.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{LIBFAKETIME} is missing: apt-get install faketime")
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    site = tmp_path / "faketime_site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLEEP_SHIM)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)

    def skewed(skew: str) -> dict[str, str]:
        return {
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME": skew,
            "DONT_FAKE_MONOTONIC": "1",  # a skewed machine's monotonic clock is not skewed
            "PYTHONPATH": path,
        }

    return skewed


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_nodes_five_seconds_apart_fire_once_on_time_and_rescue_only_the_dead(
    app: rota.App, procs: Procs, marks: Marks, faketime: Callable[[str], dict[str, str]]
) -> None:
    app.add_schedule("tick", "work", every=1, kwargs={"n": -1})
    nodes = []
    for skew in SKEWS:  # the node ahead first, so that it leads: it would rescue early
        for role in ("worker", "scheduler"):
            options = ("--concurrency", "2") if role == "worker" else ()
            proc = procs.spawn_node(role, *options, lease_seconds=LEASE, env=faketime(skew))
            nodes.append((skew, role, proc))
            if not nodes[1:]:
                wait_until(lambda: app.store.leader_get("maintenance"), 20, "+5s to lead")
    for skew, _, proc in nodes:
        wait_started(proc)
        assert f"clock is {skew[0]}5." in proc.log(), proc.log()  # the skew is real

    slow = [app.enqueue("slow", {"seconds": 2 * LEASE}) for _ in range(4)]  # 2 a worker
    seen = watch_fires(app, seconds=3 * LEASE)
    ran = [wait_terminal(app, handle.id, 20) for handle in slow]
    assert [r for r in ran if r.attempt != 1 or r.errors] == [], "rescued while alive"
    assert all(r.state == "succeeded" for r in ran)
    assert len({r.node_id for r in ran}) == 2, "both skewed workers held runs"
    fired = [f for f in app.schedules.fires("tick", limit=1000) if f.outcome == "fired"]
    twice = [t for t, n in Counter(f.fire_time for f in fired).items() if n > 1]
    assert len(fired) >= 2 * LEASE and twice == [], twice
    ticks = [r for r in app.runs.list(limit=1000) if r.schedule == "tick"]
    assert len(ticks) == len({f.run_id for f in fired}) == len(fired)
    early = {t: s for t, s in seen.items() if s < t.timestamp() - EARLY}
    assert early == {}, "fired before its time (fire time: seen at)"
    assert all("rescued run" not in proc.log() for _, _, proc in nodes)

    rescued_in = kill_a_busy_worker(app, marks, [(s, p) for s, r, p in nodes if r == "worker"])
    assert rescued_in < NODE_DEAD_AFTER_SECONDS + LIVENESS_CHECK_SECONDS + 1.0


def watch_fires(app: rota.App, seconds: float) -> dict[datetime, float]:
    """Poll the fire history for ``seconds``: when (epoch) each fire time was first seen."""
    seen: dict[datetime, float] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.time()
        for f in app.schedules.fires("tick", limit=50):
            if f.outcome == "fired":
                seen.setdefault(f.fire_time, now)
        time.sleep(0.1)
    return seen


def kill_a_busy_worker(app: rota.App, marks: Marks, workers: list[tuple[str, Process]]) -> float:
    """Kill -9 the skewed worker running a run; seconds until that run was rescued."""
    handle = app.enqueue("hang_first")
    pid = wait_until(lambda: marks.pid("hang_first", handle.id, 1), 20, "hang_first to start")
    skew, victim = next((s, p) for s, p in workers if p.pid == pid)
    victim.kill9()
    killed = time.monotonic()
    wait_until(lambda: app.runs.get(handle.id).errors, 20, "the run to be rescued")
    rescued_in = time.monotonic() - killed
    print(f"\nrun of a killed worker at {skew} rescued {rescued_in:.2f} s after kill -9")
    (marks.path / "release").write_text("")
    run = wait_terminal(app, handle.id, 20)
    assert run.state == "succeeded" and run.attempt == 2
    return rescued_in
