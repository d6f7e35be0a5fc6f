"""One maintenance leader at a time among real ``rota worker`` nodes; a killed leader is replaced
within one lease and its runs are still rescued; a leader that stops resigns at once."""

from __future__ import annotations

import re
import signal
import time
from datetime import timedelta

import rota
from rota.cluster.maintenance import LEASE_NAME
from rota.storage.leader_store import Leader
from tests.integration.procs import Marks, Procs, wait_started, wait_terminal
from tests.support import Process, wait_until

LEASE = 2.0
LEADS = re.compile(r"node (\S+) now leads maintenance")


def leader(app: rota.App) -> Leader | None:
    try:
        return app.store.leader_get(LEASE_NAME)
    except rota.StorageUnavailable:
        return None


def pid_of(node_id: str) -> int:
    """The pid in a node id (``host-pid-suffix``)."""
    return int(node_id.rsplit("-", 2)[1])


def elections(nodes: list[Process]) -> list[str]:
    """Every "now leads" line of these nodes' logs: the node ids, in no particular order."""
    return [m for p in nodes for m in LEADS.findall(p.log())]


def test_one_leader_at_a_time_a_killed_one_is_replaced_and_its_run_rescued(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    nodes = [procs.spawn_node("worker", "--concurrency", "1", lease_seconds=LEASE) for _ in "abc"]
    for node in nodes:
        wait_started(node)
    by_pid = {n.pid: n for n in nodes}

    first = wait_until(lambda: leader(app), 20, "a maintenance leader")
    assert pid_of(first.node_id) in by_pid
    # it renews its lease while the two others keep trying to take it: still one leader
    wait_until(
        lambda: (
            (cur := leader(app)) and cur.expires_at > first.expires_at + timedelta(seconds=LEASE)
        ),
        20,
        "the leader to renew its lease",
    )
    held = leader(app)
    assert held is not None and held.node_id == first.node_id
    assert elections(nodes) == [first.node_id]
    old = by_pid[pid_of(first.node_id)]

    # give the leader a run to lose: each node runs one at a time, so at most three launches
    run_id = 0
    for _ in nodes:
        run_id = app.enqueue("hang_first").id
        pid = wait_until(lambda r=run_id: marks.pid("hang_first", r, 1), 20, "the run to start")
        if pid == old.pid:
            break
    assert marks.pid("hang_first", run_id, 1) == old.pid

    assert old.kill9() == -signal.SIGKILL
    killed_at = time.monotonic()
    dead = leader(app)  # its last renewal: nobody may take over before it expires
    assert dead is not None and dead.node_id == first.node_id
    marks.release()  # the runs of the other nodes end; the killed node's one waits for rescue
    survivors = [n for n in nodes if n is not old]

    new = wait_until(
        lambda: (cur := leader(app)) and cur.node_id != first.node_id and cur,
        4 * LEASE,
        "a new leader",
    )
    took = time.monotonic() - killed_at
    assert pid_of(new.node_id) in {n.pid for n in survivors}
    # taken at the others' first try after the expiry (they try every quarter of a lease)
    assert dead.expires_at <= new.elected_at < dead.expires_at + timedelta(seconds=LEASE * 0.75)
    assert took < LEASE * 1.5 + 1, f"took {took:.1f}s for a lease of {LEASE}s"

    run = wait_terminal(app, run_id, 4 * LEASE + 10)
    assert run.state == "succeeded" and run.attempt == 2
    assert [e["type"] for e in run.errors] == ["WorkerLost"]
    assert f"-{old.pid}-" in run.errors[0]["message"]
    rescuer = by_pid[pid_of(new.node_id)]
    assert f"rescued run {run_id} " in rescuer.log()
    assert not any("rescued run" in n.log() for n in survivors if n is not rescuer)
    assert sorted(elections(survivors)) == [new.node_id], "exactly one successor"
    assert not any("lost the maintenance lease" in n.log() for n in nodes)

    # a leader that stops resigns: the last node takes over at its next try, not a lease later
    last = next(n for n in survivors if n is not rescuer)
    assert rescuer.stop(signal.SIGTERM) == 0
    assert "resigned the maintenance lease" in rescuer.log()
    final = wait_until(lambda: (cur := leader(app)) and cur.node_id != new.node_id and cur, 10, "")
    assert pid_of(final.node_id) == last.pid
    assert final.elected_at < new.expires_at, "taken before the resigned lease would have expired"
